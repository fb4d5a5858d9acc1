//! Pure builders: an MCPServer plus its resolved configs in, the proxy's Deployment,
//! Service, ConfigMap and `runconfig.json` out. No I/O, so they are unit-tested without a
//! cluster.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::api::{InlineTelemetry, MCPServerSpec, MCPTelemetryConfigSpec, MCPWebhookConfigSpec};

pub mod configmap;
pub mod deployment;
pub mod env;
pub mod runconfig;
pub mod service;
pub mod volumes;

/// Name of the proxy container.
pub const CONTAINER_NAME: &str = "toolhive";
/// Key of `runconfig.json` in the ConfigMap.
pub const RUNCONFIG_KEY: &str = "runconfig.json";
/// Pod-template annotation carrying the SHA-256 of the ConfigMap data.
pub const CHECKSUM_ANNOTATION: &str = "toolhive.stacklok.dev/runconfig-checksum";
/// Where the ConfigMap is mounted in container `toolhive`.
pub const RUNCONFIG_MOUNT_PATH: &str = "/etc/runconfig";
/// Default proxy image.
pub const DEFAULT_PROXY_IMAGE: &str = "ghcr.io/stacklok/toolhive/proxyrunner:latest";

/// Where the proxy gets its telemetry settings from.
#[derive(Clone, Copy, Debug)]
pub enum TelemetrySource<'a> {
    /// A referenced `MCPTelemetryConfig`, with the server's `serviceName` override.
    Ref {
        /// The config's spec.
        config: &'a MCPTelemetryConfigSpec,
        /// `telemetryConfigRef.serviceName`.
        service_name: Option<&'a str>,
    },
    /// The deprecated inline `spec.telemetry`.
    Inline(&'a InlineTelemetry),
}

/// Everything the builders need: the server and the configs it references, resolved.
#[derive(Clone, Copy, Debug)]
pub struct ProxyInputs<'a> {
    /// MCPServer name.
    pub name: &'a str,
    /// MCPServer namespace.
    pub namespace: &'a str,
    /// MCPServer spec.
    pub spec: &'a MCPServerSpec,
    /// Telemetry settings, when the server has any.
    pub telemetry: Option<TelemetrySource<'a>>,
    /// The referenced webhook config, when the server has one.
    pub webhooks: Option<&'a MCPWebhookConfigSpec>,
    /// Image of the proxy container.
    pub proxy_image: &'a str,
}

impl ProxyInputs<'_> {
    /// `service.name` the proxy reports: the ref's or inline `serviceName`, else the server name.
    pub fn service_name(&self) -> &str {
        let explicit = match self.telemetry {
            Some(TelemetrySource::Ref { service_name, .. }) => service_name,
            Some(TelemetrySource::Inline(inline)) => inline
                .open_telemetry
                .as_ref()
                .and_then(|otel| otel.service_name.as_deref()),
            None => None,
        };
        explicit.filter(|s| !s.is_empty()).unwrap_or(self.name)
    }
}

/// Deployment name.
pub fn deployment_name(server: &str) -> String {
    server.to_string()
}

/// Service name: `mcp-<name>-proxy`.
pub fn service_name(server: &str) -> String {
    format!("mcp-{server}-proxy")
}

/// ConfigMap name: `<name>-runconfig`.
pub fn configmap_name(server: &str) -> String {
    format!("{server}-runconfig")
}

/// In-cluster URL of the proxy.
pub fn proxy_url(server: &str, namespace: &str, port: i32) -> String {
    format!(
        "http://{}.{namespace}.svc.cluster.local:{port}",
        service_name(server)
    )
}

/// Labels on the Deployment, its pod template and the Service; also their selectors.
pub fn labels(server: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "mcpserver".to_string(),
        ),
        ("app.kubernetes.io/instance".to_string(), server.to_string()),
        ("toolhive".to_string(), "true".to_string()),
        ("toolhive-name".to_string(), server.to_string()),
    ])
}

/// Label selector matching every child the operator creates.
pub const CHILD_SELECTOR: &str = "toolhive=true";

/// Common metadata of a child object.
pub(crate) fn child_meta(
    name: String,
    inputs: &ProxyInputs<'_>,
    owner: &OwnerReference,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name),
        namespace: Some(inputs.namespace.to_string()),
        labels: Some(labels(inputs.name)),
        owner_references: Some(vec![owner.clone()]),
        ..Default::default()
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Shared inputs for the builder tests.
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::{ProxyInputs, TelemetrySource};
    use crate::api::{MCPServerSpec, MCPWebhookConfigSpec, Transport};

    pub fn server_spec() -> MCPServerSpec {
        MCPServerSpec {
            image: "ghcr.io/example/fetch:1.0".into(),
            transport: Transport::StreamableHttp,
            proxy_port: 8080,
            telemetry: None,
            telemetry_config_ref: None,
            webhook_config_ref: None,
        }
    }

    /// Builder inputs for the server `fetch` in `team-a`.
    pub fn inputs<'a>(
        spec: &'a MCPServerSpec,
        telemetry: Option<TelemetrySource<'a>>,
        webhooks: Option<&'a MCPWebhookConfigSpec>,
    ) -> ProxyInputs<'a> {
        ProxyInputs {
            name: "fetch",
            namespace: "team-a",
            spec,
            telemetry,
            webhooks,
            proxy_image: "proxy:1",
        }
    }

    /// [`inputs`] without webhooks.
    pub fn telemetry_inputs<'a>(
        spec: &'a MCPServerSpec,
        telemetry: Option<TelemetrySource<'a>>,
    ) -> ProxyInputs<'a> {
        inputs(spec, telemetry, None)
    }

    pub fn owner() -> OwnerReference {
        OwnerReference {
            api_version: "toolhive.stacklok.dev/v1alpha1".into(),
            kind: "MCPServer".into(),
            name: "fetch".into(),
            uid: "0000-1111".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("fetch", "mcp-fetch-proxy", "fetch-runconfig")]
    #[case("a-b", "mcp-a-b-proxy", "a-b-runconfig")]
    fn child_names(#[case] server: &str, #[case] svc: &str, #[case] cm: &str) {
        assert_eq!(deployment_name(server), server);
        assert_eq!(service_name(server), svc);
        assert_eq!(configmap_name(server), cm);
    }

    #[test]
    fn url_uses_the_service_and_port() {
        assert_eq!(
            proxy_url("fetch", "team-a", 9090),
            "http://mcp-fetch-proxy.team-a.svc.cluster.local:9090"
        );
    }

    #[test]
    fn labels_are_the_contract_set() {
        let l = labels("fetch");
        assert_eq!(l.len(), 4);
        assert_eq!(l["app.kubernetes.io/name"], "mcpserver");
        assert_eq!(l["app.kubernetes.io/instance"], "fetch");
        assert_eq!(l["toolhive"], "true");
        assert_eq!(l["toolhive-name"], "fetch");
    }
}
