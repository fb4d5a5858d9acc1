//! Types shared by several kinds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// A reference to one key of a Secret in the same namespace.
///
/// The operator never reads the Secret: the reference is passed to the proxy as an
/// environment variable source or a mounted volume.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Status of a shared configuration resource (`MCPTelemetryConfig`, `MCPWebhookConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigStatus {
    /// Observations of the config's state (`Valid`, `DeletionBlocked`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// SHA-256 of the canonical JSON of `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// Sorted names of the MCPServers in this namespace that reference this config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referencing_servers: Vec<String>,
}
