//! Cluster providers: where scenarios run.
//!
//! - [`local`]: a real upstream control plane (etcd, kube-apiserver,
//!   kube-controller-manager, kube-scheduler, kwok) as child processes on loopback;
//!   binaries from envtest-style variables or built by [`install`] into kanon's cache.
//! - [`k3s`]: a k3s container via testcontainers, where a Docker daemon is reachable.
//! - [`existing`]: any kubeconfig; kanon deletes only what it created there.
//!
//! [`Cluster`] wraps the three behind one handle; dropping it tears down what kanon made.

pub mod assets;
pub mod existing;
pub mod install;
pub mod k3s;
pub mod kubeconfig;
pub mod local;
pub mod pki;
pub mod probe;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use existing::ExistingCluster;
pub use k3s::K3sCluster;
pub use local::{LocalCluster, LocalOptions};

/// Everything that can go wrong making or reaching a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// What was being read or written.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A component could not be started.
    #[error("cannot start {name} ({}): {detail}", program.display())]
    Spawn {
        /// Component name.
        name: String,
        /// The binary.
        program: PathBuf,
        /// Why.
        detail: String,
    },
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Pki(String),
    /// No usable Go toolchain to build the control plane with.
    #[error(
        "building the control plane needs the Go toolchain: {0}. Install Go 1.25 or newer (`apt-get install golang-go` where it is new enough, or the tarball from go.dev/dl) and put `go` on PATH, or point KUBEBUILDER_ASSETS / TEST_ASSET_<COMPONENT> at prebuilt binaries"
    )]
    GoMissing(String),
    /// Building the control plane failed.
    #[error("control-plane install failed at {step}: {detail}")]
    Install {
        /// The step (e.g. `go build (kube-apiserver)`).
        step: String,
        /// Go's output tail or the error.
        detail: String,
    },
    /// A component exited while it should be running.
    #[error("{component} exited ({status}); last log lines:\n{log}")]
    Exited {
        /// Component name.
        component: String,
        /// Exit status.
        status: String,
        /// The tail of its log.
        log: String,
    },
    /// Something did not become ready in time.
    #[error("{what} not ready after {timeout:?}; last log lines of {component}:\n{log}")]
    NotReady {
        /// What was awaited.
        what: String,
        /// The component whose log is shown.
        component: String,
        /// The deadline that passed.
        timeout: Duration,
        /// Its log tail.
        log: String,
    },
    /// A kubeconfig could not be read or used.
    #[error("kubeconfig {0}")]
    Kubeconfig(String),
    /// The Kubernetes API answered with an error.
    #[error("Kubernetes API: {}", crate::k8s::error::describe(.0))]
    Kube(#[from] kube::Error),
    /// `--cluster k3s` without a Docker daemon.
    #[error(
        "the k3s cluster needs a Docker daemon, and none answered at {endpoint} ({detail}); use `--cluster local` to run a local control plane without Docker"
    )]
    DockerUnavailable {
        /// Where Docker was looked for.
        endpoint: String,
        /// What happened.
        detail: String,
    },
    /// The k3s container failed.
    #[error("k3s: {0}")]
    K3s(String),
}

impl ClusterError {
    /// An I/O error about `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ClusterError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Which provider to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterKind {
    /// The local control plane (default when no kubeconfig is given).
    Local,
    /// A k3s container (needs Docker).
    K3s,
    /// An existing cluster from a kubeconfig.
    Existing,
}

/// A cluster of any provider.
#[derive(Debug)]
pub enum Cluster {
    /// A local control plane.
    Local(Box<LocalCluster>),
    /// A k3s container.
    K3s(Box<K3sCluster>),
    /// An existing cluster.
    Existing(Box<ExistingCluster>),
}

impl Cluster {
    /// Makes or finds a cluster. `kind` defaults to `existing` when a kubeconfig is given
    /// (or `KUBECONFIG` is set), else `local`.
    pub async fn provision(
        kind: Option<ClusterKind>,
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        local: LocalOptions,
    ) -> Result<Self, ClusterError> {
        let kind = kind.unwrap_or(
            if kubeconfig.is_some() || std::env::var_os("KUBECONFIG").is_some() {
                ClusterKind::Existing
            } else {
                ClusterKind::Local
            },
        );
        Ok(match kind {
            ClusterKind::Local => Cluster::Local(Box::new(LocalCluster::start_with(local).await?)),
            ClusterKind::K3s => Cluster::K3s(Box::new(K3sCluster::start().await?)),
            ClusterKind::Existing => Cluster::Existing(Box::new(
                ExistingCluster::connect(kubeconfig, context).await?,
            )),
        })
    }

    /// A new client bound to the current tokio runtime.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        match self {
            Cluster::Local(c) => c.client().await,
            Cluster::K3s(c) => c.client().await,
            Cluster::Existing(c) => c.client().await,
        }
    }

    /// The kubeconfig file for processes kanon starts (operators, scripts).
    pub fn kubeconfig_path(&self) -> &Path {
        match self {
            Cluster::Local(c) => c.kubeconfig_path(),
            Cluster::K3s(c) => c.kubeconfig_path(),
            Cluster::Existing(c) => c.kubeconfig_path(),
        }
    }

    /// Lets the cluster catch up with CRDs just installed where it can do so faster than
    /// by itself: a local control plane restarts its controller manager, so garbage
    /// collection covers the new kinds at once instead of after a 30-second resync.
    pub async fn crds_installed(&self) -> Result<(), ClusterError> {
        match self {
            Cluster::Local(c) => c.restart_controller_manager().await,
            Cluster::K3s(_) | Cluster::Existing(_) => Ok(()),
        }
    }

    /// Whether kanon created this cluster (and so may tear it down).
    pub fn is_owned(&self) -> bool {
        !matches!(self, Cluster::Existing(_))
    }
}
