//! Fault injection: what a scenario's `disrupt` operation can do to the operator under
//! test and to the cluster (contract clauses REC-2 and REC-3).
//!
//! - [`proxy`]: the API fault proxy between the operator kanon started and the API
//!   server: failed writes (409, 429, 500, 503) and outages (connections cut, new ones
//!   refused), each bounded in time;
//! - [`plan`]: the pure rules behind it (which write fails, the metav1.Status body, the
//!   counters);
//! - [`session`]: one scenario's view: what it may disrupt, the counters since it
//!   started (`$faults`), and lifting every fault when it ends.
//!
//! [`Capabilities`] says what a run can disrupt: the operator's API traffic only when
//! kanon started the operator (behind the proxy), an API server restart only on a local
//! cluster. A scenario that needs more is reported skipped with the reason.

pub mod plan;
pub mod proxy;
pub mod session;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use plan::FaultCounts;
pub use proxy::FaultProxy;
pub use session::FaultSession;

/// Why the fault proxy could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// No loopback port.
    #[error("the fault proxy cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// The cluster credentials are of a kind the proxy cannot forward.
    #[error(
        "the fault proxy cannot forward these credentials: {0}; use a kubeconfig with a client certificate or a token"
    )]
    UnsupportedAuth(String),
    /// The upstream connection could not be set up.
    #[error("the fault proxy cannot reach the API server: {0}")]
    Upstream(String),
    /// The proxy's kubeconfig could not be written.
    #[error("the fault proxy's kubeconfig: {0}")]
    Kubeconfig(String),
}

/// Restarts the API server of a cluster kanon runs itself.
pub trait ApiServerControl: Send + Sync {
    /// Stops the API server, starts it again on the same port and storage, and returns
    /// once it is ready.
    fn restart_apiserver(&self) -> BoxFuture<'_, Result<(), String>>;
}

impl ApiServerControl for crate::cluster::LocalCluster {
    fn restart_apiserver(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            crate::cluster::LocalCluster::restart_apiserver(self)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl ApiServerControl for crate::cluster::Cluster {
    fn restart_apiserver(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            match self {
                crate::cluster::Cluster::Local(c) => {
                    c.restart_apiserver().await.map_err(|e| e.to_string())
                }
                _ => Err("only a local cluster's API server can be restarted".into()),
            }
        })
    }
}

/// What a run can disrupt. The default disrupts nothing.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// The proxy the operator under test talks through; `None` when kanon did not start
    /// the operator (or the proxy could not start: see `proxy_unavailable`).
    pub proxy: Option<Arc<FaultProxy>>,
    /// Why there is no proxy, for skip reasons.
    pub proxy_unavailable: Option<String>,
    /// The cluster's API server, when kanon runs it (a local cluster).
    pub apiserver: Option<Arc<dyn ApiServerControl>>,
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("proxy", &self.proxy)
            .field("proxy_unavailable", &self.proxy_unavailable)
            .field("apiserver", &self.apiserver.is_some())
            .finish()
    }
}

impl Capabilities {
    /// Why `target` cannot be disrupted in this run, or `None` when it can.
    pub fn missing(&self, target: crate::scenario::DisruptTarget) -> Option<String> {
        use crate::scenario::DisruptTarget;
        match target {
            DisruptTarget::OperatorApi if self.proxy.is_none() => Some(
                self.proxy_unavailable.clone().unwrap_or_else(|| {
                    "operatorApi disruptions need an operator kanon starts (--operator-cmd or the suite's operator), so its API traffic goes through kanon's fault proxy".into()
                }),
            ),
            DisruptTarget::ApiServer if self.apiserver.is_none() => Some(
                "apiServer disruptions need a cluster kanon runs itself (--cluster local)".into(),
            ),
            _ => None,
        }
    }
}
