//! The k3s provider: a k3s server in a container via testcontainers.
//!
//! It needs a Docker daemon. The daemon is probed first (`/_ping` on `DOCKER_HOST` or
//! `/var/run/docker.sock`), so a machine without one gets an immediate, clear error that
//! suggests `--cluster local` instead of a long hang inside the container runtime client.
//!
//! Mock servers listen on the host's loopback; pods inside k3s reach the host through
//! the container's gateway address, not `127.0.0.1`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testcontainers::{ContainerAsync, ImageExt, runners::AsyncRunner};
use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ClusterError, kubeconfig};

/// The k3s image tag: the same Kubernetes minor as the local provider.
pub const K3S_TAG: &str = "v1.35.4-k3s1";

/// Where the Docker daemon is expected: `DOCKER_HOST`, else the default unix socket.
pub fn docker_endpoint() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// Checks that a Docker daemon answers `/_ping` at `endpoint` within two seconds.
pub async fn probe_docker(endpoint: &str) -> Result<(), ClusterError> {
    let unavailable = |detail: String| ClusterError::DockerUnavailable {
        endpoint: endpoint.to_string(),
        detail,
    };
    let request = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    let exchange = async {
        let mut buf = Vec::new();
        if let Some(path) = endpoint.strip_prefix("unix://") {
            let mut s = tokio::net::UnixStream::connect(path).await?;
            s.write_all(request).await?;
            s.read_to_end(&mut buf).await?;
        } else if let Some(addr) = endpoint.strip_prefix("tcp://") {
            let mut s = tokio::net::TcpStream::connect(addr).await?;
            s.write_all(request).await?;
            s.read_to_end(&mut buf).await?;
        } else {
            return Err(std::io::Error::other(format!(
                "unsupported DOCKER_HOST scheme in {endpoint}"
            )));
        }
        Ok::<_, std::io::Error>(buf)
    };
    match tokio::time::timeout(Duration::from_secs(2), exchange).await {
        Err(_) => Err(unavailable("no answer within 2s".into())),
        Ok(Err(e)) => Err(unavailable(e.to_string())),
        Ok(Ok(buf)) => {
            let text = String::from_utf8_lossy(&buf);
            if text.starts_with("HTTP/1.") && text.contains(" 200 ") {
                Ok(())
            } else {
                Err(unavailable(format!(
                    "unexpected answer: {}",
                    text.lines().next().unwrap_or("")
                )))
            }
        }
    }
}

/// A running k3s container. Dropping it removes the container.
pub struct K3sCluster {
    _container: ContainerAsync<K3s>,
    _conf_dir: tempfile::TempDir,
    kubeconfig_path: PathBuf,
    config: kube::Config,
}

impl std::fmt::Debug for K3sCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K3sCluster")
            .field("kubeconfig_path", &self.kubeconfig_path)
            .finish_non_exhaustive()
    }
}

impl K3sCluster {
    /// Probes Docker, starts k3s, rewrites its kubeconfig to the mapped API port.
    pub async fn start() -> Result<Self, ClusterError> {
        probe_docker(&docker_endpoint()).await?;
        let conf_dir = tempfile::Builder::new()
            .prefix("kanon-k3s-")
            .tempdir()
            .map_err(|e| ClusterError::io(&std::env::temp_dir(), e))?;
        let container = K3s::default()
            .with_conf_mount(conf_dir.path())
            .with_privileged(true)
            .with_userns_mode("host")
            .with_tag(K3S_TAG)
            .start()
            .await
            .map_err(|e| ClusterError::K3s(e.to_string()))?;
        let raw = container
            .image()
            .read_kube_config()
            .map_err(|e| ClusterError::K3s(format!("reading the k3s kubeconfig: {e}")))?;
        let port = container
            .get_host_port_ipv4(KUBE_SECURE_PORT)
            .await
            .map_err(|e| ClusterError::K3s(e.to_string()))?;
        let rewritten = rewrite_server_port(&raw, port);
        let kubeconfig_path = conf_dir.path().join("kubeconfig.kanon");
        kubeconfig::write_private(&kubeconfig_path, &rewritten)?;
        let config = kubeconfig::load(&kubeconfig_path, None).await?;
        Ok(Self {
            _container: container,
            _conf_dir: conf_dir,
            kubeconfig_path,
            config,
        })
    }

    /// A new client bound to the current tokio runtime.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        Ok(crate::k8s::warnings::client(self.config.clone())?)
    }

    /// Path of the rewritten kubeconfig.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }
}

/// Points every `server: https://<host>:6443` of a k3s kubeconfig at `127.0.0.1:<port>`.
pub fn rewrite_server_port(kubeconfig: &str, port: u16) -> String {
    kubeconfig
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed.strip_prefix("server:") {
                Some(_) => {
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}server: https://127.0.0.1:{port}")
                }
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_is_rewritten_to_mapped_port() {
        let raw = "clusters:\n- cluster:\n    certificate-authority-data: X\n    server: https://127.0.0.1:6443\n  name: default\n";
        let out = rewrite_server_port(raw, 32768);
        assert!(out.contains("    server: https://127.0.0.1:32768"));
        assert!(!out.contains("6443"));
        assert!(out.contains("certificate-authority-data: X"));
    }

    #[tokio::test]
    async fn probe_fails_fast_on_a_missing_socket() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("unix://{}", dir.path().join("docker.sock").display());
        let err = probe_docker(&endpoint).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("Docker"), "{msg}");
        assert!(msg.contains("--cluster local"), "{msg}");
        assert!(msg.contains(&endpoint), "{msg}");
    }
}
