//! Kubeconfig files: writing one for a local cluster, loading one into a `kube::Config`.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::ClusterError;

/// Renders a kubeconfig with one cluster, one user (client certificate) and one context,
/// all named `name`, with the certificates embedded.
pub fn render(name: &str, server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {name}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: {name}
    namespace: default
current-context: {name}
",
        ca = STANDARD.encode(ca_pem),
        cert = STANDARD.encode(cert_pem),
        key = STANDARD.encode(key_pem),
    )
}

/// Renders a kubeconfig with one cluster at a plain-HTTP loopback `server` and no
/// credentials (the server adds them): what the operator under test gets when kanon's
/// fault proxy stands between it and the API server.
pub fn render_plain(name: &str, server: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: {server}
users:
- name: {name}
  user: {{}}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: {name}
    namespace: default
current-context: {name}
"
    )
}

/// Writes `text` to `path` readable by the owner only (it holds a private key).
pub fn write_private(path: &Path, text: &str) -> Result<(), ClusterError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| ClusterError::io(path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| ClusterError::io(path, e))
}

/// Loads `path` (and `context`, else the current one) into a client configuration.
pub async fn load(path: &Path, context: Option<&str>) -> Result<kube::Config, ClusterError> {
    let kubeconfig = Kubeconfig::read_from(path)
        .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?;
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))
}

/// Writes a copy of the kubeconfig at `src` to `dest` whose current context is
/// `context` (else `src`'s current one) and defaults to `namespace`: what scripts of a
/// scenario get as `KUBECONFIG`, so `kubectl` without `-n` acts in the scenario's
/// namespace of the cluster the script runs against.
pub fn write_with_namespace(
    src: &Path,
    dest: &Path,
    context: Option<&str>,
    namespace: &str,
) -> Result<(), ClusterError> {
    let mut kubeconfig = Kubeconfig::read_from(src)
        .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", src.display())))?;
    if let Some(c) = context {
        kubeconfig.current_context = Some(c.to_string());
    }
    let current = kubeconfig.current_context.clone();
    let mut found = false;
    for ctx in &mut kubeconfig.contexts {
        if Some(&ctx.name) == current.as_ref()
            && let Some(c) = ctx.context.as_mut()
        {
            c.namespace = Some(namespace.to_string());
            found = true;
        }
    }
    if !found {
        return Err(ClusterError::Kubeconfig(format!(
            "{}: no context {} to set the namespace on",
            src.display(),
            current.as_deref().unwrap_or("(current)")
        )));
    }
    let text = serde_json::to_string_pretty(&kubeconfig)
        .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", dest.display())))?;
    write_private(dest, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rendered_kubeconfig_loads() {
        let pki = super::super::pki::ClusterPki::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        let text = render(
            "kanon",
            "https://127.0.0.1:6443",
            &pki.ca_cert,
            &pki.admin_cert,
            &pki.admin_key,
        );
        write_private(&path, &text).unwrap();
        let config = load(&path, None).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://127.0.0.1:6443/");
        assert_eq!(config.default_namespace, "default");
        let err = load(&path, Some("nope")).await.unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let scoped = dir.path().join("scoped");
        write_with_namespace(&path, &scoped, None, "scenario-ns").unwrap();
        let named = dir.path().join("named");
        write_with_namespace(&path, &named, Some("kanon"), "other-ns").unwrap();
        assert_eq!(
            load(&named, None).await.unwrap().default_namespace,
            "other-ns"
        );
        let err = write_with_namespace(&path, &named, Some("nope"), "ns").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let scoped_config = load(&scoped, None).await.unwrap();
        assert_eq!(scoped_config.default_namespace, "scenario-ns");
        assert_eq!(scoped_config.cluster_url, config.cluster_url);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn plain_kubeconfig_loads_without_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        write_private(&path, &render_plain("proxy", "http://127.0.0.1:8080")).unwrap();
        let config = load(&path, None).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:8080/");
        assert!(config.auth_info.token.is_none());
        assert!(config.auth_info.client_certificate_data.is_none());
        // kube-rs builds a client for a plain-http server.
        kube::Client::try_from(config).unwrap();
    }
}
