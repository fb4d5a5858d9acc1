//! Webhook secrets as read-only Secret volumes (WH-4).
//!
//! Each secret a webhook references gets its own volume named
//! `webhook-<list>-<index>-<purpose>`, mounted read-only under
//! `/etc/toolhive/webhooks/<list>-<index>/<purpose>`; `runconfig.json` points at the files.

use k8s_openapi::api::core::v1::{KeyToPath, SecretVolumeSource, Volume, VolumeMount};

use crate::api::{MCPWebhookConfigSpec, SecretKeyRef, WebhookSpec};

/// Root of the webhook secret mounts.
pub const WEBHOOK_MOUNT_ROOT: &str = "/etc/toolhive/webhooks";
/// File name of the client private key inside a `kubernetes.io/tls` Secret.
pub const TLS_KEY: &str = "tls.key";

/// Which list a webhook is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookKind {
    /// `spec.validating`.
    Validating,
    /// `spec.mutating`.
    Mutating,
}

impl WebhookKind {
    fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Validating => "validating",
            WebhookKind::Mutating => "mutating",
        }
    }
}

/// What a mounted secret is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretPurpose {
    /// HMAC signing key.
    Hmac,
    /// CA bundle.
    Ca,
    /// Client certificate and key.
    ClientCert,
}

impl SecretPurpose {
    fn as_str(self) -> &'static str {
        match self {
            SecretPurpose::Hmac => "hmac",
            SecretPurpose::Ca => "ca",
            SecretPurpose::ClientCert => "client-cert",
        }
    }
}

/// One Secret mounted for one webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretMount {
    /// Volume name (a DNS label).
    pub volume_name: String,
    /// Directory the Secret is mounted at.
    pub mount_path: String,
    /// The Secret.
    pub secret_name: String,
    /// Keys projected into the directory; file names equal the keys.
    pub keys: Vec<String>,
}

impl SecretMount {
    fn new(kind: WebhookKind, index: usize, purpose: SecretPurpose, secret: &SecretKeyRef) -> Self {
        let mut keys = vec![secret.key.clone()];
        if purpose == SecretPurpose::ClientCert && secret.key != TLS_KEY {
            keys.push(TLS_KEY.to_string());
        }
        SecretMount {
            volume_name: format!("webhook-{}-{index}-{}", kind.as_str(), purpose.as_str()),
            mount_path: format!(
                "{WEBHOOK_MOUNT_ROOT}/{}-{index}/{}",
                kind.as_str(),
                purpose.as_str()
            ),
            secret_name: secret.name.clone(),
            keys,
        }
    }

    /// Path of the file holding `key`.
    pub fn file(&self, key: &str) -> String {
        format!("{}/{key}", self.mount_path)
    }

    /// The pod volume.
    pub fn volume(&self) -> Volume {
        Volume {
            name: self.volume_name.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(self.secret_name.clone()),
                items: Some(
                    self.keys
                        .iter()
                        .map(|key| KeyToPath {
                            key: key.clone(),
                            path: key.clone(),
                            mode: None,
                        })
                        .collect(),
                ),
                default_mode: Some(0o440),
                optional: None,
            }),
            ..Default::default()
        }
    }

    /// The read-only mount in container `toolhive`.
    pub fn volume_mount(&self) -> VolumeMount {
        VolumeMount {
            name: self.volume_name.clone(),
            mount_path: self.mount_path.clone(),
            read_only: Some(true),
            ..Default::default()
        }
    }
}

/// The secret mounts of one webhook, by purpose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookMounts {
    /// HMAC key.
    pub hmac: Option<SecretMount>,
    /// CA bundle.
    pub ca: Option<SecretMount>,
    /// Client certificate and key.
    pub client_cert: Option<SecretMount>,
}

impl WebhookMounts {
    /// Mounts for webhook `index` of list `kind`.
    pub fn for_webhook(kind: WebhookKind, index: usize, webhook: &WebhookSpec) -> Self {
        let tls = webhook.tls_config.as_ref();
        WebhookMounts {
            hmac: webhook
                .hmac_secret_ref
                .as_ref()
                .map(|s| SecretMount::new(kind, index, SecretPurpose::Hmac, s)),
            ca: tls
                .and_then(|t| t.ca_secret_ref.as_ref())
                .map(|s| SecretMount::new(kind, index, SecretPurpose::Ca, s)),
            client_cert: tls
                .and_then(|t| t.client_cert_secret_ref.as_ref())
                .map(|s| SecretMount::new(kind, index, SecretPurpose::ClientCert, s)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &SecretMount> {
        [&self.hmac, &self.ca, &self.client_cert]
            .into_iter()
            .flatten()
    }
}

/// Every secret mount of a webhook config, validating webhooks first, in list order.
pub fn secret_mounts(config: &MCPWebhookConfigSpec) -> Vec<SecretMount> {
    let lists = [
        (WebhookKind::Validating, &config.validating),
        (WebhookKind::Mutating, &config.mutating),
    ];
    lists
        .into_iter()
        .flat_map(|(kind, list)| {
            list.iter().enumerate().flat_map(move |(i, webhook)| {
                WebhookMounts::for_webhook(kind, i, webhook)
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FailurePolicy, WebhookTlsConfig};
    use rstest::rstest;

    fn secret(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    fn webhook(name: &str) -> WebhookSpec {
        WebhookSpec {
            name: name.into(),
            url: "https://hooks.example/check".into(),
            timeout: None,
            failure_policy: FailurePolicy::Fail,
            tls_config: Some(WebhookTlsConfig {
                ca_secret_ref: Some(secret("ca", "ca.crt")),
                client_cert_secret_ref: Some(secret("client", "tls.crt")),
                insecure_skip_verify: false,
            }),
            hmac_secret_ref: Some(secret("hmac", "signing-key")),
        }
    }

    #[rstest]
    #[case(
        WebhookKind::Validating,
        0,
        SecretPurpose::Hmac,
        "webhook-validating-0-hmac",
        "/etc/toolhive/webhooks/validating-0/hmac"
    )]
    #[case(
        WebhookKind::Mutating,
        3,
        SecretPurpose::Ca,
        "webhook-mutating-3-ca",
        "/etc/toolhive/webhooks/mutating-3/ca"
    )]
    #[case(
        WebhookKind::Validating,
        31,
        SecretPurpose::ClientCert,
        "webhook-validating-31-client-cert",
        "/etc/toolhive/webhooks/validating-31/client-cert"
    )]
    fn volume_naming(
        #[case] kind: WebhookKind,
        #[case] index: usize,
        #[case] purpose: SecretPurpose,
        #[case] volume: &str,
        #[case] path: &str,
    ) {
        let mount = SecretMount::new(kind, index, purpose, &secret("s", "k"));
        assert_eq!(mount.volume_name, volume);
        assert!(mount.volume_name.len() <= 63);
        assert_eq!(mount.mount_path, path);
    }

    #[test]
    fn client_cert_mount_projects_the_private_key_too() {
        let mount = SecretMount::new(
            WebhookKind::Validating,
            0,
            SecretPurpose::ClientCert,
            &secret("c", "tls.crt"),
        );
        assert_eq!(
            mount.keys,
            vec!["tls.crt".to_string(), "tls.key".to_string()]
        );
        let same = SecretMount::new(
            WebhookKind::Validating,
            0,
            SecretPurpose::ClientCert,
            &secret("c", "tls.key"),
        );
        assert_eq!(same.keys, vec!["tls.key".to_string()]);
    }

    #[test]
    fn volumes_and_mounts_are_secret_backed_and_read_only() {
        let config = MCPWebhookConfigSpec {
            validating: vec![webhook("a")],
            mutating: vec![webhook("b")],
        };
        let mounts = secret_mounts(&config);
        let names: Vec<_> = mounts.iter().map(|m| m.volume_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "webhook-validating-0-hmac",
                "webhook-validating-0-ca",
                "webhook-validating-0-client-cert",
                "webhook-mutating-0-hmac",
                "webhook-mutating-0-ca",
                "webhook-mutating-0-client-cert",
            ]
        );
        for mount in &mounts {
            assert_eq!(mount.volume_mount().read_only, Some(true));
            let volume = mount.volume();
            assert!(volume.config_map.is_none());
            assert!(volume.secret.is_some());
        }
    }
}
