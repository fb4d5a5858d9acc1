//! Environment of container `toolhive` (TEL-3, TEL-4).

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};

use super::{ProxyInputs, TelemetrySource};

/// Name of the resource-attributes variable.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// Prefix of the sensitive header variables.
pub const HEADER_ENV_PREFIX: &str = "TOOLHIVE_OTEL_HEADER_";

/// `TOOLHIVE_OTEL_HEADER_<N>` for header `name`: upper-cased, `-` turned into `_`.
pub fn header_env_name(header: &str) -> String {
    let mut out = String::with_capacity(HEADER_ENV_PREFIX.len() + header.len());
    out.push_str(HEADER_ENV_PREFIX);
    out.extend(header.chars().map(|c| {
        if c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    }));
    out
}

/// The telemetry env vars, in order: `OTEL_RESOURCE_ATTRIBUTES`, then one
/// `TOOLHIVE_OTEL_HEADER_<N>` per sensitive header in list order. Header values are
/// `valueFrom.secretKeyRef`; the operator never sees them. Empty without telemetry.
pub fn telemetry_env(inputs: &ProxyInputs<'_>) -> Vec<EnvVar> {
    let Some(source) = inputs.telemetry else {
        return Vec::new();
    };
    let mut env = vec![EnvVar {
        name: OTEL_RESOURCE_ATTRIBUTES.to_string(),
        value: Some(format!(
            "service.name={},service.namespace={}",
            inputs.service_name(),
            inputs.namespace
        )),
        value_from: None,
    }];
    if let TelemetrySource::Ref { config, .. } = source
        && let Some(otel) = config.open_telemetry.as_ref().filter(|o| o.enabled)
    {
        env.extend(otel.sensitive_headers.iter().map(|header| EnvVar {
            name: header_env_name(&header.name),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: header.secret_key_ref.name.clone(),
                    key: header.secret_key_ref.key.clone(),
                    optional: None,
                }),
                ..Default::default()
            }),
        }));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        InlineOpenTelemetry, InlineTelemetry, MCPTelemetryConfigSpec, OpenTelemetryConfig,
        SecretKeyRef, SensitiveHeader,
    };
    use crate::resources::fixtures::{server_spec, telemetry_inputs};
    use rstest::rstest;

    #[rstest]
    #[case("X-API-Key", "TOOLHIVE_OTEL_HEADER_X_API_KEY")]
    #[case("authorization", "TOOLHIVE_OTEL_HEADER_AUTHORIZATION")]
    #[case("x-honeycomb-team", "TOOLHIVE_OTEL_HEADER_X_HONEYCOMB_TEAM")]
    #[case("A", "TOOLHIVE_OTEL_HEADER_A")]
    fn header_name_mapping(#[case] header: &str, #[case] env: &str) {
        assert_eq!(header_env_name(header), env);
    }

    fn config(enabled: bool, headers: &[&str]) -> MCPTelemetryConfigSpec {
        MCPTelemetryConfigSpec {
            open_telemetry: Some(OpenTelemetryConfig {
                enabled,
                endpoint: Some("collector:4318".into()),
                sensitive_headers: headers
                    .iter()
                    .map(|h| SensitiveHeader {
                        name: (*h).into(),
                        secret_key_ref: SecretKeyRef {
                            name: "otel-secrets".into(),
                            key: h.to_lowercase(),
                        },
                    })
                    .collect(),
                ..Default::default()
            }),
            prometheus: None,
        }
    }

    #[rstest]
    #[case(None, "service.name=fetch,service.namespace=team-a")]
    #[case(Some("billing"), "service.name=billing,service.namespace=team-a")]
    #[case(Some(""), "service.name=fetch,service.namespace=team-a")]
    fn service_name_fallback(#[case] service_name: Option<&str>, #[case] expected: &str) {
        let spec = server_spec();
        let cfg = config(true, &[]);
        let env = telemetry_env(&telemetry_inputs(
            &spec,
            Some(TelemetrySource::Ref {
                config: &cfg,
                service_name,
            }),
        ));
        assert_eq!(env[0].name, OTEL_RESOURCE_ATTRIBUTES);
        assert_eq!(env[0].value.as_deref(), Some(expected));
    }

    #[test]
    fn env_order_follows_sensitive_headers_and_uses_secret_refs_only() {
        let spec = server_spec();
        let cfg = config(true, &["X-API-Key", "Authorization", "b-token"]);
        let env = telemetry_env(&telemetry_inputs(
            &spec,
            Some(TelemetrySource::Ref {
                config: &cfg,
                service_name: None,
            }),
        ));
        let names: Vec<_> = env.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "OTEL_RESOURCE_ATTRIBUTES",
                "TOOLHIVE_OTEL_HEADER_X_API_KEY",
                "TOOLHIVE_OTEL_HEADER_AUTHORIZATION",
                "TOOLHIVE_OTEL_HEADER_B_TOKEN",
            ]
        );
        for var in &env[1..] {
            assert!(
                var.value.is_none(),
                "{} must not carry a plain value",
                var.name
            );
            let selector = var
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
                .unwrap();
            assert_eq!(selector.name, "otel-secrets");
        }
        assert_eq!(
            env[1]
                .value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .as_ref()
                .unwrap()
                .key,
            "x-api-key"
        );
    }

    #[test]
    fn disabled_otel_passes_no_headers() {
        let spec = server_spec();
        let cfg = config(false, &["X-API-Key"]);
        let env = telemetry_env(&telemetry_inputs(
            &spec,
            Some(TelemetrySource::Ref {
                config: &cfg,
                service_name: None,
            }),
        ));
        assert_eq!(env.len(), 1);
    }

    #[test]
    fn no_telemetry_no_env() {
        let spec = server_spec();
        assert!(telemetry_env(&telemetry_inputs(&spec, None)).is_empty());
    }

    #[rstest]
    #[case(Some("legacy"), "service.name=legacy,service.namespace=team-a")]
    #[case(None, "service.name=fetch,service.namespace=team-a")]
    fn inline_telemetry_service_name(#[case] service_name: Option<&str>, #[case] expected: &str) {
        let spec = server_spec();
        let inline = InlineTelemetry {
            open_telemetry: Some(InlineOpenTelemetry {
                enabled: true,
                service_name: service_name.map(String::from),
                ..Default::default()
            }),
            prometheus: None,
        };
        let env = telemetry_env(&telemetry_inputs(
            &spec,
            Some(TelemetrySource::Inline(&inline)),
        ));
        assert_eq!(env.len(), 1);
        assert_eq!(env[0].value.as_deref(), Some(expected));
    }
}
