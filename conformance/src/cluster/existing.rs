//! The existing provider: a cluster someone else made, named by a kubeconfig.
//!
//! kanon only ever deletes what it created there (its per-scenario namespaces and the
//! objects its scenarios applied); the cluster itself is never touched.

use std::path::{Path, PathBuf};

use super::{ClusterError, kubeconfig};

/// A cluster reached through a kubeconfig file (and optional context).
#[derive(Debug, Clone)]
pub struct ExistingCluster {
    kubeconfig_path: PathBuf,
    context: Option<String>,
    config: kube::Config,
}

impl ExistingCluster {
    /// Loads `path` (the `KUBECONFIG` variable's first entry, else `~/.kube/config`,
    /// when `None`) with `context` (else the current context).
    pub async fn connect(path: Option<&Path>, context: Option<&str>) -> Result<Self, ClusterError> {
        let kubeconfig_path = match path {
            Some(p) => p.to_path_buf(),
            None => default_kubeconfig_path().ok_or_else(|| {
                ClusterError::Kubeconfig(
                    "no kubeconfig given, KUBECONFIG is unset and ~/.kube/config does not exist"
                        .into(),
                )
            })?,
        };
        let config = kubeconfig::load(&kubeconfig_path, context).await?;
        Ok(Self {
            kubeconfig_path,
            context: context.map(str::to_string),
            config,
        })
    }

    /// A new client bound to the current tokio runtime.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        Ok(crate::k8s::warnings::client(self.config.clone())?)
    }

    /// The kubeconfig file.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The context in use, when one was named.
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }
}

/// `KUBECONFIG`'s first entry, else `~/.kube/config` when it exists.
pub fn default_kubeconfig_path() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty())
    {
        return Some(first);
    }
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".kube").join("config");
    p.is_file().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_file_is_a_clear_error() {
        let err = ExistingCluster::connect(Some(Path::new("/nonexistent/kubeconfig")), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");
    }
}
