//! Deployment `<name>`: the proxy, one container `toolhive`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, PodSpec, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::{
    CHECKSUM_ANNOTATION, CONTAINER_NAME, ProxyInputs, RUNCONFIG_KEY, RUNCONFIG_MOUNT_PATH,
    child_meta, configmap_name, deployment_name, env, labels, volumes,
};

/// Name of the volume holding the runconfig ConfigMap.
pub const RUNCONFIG_VOLUME: &str = "runconfig";

/// The proxy Deployment. `checksum` is the SHA-256 of the ConfigMap data; it goes on the pod
/// template so that a config change rolls the proxy.
pub fn build(inputs: &ProxyInputs<'_>, owner: &OwnerReference, checksum: &str) -> Deployment {
    let labels = labels(inputs.name);
    let secret_mounts = inputs
        .webhooks
        .map(volumes::secret_mounts)
        .unwrap_or_default();

    let mut pod_volumes = vec![Volume {
        name: RUNCONFIG_VOLUME.to_string(),
        config_map: Some(ConfigMapVolumeSource {
            name: configmap_name(inputs.name),
            ..Default::default()
        }),
        ..Default::default()
    }];
    pod_volumes.extend(secret_mounts.iter().map(volumes::SecretMount::volume));

    let mut mounts = vec![VolumeMount {
        name: RUNCONFIG_VOLUME.to_string(),
        mount_path: RUNCONFIG_MOUNT_PATH.to_string(),
        read_only: Some(true),
        ..Default::default()
    }];
    mounts.extend(secret_mounts.iter().map(volumes::SecretMount::volume_mount));

    Deployment {
        metadata: child_meta(deployment_name(inputs.name), inputs, owner),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(BTreeMap::from([(
                        CHECKSUM_ANNOTATION.to_string(),
                        checksum.to_string(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: CONTAINER_NAME.to_string(),
                        image: Some(inputs.proxy_image.to_string()),
                        args: Some(vec![
                            "run".to_string(),
                            format!("--from-runconfig={RUNCONFIG_MOUNT_PATH}/{RUNCONFIG_KEY}"),
                        ]),
                        ports: Some(vec![ContainerPort {
                            name: Some("http".to_string()),
                            container_port: inputs.spec.proxy_port,
                            protocol: Some("TCP".to_string()),
                            ..Default::default()
                        }]),
                        env: Some(env::telemetry_env(inputs)),
                        volume_mounts: Some(mounts),
                        ..Default::default()
                    }],
                    volumes: Some(pod_volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FailurePolicy, MCPWebhookConfigSpec, SecretKeyRef, WebhookSpec};
    use crate::resources::fixtures::{inputs, owner, server_spec};

    #[test]
    fn deployment_shape() {
        let spec = server_spec();
        let inputs = inputs(&spec, None, None);
        let d = build(&inputs, &owner(), "abc");
        assert_eq!(d.metadata.name.as_deref(), Some("fetch"));
        assert_eq!(d.metadata.labels.as_ref(), Some(&labels("fetch")));
        let s = d.spec.unwrap();
        assert_eq!(s.selector.match_labels.unwrap(), labels("fetch"));
        let t = s.template.metadata.unwrap();
        assert_eq!(t.labels.unwrap(), labels("fetch"));
        assert_eq!(t.annotations.unwrap()[CHECKSUM_ANNOTATION], "abc");
        let pod = s.template.spec.unwrap();
        assert_eq!(pod.containers.len(), 1);
        assert_eq!(pod.containers[0].name, "toolhive");
        assert_eq!(pod.containers[0].env.as_deref(), Some(&[][..]));
        assert_eq!(
            pod.volumes.unwrap()[0].config_map.as_ref().unwrap().name,
            "fetch-runconfig"
        );
    }

    #[test]
    fn webhook_secrets_are_read_only_secret_volumes() {
        let spec = server_spec();
        let webhooks = MCPWebhookConfigSpec {
            validating: vec![WebhookSpec {
                name: "v".into(),
                url: "https://v.example".into(),
                timeout: None,
                failure_policy: FailurePolicy::Fail,
                tls_config: None,
                hmac_secret_ref: Some(SecretKeyRef {
                    name: "hmac".into(),
                    key: "k".into(),
                }),
            }],
            mutating: vec![],
        };
        let inputs = inputs(&spec, None, Some(&webhooks));
        let d = build(&inputs, &owner(), "abc");
        let pod = d.spec.unwrap().template.spec.unwrap();
        let volumes = pod.volumes.unwrap();
        assert_eq!(volumes.len(), 2);
        assert_eq!(volumes[1].name, "webhook-validating-0-hmac");
        assert_eq!(
            volumes[1].secret.as_ref().unwrap().secret_name.as_deref(),
            Some("hmac")
        );
        let mounts = pod.containers[0].volume_mounts.clone().unwrap();
        assert!(mounts.iter().all(|m| m.read_only == Some(true)));
        assert!(pod.containers[0].env.as_ref().unwrap().is_empty());
    }
}
