//! Custom resource types of `toolhive.stacklok.dev/v1alpha1`.
//!
//! One module per kind. The schemas (defaults, enums, patterns, list-map keys and CEL rules)
//! are derived from these types; `mcp-operator crds` prints them.

mod common;
mod mcp_server;
mod telemetry_config;
mod webhook_config;

pub use common::{ConfigStatus, SecretKeyRef};
pub use mcp_server::{
    InlineOpenTelemetry, InlineTelemetry, MCPServer, MCPServerSpec, MCPServerStatus, Phase,
    TelemetryConfigRef, Transport, WebhookConfigRef,
};
pub use telemetry_config::{
    MCPTelemetryConfig, MCPTelemetryConfigSpec, MetricsConfig, OpenTelemetryConfig,
    PrometheusConfig, SensitiveHeader, TracingConfig,
};
pub use webhook_config::{
    FailurePolicy, MCPWebhookConfig, MCPWebhookConfigSpec, WebhookSpec, WebhookTlsConfig,
};

/// The API group of all three kinds.
pub const GROUP: &str = "toolhive.stacklok.dev";

/// All CustomResourceDefinitions served by the operator, in a stable order.
pub fn crds()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
{
    use kube::CustomResourceExt;
    vec![
        MCPServer::crd(),
        MCPTelemetryConfig::crd(),
        MCPWebhookConfig::crd(),
    ]
}

/// The CRDs as one YAML stream (documents separated by `---`), as checked in under
/// `fixtures/crds/crds.yaml`.
pub fn crds_yaml() -> Result<String, serde_saphyr::ser::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}
