//! `MCPServer`: one MCP server behind a ToolHive proxy.

// Several print columns share `type_ = "string"`, which the lint mistakes for repetition.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::telemetry_config::{MetricsConfig, PrometheusConfig, TracingConfig};

/// An MCP server run behind a proxy Deployment and Service.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "MCPServer",
    plural = "mcpservers",
    singular = "mcpserver",
    shortname = "mcpserver",
    category = "toolhive",
    namespaced,
    status = "MCPServerStatus",
    derive = "PartialEq",
    doc = "An MCP server run behind a ToolHive proxy",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "URL",
        type_ = "string",
        json_path = ".status.url",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.telemetry) && has(self.telemetryConfigRef))")
    .message("telemetry and telemetryConfigRef are mutually exclusive; migrate to telemetryConfigRef"))]
pub struct MCPServerSpec {
    /// The MCP server image.
    #[schemars(length(min = 1))]
    pub image: String,
    /// How the proxy talks to the MCP server.
    #[serde(default)]
    pub transport: Transport,
    /// Port the proxy listens on.
    #[serde(default = "default_proxy_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub proxy_port: i32,
    /// Deprecated: inline telemetry settings. Use telemetryConfigRef to reference a shared
    /// MCPTelemetryConfig instead; this field is deprecated in favour of telemetryConfigRef
    /// and cannot be combined with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<InlineTelemetry>,
    /// Reference to an MCPTelemetryConfig in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_config_ref: Option<TelemetryConfigRef>,
    /// Reference to an MCPWebhookConfig in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_config_ref: Option<WebhookConfigRef>,
}

fn default_proxy_port() -> i32 {
    8080
}

/// Transport between the proxy and the MCP server.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Standard input and output.
    #[default]
    Stdio,
    /// Streamable HTTP.
    StreamableHttp,
    /// Server-sent events.
    Sse,
}

impl Transport {
    /// The wire name (`stdio`, `streamable-http`, `sse`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::StreamableHttp => "streamable-http",
            Transport::Sse => "sse",
        }
    }
}

/// Reference to an MCPTelemetryConfig in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryConfigRef {
    /// Name of the MCPTelemetryConfig.
    #[schemars(length(min = 1))]
    pub name: String,
    /// `service.name` reported by this server; the MCPServer name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

/// Reference to an MCPWebhookConfig in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct WebhookConfigRef {
    /// Name of the MCPWebhookConfig.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// Deprecated inline telemetry settings; use `telemetryConfigRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InlineTelemetry {
    /// OpenTelemetry export settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_telemetry: Option<InlineOpenTelemetry>,
    /// Prometheus settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusConfig>,
}

/// Deprecated inline OpenTelemetry settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InlineOpenTelemetry {
    /// Export over OTLP.
    #[serde(default)]
    pub enabled: bool,
    /// OTLP collector address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `service.name`; the MCPServer name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Headers as `key=value` strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Use plain HTTP to the collector.
    #[serde(default)]
    pub insecure: bool,
    /// Trace export settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfig>,
    /// Metric export settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
}

/// Lifecycle phase of an MCPServer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum Phase {
    /// The proxy is not ready yet.
    Pending,
    /// The proxy Deployment is available.
    Ready,
    /// A referenced config is missing or invalid.
    Failed,
}

impl Phase {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Ready => "Ready",
            Phase::Failed => "Failed",
        }
    }
}

/// Observed state of an MCPServer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerStatus {
    /// `Pending`, `Ready` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Human-readable detail on the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Ready`, `TelemetryConfigRefValidated`, `WebhookConfigRefValidated`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `status.configHash` of the referenced MCPTelemetryConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_config_hash: Option<String>,
    /// `status.configHash` of the referenced MCPWebhookConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_config_hash: Option<String>,
    /// In-cluster URL of the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
