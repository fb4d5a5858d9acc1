//! `MCPTelemetryConfig` as a [`SharedConfig`].

use super::config::SharedConfig;
use crate::api::{MCPServerSpec, MCPTelemetryConfig, MCPTelemetryConfigSpec};

/// Finalizer of MCPTelemetryConfig (CFG-1).
pub const FINALIZER: &str = "mcptelemetryconfig.toolhive.stacklok.dev/finalizer";

impl SharedConfig for MCPTelemetryConfig {
    const FINALIZER: &'static str = FINALIZER;
    const CONTROLLER: &'static str = "mcptelemetryconfig";

    fn referenced_name(server: &MCPServerSpec) -> Option<&str> {
        server
            .telemetry_config_ref
            .as_ref()
            .map(|r| r.name.as_str())
    }

    fn validate(spec: &MCPTelemetryConfigSpec) -> Result<(), String> {
        if let Some(otel) = &spec.open_telemetry {
            let has_endpoint = otel
                .endpoint
                .as_deref()
                .is_some_and(|e| !e.trim().is_empty());
            let tracing = otel.tracing.as_ref().is_some_and(|t| t.enabled);
            let metrics = otel.metrics.as_ref().is_some_and(|m| m.enabled);
            if has_endpoint && !tracing && !metrics {
                return Err(
                    "endpoint requires at least one of tracing or metrics to be enabled".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{MetricsConfig, OpenTelemetryConfig, TracingConfig};
    use rstest::rstest;

    #[rstest]
    #[case(None, false, false, Ok(()))]
    #[case(Some("collector:4318"), true, false, Ok(()))]
    #[case(Some("collector:4318"), false, true, Ok(()))]
    #[case(Some(""), false, false, Ok(()))]
    #[case(Some("collector:4318"), false, false, Err("endpoint requires at least one of tracing or metrics to be enabled".to_string()))]
    fn endpoint_needs_tracing_or_metrics(
        #[case] endpoint: Option<&str>,
        #[case] tracing: bool,
        #[case] metrics: bool,
        #[case] expected: Result<(), String>,
    ) {
        let spec = MCPTelemetryConfigSpec {
            open_telemetry: Some(OpenTelemetryConfig {
                enabled: true,
                endpoint: endpoint.map(String::from),
                tracing: Some(TracingConfig {
                    enabled: tracing,
                    ..Default::default()
                }),
                metrics: Some(MetricsConfig { enabled: metrics }),
                ..Default::default()
            }),
            prometheus: None,
        };
        assert_eq!(MCPTelemetryConfig::validate(&spec), expected);
    }
}
