//! `runconfig.json`: what the proxy reads (TEL-6, TEL-9, WH-3).

use std::collections::BTreeMap;

use serde::Serialize;

use super::volumes::{WebhookKind, WebhookMounts};
use super::{ProxyInputs, TelemetrySource};
use crate::api::{FailurePolicy, WebhookSpec};

/// Schema version of the run configuration.
pub const SCHEMA_VERSION: &str = "v0.1.0";
/// Webhook timeout when `timeout` is unset.
pub const DEFAULT_WEBHOOK_TIMEOUT_SECONDS: u64 = 10;

/// The proxy's run configuration.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RunConfig {
    /// Format version.
    pub schema_version: &'static str,
    /// MCPServer name.
    pub name: String,
    /// MCP server image.
    pub image: String,
    /// Transport to the MCP server.
    pub transport: &'static str,
    /// Proxy port.
    pub port: i32,
    /// Telemetry settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry_config: Option<TelemetryRunConfig>,
    /// Validating webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validating_webhooks: Vec<WebhookRunConfig>,
    /// Mutating webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mutating_webhooks: Vec<WebhookRunConfig>,
}

/// `telemetry_config` of `runconfig.json`.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryRunConfig {
    /// OTLP endpoint without scheme; only when OpenTelemetry is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `service.name`.
    pub service_name: String,
    /// Export traces.
    pub tracing_enabled: bool,
    /// Export metrics.
    pub metrics_enabled: bool,
    /// Normalised sampling rate.
    pub sampling_rate: String,
    /// Plain headers.
    pub headers: BTreeMap<String, String>,
    /// Plain HTTP to the collector.
    pub insecure: bool,
    /// Extra resource attributes.
    pub custom_attributes: BTreeMap<String, String>,
    /// Expose `/metrics` on the proxy.
    pub enable_prometheus_metrics_path: bool,
}

/// One webhook entry of `runconfig.json`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WebhookRunConfig {
    /// Webhook name.
    pub name: String,
    /// Webhook URL.
    pub url: String,
    /// Call timeout in whole seconds.
    pub timeout_seconds: u64,
    /// `fail` or `ignore`.
    pub failure_policy: &'static str,
    /// TLS settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<WebhookTlsRunConfig>,
    /// File holding the HMAC key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmac_secret_path: Option<String>,
}

/// `tls_config` of a webhook entry.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct WebhookTlsRunConfig {
    /// File holding the CA bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_bundle_path: Option<String>,
    /// File holding the client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_path: Option<String>,
    /// File holding the client private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_path: Option<String>,
    /// Skip certificate verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

impl RunConfig {
    /// Pretty JSON, stable for equal inputs.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// Build the run configuration.
pub fn build(inputs: &ProxyInputs<'_>) -> RunConfig {
    let (validating_webhooks, mutating_webhooks) = match inputs.webhooks {
        Some(config) => (
            webhook_entries(WebhookKind::Validating, &config.validating),
            webhook_entries(WebhookKind::Mutating, &config.mutating),
        ),
        None => (Vec::new(), Vec::new()),
    };
    RunConfig {
        schema_version: SCHEMA_VERSION,
        name: inputs.name.to_string(),
        image: inputs.spec.image.clone(),
        transport: inputs.spec.transport.as_str(),
        port: inputs.spec.proxy_port,
        telemetry_config: telemetry(inputs),
        validating_webhooks,
        mutating_webhooks,
    }
}

fn telemetry(inputs: &ProxyInputs<'_>) -> Option<TelemetryRunConfig> {
    let service_name = inputs.service_name().to_string();
    let settings = match inputs.telemetry? {
        TelemetrySource::Ref { config, .. } => {
            let otel = config.open_telemetry.clone().unwrap_or_default();
            OtelSettings {
                enabled: otel.enabled,
                endpoint: otel.endpoint,
                tracing: otel.tracing.unwrap_or_default(),
                metrics: otel.metrics.is_some_and(|m| m.enabled),
                insecure: otel.insecure,
                headers: otel.headers,
                attributes: otel.resource_attributes,
                prometheus: config.prometheus.as_ref().is_some_and(|p| p.enabled),
            }
        }
        TelemetrySource::Inline(inline) => {
            let otel = inline.open_telemetry.clone().unwrap_or_default();
            OtelSettings {
                enabled: otel.enabled,
                endpoint: otel.endpoint,
                tracing: otel.tracing.unwrap_or_default(),
                metrics: otel.metrics.is_some_and(|m| m.enabled),
                insecure: otel.insecure,
                headers: parse_inline_headers(&otel.headers),
                // The deprecated inline form has no resource attributes.
                attributes: BTreeMap::new(),
                prometheus: inline.prometheus.as_ref().is_some_and(|p| p.enabled),
            }
        }
    };
    Some(settings.into_run_config(service_name))
}

/// What either telemetry source (reference or deprecated inline) says, in one shape.
struct OtelSettings {
    enabled: bool,
    endpoint: Option<String>,
    tracing: crate::api::TracingConfig,
    metrics: bool,
    insecure: bool,
    headers: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
    prometheus: bool,
}

impl OtelSettings {
    /// The runconfig section: with OpenTelemetry disabled nothing of it reaches the proxy
    /// (no endpoint, headers or attributes), only the Prometheus switch.
    fn into_run_config(self, service_name: String) -> TelemetryRunConfig {
        let on = self.enabled;
        let when_on = |map: BTreeMap<String, String>| if on { map } else { BTreeMap::new() };
        TelemetryRunConfig {
            endpoint: self
                .endpoint
                .as_deref()
                .filter(|_| on)
                .map(strip_scheme)
                .filter(|e| !e.is_empty()),
            service_name,
            tracing_enabled: on && self.tracing.enabled,
            metrics_enabled: on && self.metrics,
            sampling_rate: normalize_sampling_rate(&self.tracing.sampling_rate),
            headers: when_on(self.headers),
            insecure: on && self.insecure,
            custom_attributes: when_on(self.attributes),
            enable_prometheus_metrics_path: self.prometheus,
        }
    }
}

/// Strip a leading `http://` or `https://` (any case) from an OTLP endpoint.
pub fn strip_scheme(endpoint: &str) -> String {
    let trimmed = endpoint.trim();
    for scheme in ["https://", "http://"] {
        if trimmed.len() >= scheme.len()
            && trimmed.is_char_boundary(scheme.len())
            && trimmed[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            return trimmed[scheme.len()..].to_string();
        }
    }
    trimmed.to_string()
}

/// Normalise a decimal sampling rate: trailing zeros of the fraction and a bare trailing
/// dot are dropped (`"0.10"` → `"0.1"`, `"1.0"` → `"1"`).
pub fn normalize_sampling_rate(rate: &str) -> String {
    let rate = rate.trim();
    if let Some((int, frac)) = rate.split_once('.') {
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            return int.to_string();
        }
        return format!("{int}.{frac}");
    }
    rate.to_string()
}

/// Split deprecated inline `k=v` headers at the first `=`; entries without `=` are skipped.
pub fn parse_inline_headers(headers: &[String]) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|h| h.split_once('='))
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// Whole seconds of a Go-style duration string (`"5s"`, `"1500ms"`, `"1m"`), rounded up;
/// `None` when it does not parse.
pub fn duration_seconds(value: &str) -> Option<u64> {
    let mut rest = value.trim();
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += number * scale;
    }
    let seconds = (nanos / 1e9).ceil();
    if seconds.is_finite() && seconds >= 0.0 {
        // Bounded by the schema to 1..30 s; the cast cannot truncate meaningfully.
        Some(seconds as u64)
    } else {
        None
    }
}

fn webhook_entries(kind: WebhookKind, list: &[WebhookSpec]) -> Vec<WebhookRunConfig> {
    list.iter()
        .enumerate()
        .map(|(i, webhook)| {
            let mounts = WebhookMounts::for_webhook(kind, i, webhook);
            let tls = webhook.tls_config.as_ref().map(|tls| WebhookTlsRunConfig {
                ca_bundle_path: mounts
                    .ca
                    .as_ref()
                    .zip(tls.ca_secret_ref.as_ref())
                    .map(|(m, s)| m.file(&s.key)),
                client_cert_path: mounts
                    .client_cert
                    .as_ref()
                    .zip(tls.client_cert_secret_ref.as_ref())
                    .map(|(m, s)| m.file(&s.key)),
                client_key_path: mounts
                    .client_cert
                    .as_ref()
                    .map(|m| m.file(super::volumes::TLS_KEY)),
                insecure_skip_verify: tls.insecure_skip_verify.then_some(true),
            });
            WebhookRunConfig {
                name: webhook.name.clone(),
                url: webhook.url.clone(),
                timeout_seconds: webhook
                    .timeout
                    .as_deref()
                    .and_then(duration_seconds)
                    .unwrap_or(DEFAULT_WEBHOOK_TIMEOUT_SECONDS),
                failure_policy: match webhook.failure_policy {
                    FailurePolicy::Fail => "fail",
                    FailurePolicy::Ignore => "ignore",
                },
                tls_config: tls,
                hmac_secret_path: mounts
                    .hmac
                    .as_ref()
                    .zip(webhook.hmac_secret_ref.as_ref())
                    .map(|(m, s)| m.file(&s.key)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        InlineOpenTelemetry, InlineTelemetry, MCPTelemetryConfigSpec, MCPWebhookConfigSpec,
        MetricsConfig, OpenTelemetryConfig, PrometheusConfig, SecretKeyRef, TracingConfig,
        WebhookTlsConfig,
    };
    use crate::resources::fixtures::{inputs, server_spec};
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case("0.10", "0.1")]
    #[case("0.05", "0.05")]
    #[case("0.500", "0.5")]
    #[case("1.0", "1")]
    #[case("1.00", "1")]
    #[case("1", "1")]
    #[case("0", "0")]
    #[case("0.0", "0")]
    fn sampling_rate_normalisation(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(normalize_sampling_rate(input), expected);
    }

    #[rstest]
    #[case("http://collector:4318", "collector:4318")]
    #[case("https://collector.obs.svc:4318", "collector.obs.svc:4318")]
    #[case("HTTPS://Collector:4318", "Collector:4318")]
    #[case("collector:4318", "collector:4318")]
    #[case("grpc://collector:4317", "grpc://collector:4317")]
    fn endpoint_scheme_stripping(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(strip_scheme(input), expected);
    }

    #[rstest]
    #[case("1s", Some(1))]
    #[case("30s", Some(30))]
    #[case("1500ms", Some(2))]
    #[case("1m", Some(60))]
    #[case("1m30s", Some(90))]
    #[case("", None)]
    #[case("10", None)]
    #[case("5x", None)]
    fn durations(#[case] input: &str, #[case] expected: Option<u64>) {
        assert_eq!(duration_seconds(input), expected);
    }

    #[rstest]
    #[case(&["a=b"], &[("a", "b")])]
    #[case(&["token=abc=def"], &[("token", "abc=def")])]
    #[case(&["novalue", "x="], &[("x", "")])]
    fn inline_headers_split_at_first_equals(
        #[case] input: &[&str],
        #[case] expected: &[(&str, &str)],
    ) {
        let input: Vec<String> = input.iter().map(|s| s.to_string()).collect();
        let expected: BTreeMap<String, String> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parse_inline_headers(&input), expected);
    }

    fn telemetry_spec() -> MCPTelemetryConfigSpec {
        MCPTelemetryConfigSpec {
            open_telemetry: Some(OpenTelemetryConfig {
                enabled: true,
                endpoint: Some("https://collector:4318".into()),
                insecure: true,
                headers: BTreeMap::from([("x-tenant".into(), "a".into())]),
                sensitive_headers: vec![],
                resource_attributes: BTreeMap::from([(
                    "deployment.environment".into(),
                    "dev".into(),
                )]),
                tracing: Some(TracingConfig {
                    enabled: true,
                    sampling_rate: "0.10".into(),
                }),
                metrics: Some(MetricsConfig { enabled: false }),
            }),
            prometheus: Some(PrometheusConfig { enabled: true }),
        }
    }

    #[test]
    fn telemetry_config_from_a_reference() {
        let spec = server_spec();
        let cfg = telemetry_spec();
        let rc = build(&inputs(
            &spec,
            Some(TelemetrySource::Ref {
                config: &cfg,
                service_name: Some("svc"),
            }),
            None,
        ));
        let json = serde_json::to_value(&rc).unwrap();
        assert_eq!(
            json["telemetry_config"],
            json!({
                "endpoint": "collector:4318",
                "serviceName": "svc",
                "tracingEnabled": true,
                "metricsEnabled": false,
                "samplingRate": "0.1",
                "headers": {"x-tenant": "a"},
                "insecure": true,
                "customAttributes": {"deployment.environment": "dev"},
                "enablePrometheusMetricsPath": true
            })
        );
        assert!(json.get("validating_webhooks").is_none());
    }

    #[test]
    fn disabled_otel_sends_no_otlp_settings() {
        let spec = server_spec();
        let mut cfg = telemetry_spec();
        if let Some(o) = cfg.open_telemetry.as_mut() {
            o.enabled = false;
        }
        let rc = build(&inputs(
            &spec,
            Some(TelemetrySource::Ref {
                config: &cfg,
                service_name: None,
            }),
            None,
        ));
        let tc = rc.telemetry_config.unwrap();
        assert_eq!(tc.endpoint, None);
        assert!(!tc.tracing_enabled && !tc.metrics_enabled && !tc.insecure);
        assert!(tc.headers.is_empty());
        assert_eq!(tc.service_name, "fetch");
        assert!(tc.enable_prometheus_metrics_path);
    }

    #[test]
    fn telemetry_config_from_deprecated_inline_fields() {
        let spec = server_spec();
        let inline = InlineTelemetry {
            open_telemetry: Some(InlineOpenTelemetry {
                enabled: true,
                endpoint: Some("http://otel:4318".into()),
                service_name: Some("legacy".into()),
                headers: vec!["x-api-key=abc=1".into()],
                insecure: false,
                tracing: Some(TracingConfig {
                    enabled: true,
                    sampling_rate: "1.0".into(),
                }),
                metrics: Some(MetricsConfig { enabled: true }),
            }),
            prometheus: None,
        };
        let rc = build(&inputs(&spec, Some(TelemetrySource::Inline(&inline)), None));
        let tc = rc.telemetry_config.unwrap();
        assert_eq!(tc.endpoint.as_deref(), Some("otel:4318"));
        assert_eq!(tc.service_name, "legacy");
        assert_eq!(tc.sampling_rate, "1");
        assert_eq!(tc.headers["x-api-key"], "abc=1");
        assert!(tc.tracing_enabled && tc.metrics_enabled);
    }

    #[test]
    fn no_telemetry_no_telemetry_config() {
        let spec = server_spec();
        let json = serde_json::to_value(build(&inputs(&spec, None, None))).unwrap();
        assert!(json.get("telemetry_config").is_none());
        assert_eq!(json["name"], "fetch");
        assert_eq!(json["transport"], "streamable-http");
    }

    #[test]
    fn webhook_entries_point_at_the_secret_mounts() {
        let spec = server_spec();
        let secret = |n: &str, k: &str| SecretKeyRef {
            name: n.into(),
            key: k.into(),
        };
        let config = MCPWebhookConfigSpec {
            validating: vec![WebhookSpec {
                name: "policy".into(),
                url: "https://policy.example/validate".into(),
                timeout: Some("5s".into()),
                failure_policy: FailurePolicy::Ignore,
                tls_config: Some(WebhookTlsConfig {
                    ca_secret_ref: Some(secret("ca", "ca.crt")),
                    client_cert_secret_ref: Some(secret("client", "tls.crt")),
                    insecure_skip_verify: false,
                }),
                hmac_secret_ref: Some(secret("hmac", "key")),
            }],
            mutating: vec![WebhookSpec {
                name: "redact".into(),
                url: "https://redact.example/mutate".into(),
                timeout: None,
                failure_policy: FailurePolicy::Fail,
                tls_config: Some(WebhookTlsConfig {
                    insecure_skip_verify: true,
                    ..Default::default()
                }),
                hmac_secret_ref: None,
            }],
        };
        let json = serde_json::to_value(build(&inputs(&spec, None, Some(&config)))).unwrap();
        assert_eq!(
            json["validating_webhooks"],
            json!([{
                "name": "policy",
                "url": "https://policy.example/validate",
                "timeout_seconds": 5,
                "failure_policy": "ignore",
                "tls_config": {
                    "ca_bundle_path": "/etc/toolhive/webhooks/validating-0/ca/ca.crt",
                    "client_cert_path": "/etc/toolhive/webhooks/validating-0/client-cert/tls.crt",
                    "client_key_path": "/etc/toolhive/webhooks/validating-0/client-cert/tls.key"
                },
                "hmac_secret_path": "/etc/toolhive/webhooks/validating-0/hmac/key"
            }])
        );
        assert_eq!(
            json["mutating_webhooks"],
            json!([{
                "name": "redact",
                "url": "https://redact.example/mutate",
                "timeout_seconds": 10,
                "failure_policy": "fail",
                "tls_config": {"insecure_skip_verify": true}
            }])
        );
    }
}
