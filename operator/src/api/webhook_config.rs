//! `MCPWebhookConfig`: shared validating and mutating webhooks referenced by MCPServers.

// Several print columns share `type_ = "string"`, which the lint mistakes for repetition.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{ConfigStatus, SecretKeyRef};

/// Webhooks the proxy calls for each MCP request, shared through `webhookConfigRef`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "MCPWebhookConfig",
    plural = "mcpwebhookconfigs",
    singular = "mcpwebhookconfig",
    shortname = "mwc",
    category = "toolhive",
    namespaced,
    status = "ConfigStatus",
    derive = "PartialEq",
    doc = "Shared validating and mutating webhooks for MCPServers",
    printcolumn(
        name = "Valid",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Valid\")].status"
    ),
    printcolumn(
        name = "References",
        type_ = "string",
        json_path = ".status.referencingServers"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.validating) && size(self.validating) > 0) || (has(self.mutating) && size(self.mutating) > 0)"
).message("at least one validating or mutating webhook must be defined"))]
pub struct MCPWebhookConfigSpec {
    /// Webhooks that may reject a request. Names are unique within the list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub validating: Vec<WebhookSpec>,
    /// Webhooks that may patch a request; they run before the validating ones. Names are
    /// unique within the list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub mutating: Vec<WebhookSpec>,
}

/// One webhook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSpec {
    /// Name, unique within its list.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The webhook endpoint; must be an `https://` URL.
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getScheme() == 'https'").message("webhook url must use https"))]
    pub url: String,
    /// Call timeout as a duration string (`5s`, `1500ms`); `10s` when unset, allowed `1s`..`30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
    )]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1s') && duration(self) <= duration('30s')").message("webhook timeout must be between 1s and 30s"))]
    pub timeout: Option<String>,
    /// What the proxy does when the webhook call fails.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// TLS settings for the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<WebhookTlsConfig>,
    /// HMAC-SHA256 signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_secret_ref: Option<SecretKeyRef>,
}

/// What the proxy does when a webhook times out, cannot be reached or answers non-2xx.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum FailurePolicy {
    /// Block the request.
    #[default]
    Fail,
    /// Let the request pass.
    Ignore,
}

/// TLS settings of a webhook call.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTlsConfig {
    /// PEM CA bundle to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyRef>,
    /// Client certificate for mTLS: a `kubernetes.io/tls` Secret; `key` names the certificate,
    /// the private key is `tls.key` of the same Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_secret_ref: Option<SecretKeyRef>,
    /// Skip certificate verification (development only).
    #[serde(default)]
    pub insecure_skip_verify: bool,
}
