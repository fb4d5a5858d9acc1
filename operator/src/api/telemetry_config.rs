//! `MCPTelemetryConfig`: shared telemetry settings referenced by MCPServers.

// Several print columns share `type_ = "string"`, which the lint mistakes for repetition.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{ConfigStatus, SecretKeyRef};

/// Telemetry settings shared by the MCPServers of a namespace through `telemetryConfigRef`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "MCPTelemetryConfig",
    plural = "mcptelemetryconfigs",
    singular = "mcptelemetryconfig",
    shortname = "mcpotel",
    category = "toolhive",
    namespaced,
    status = "ConfigStatus",
    derive = "PartialEq",
    doc = "Shared OpenTelemetry and Prometheus settings for MCPServers",
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".spec.openTelemetry.endpoint"
    ),
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
pub struct MCPTelemetryConfigSpec {
    /// OpenTelemetry (OTLP) export settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_telemetry: Option<OpenTelemetryConfig>,
    /// Prometheus metrics exposed by the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusConfig>,
}

/// OpenTelemetry export settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.headers) || !has(self.sensitiveHeaders) || self.sensitiveHeaders.all(h, !(h.name in self.headers))"
).message("a header name cannot appear in both headers and sensitiveHeaders"))]
pub struct OpenTelemetryConfig {
    /// When false, no OTLP settings reach the proxy.
    #[serde(default)]
    pub enabled: bool,
    /// OTLP collector address (`host:port`, an `http://` or `https://` prefix is stripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub endpoint: Option<String>,
    /// Use plain HTTP to the collector.
    #[serde(default)]
    pub insecure: bool,
    /// Plain headers sent with every export.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values live in Secrets; passed to the proxy as environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub sensitive_headers: Vec<SensitiveHeader>,
    /// Extra OpenTelemetry resource attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,
    /// Trace export settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfig>,
    /// Metric export settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
}

/// A header whose value is read from a Secret by the kubelet, never by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveHeader {
    /// Header name, e.g. `X-API-Key`.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// Where the header value lives.
    pub secret_key_ref: SecretKeyRef,
}

/// Trace export settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingConfig {
    /// Export traces.
    #[serde(default)]
    pub enabled: bool,
    /// Fraction of traces sampled, a decimal between 0 and 1.
    #[serde(default = "default_sampling_rate")]
    #[schemars(regex(pattern = r"^(0(\.\d+)?|1(\.0+)?)$"))]
    pub sampling_rate: String,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            sampling_rate: default_sampling_rate(),
        }
    }
}

fn default_sampling_rate() -> String {
    "0.05".to_string()
}

/// Metric export settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
pub struct MetricsConfig {
    /// Export metrics over OTLP.
    #[serde(default)]
    pub enabled: bool,
}

/// Prometheus settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
pub struct PrometheusConfig {
    /// Expose `/metrics` on the proxy.
    #[serde(default)]
    pub enabled: bool,
}
