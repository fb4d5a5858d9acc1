//! ConfigMap `<name>-runconfig` with key `runconfig.json`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::{ProxyInputs, RUNCONFIG_KEY, child_meta, configmap_name, runconfig};
use crate::hash;

/// The ConfigMap holding `runconfig.json`.
pub fn build(
    inputs: &ProxyInputs<'_>,
    owner: &OwnerReference,
) -> Result<ConfigMap, serde_json::Error> {
    let json = runconfig::build(inputs).to_json()?;
    Ok(ConfigMap {
        metadata: child_meta(configmap_name(inputs.name), inputs, owner),
        data: Some(BTreeMap::from([(RUNCONFIG_KEY.to_string(), json)])),
        ..Default::default()
    })
}

/// SHA-256 of the ConfigMap data (canonical JSON of the `data` map), the value of the
/// `toolhive.stacklok.dev/runconfig-checksum` pod-template annotation.
pub fn checksum(configmap: &ConfigMap) -> Result<String, serde_json::Error> {
    let empty = BTreeMap::new();
    hash::spec_hash(configmap.data.as_ref().unwrap_or(&empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{MCPTelemetryConfigSpec, OpenTelemetryConfig};
    use crate::resources::TelemetrySource;
    use crate::resources::fixtures::{owner, server_spec, telemetry_inputs};

    #[test]
    fn configmap_has_the_runconfig_key_and_owner() {
        let spec = server_spec();
        let cm = build(&telemetry_inputs(&spec, None), &owner()).unwrap();
        assert_eq!(cm.metadata.name.as_deref(), Some("fetch-runconfig"));
        assert_eq!(cm.metadata.namespace.as_deref(), Some("team-a"));
        assert_eq!(
            cm.metadata.owner_references.as_ref().unwrap()[0].controller,
            Some(true)
        );
        let data = cm.data.unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&data["runconfig.json"]).unwrap();
        assert_eq!(parsed["name"], "fetch");
    }

    #[test]
    fn checksum_is_stable_and_follows_the_config() {
        let spec = server_spec();
        let a = build(&telemetry_inputs(&spec, None), &owner()).unwrap();
        let b = build(&telemetry_inputs(&spec, None), &owner()).unwrap();
        assert_eq!(checksum(&a).unwrap(), checksum(&b).unwrap());
        assert_eq!(checksum(&a).unwrap().len(), 64);

        let cfg = MCPTelemetryConfigSpec {
            open_telemetry: Some(OpenTelemetryConfig {
                enabled: true,
                endpoint: Some("c:4318".into()),
                ..Default::default()
            }),
            prometheus: None,
        };
        let with_telemetry = build(
            &telemetry_inputs(
                &spec,
                Some(TelemetrySource::Ref {
                    config: &cfg,
                    service_name: None,
                }),
            ),
            &owner(),
        )
        .unwrap();
        assert_ne!(checksum(&a).unwrap(), checksum(&with_telemetry).unwrap());
    }
}
