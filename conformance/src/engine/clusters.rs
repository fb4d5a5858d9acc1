//! The other clusters of multi-cluster scenarios (Chainsaw's multi-cluster tests):
//! `clusters` registries on the scenario, a step or an operation, and `cluster:` names
//! resolved to their innermost declaration (see [`crate::scenario::find_cluster`]).
//!
//! [`ClusterPool`] holds one connection (client, kind resolver, watch hub, lookup for
//! `x_k8s_*` functions) per kubeconfig and context, made the first time a scenario of
//! the run names that cluster and shared by every later one. [`ScenarioClusters`] is
//! one scenario's view, also one use per kubeconfig and context (whatever name, at
//! whatever level, led there): the first operation that runs against a cluster creates the
//! scenario's namespace there and a kubeconfig for its scripts; at the end the objects
//! created there and that namespace are deleted from it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::kubeconfig;
use crate::engine::lookup::KubeLookup;
use crate::expr::ClusterLookup;
use crate::k8s::{Resolver, WatchHub};
use crate::ops::OpEnv;
use crate::scenario::ClusterDef;

/// A connection to one cluster of a run.
pub struct ClusterConn {
    /// Admin client.
    pub client: kube::Client,
    /// Kind resolution.
    pub resolver: Arc<Resolver>,
    /// Shared watchers.
    pub hub: Arc<WatchHub>,
    /// Cluster reads for `x_k8s_*` expression functions.
    pub lookup: Arc<dyn ClusterLookup>,
    /// The kubeconfig file.
    pub kubeconfig: PathBuf,
    /// The context in use (none: the kubeconfig's current one).
    pub context: Option<String>,
}

type PoolKey = (PathBuf, Option<String>);

/// The connections of a run to the clusters its scenarios name, by kubeconfig and
/// context, each made once, when first needed.
#[derive(Default)]
pub struct ClusterPool {
    conns: tokio::sync::Mutex<HashMap<PoolKey, Arc<ClusterConn>>>,
}

impl std::fmt::Debug for ClusterPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterPool").finish_non_exhaustive()
    }
}

impl ClusterPool {
    /// The connection to the cluster `def` names, made on first use.
    pub async fn connect(&self, def: &ClusterDef) -> Result<Arc<ClusterConn>, String> {
        let key = (def.kubeconfig.clone(), def.context.clone());
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(&key) {
            return Ok(c.clone());
        }
        let what = || {
            format!(
                "cluster {:?} ({}{})",
                def.name,
                def.kubeconfig.display(),
                def.context
                    .as_deref()
                    .map(|c| format!(", context {c}"))
                    .unwrap_or_default()
            )
        };
        let config = kubeconfig::load(&def.kubeconfig, def.context.as_deref())
            .await
            .map_err(|e| format!("{}: {e}", what()))?;
        let client = crate::k8s::warnings::client(config.clone())
            .map_err(|e| format!("{}: {}", what(), crate::k8s::error::describe(&e)))?;
        let lookup =
            KubeLookup::start(config).map_err(|e| format!("{}: lookup thread: {e}", what()))?;
        let conn = Arc::new(ClusterConn {
            resolver: Arc::new(Resolver::new(client.clone())),
            hub: Arc::new(WatchHub::new(client.clone())),
            client,
            lookup: Arc::new(lookup),
            kubeconfig: def.kubeconfig.clone(),
            context: def.context.clone(),
        });
        conns.insert(key, conn.clone());
        Ok(conn)
    }
}

/// One scenario's use of another cluster.
#[derive(Clone)]
pub(crate) struct ClusterUse {
    /// Operations against it act through this.
    pub env: OpEnv,
    /// Its connection (watch hub, lookup).
    pub conn: Arc<ClusterConn>,
    /// Whether the scenario created its namespace there (and so deletes it).
    pub created_namespace: bool,
}

/// The other clusters one scenario has used so far, in first-use order: one use per
/// kubeconfig and context, whatever names (at whatever level: scenario, step,
/// operation) led to it.
#[derive(Default)]
pub(crate) struct ScenarioClusters {
    used: tokio::sync::Mutex<Vec<(PoolKey, String, ClusterUse)>>,
}

impl ScenarioClusters {
    /// The scenario's use of the cluster `def` declares, set up by `open` on first use;
    /// `open` gets a name for the use that no earlier use of the scenario has (the
    /// definition's name, suffixed when another definition took it).
    pub async fn get_or_open<F, Fut>(&self, def: &ClusterDef, open: F) -> Result<ClusterUse, String>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<ClusterUse, String>>,
    {
        let key = (def.kubeconfig.clone(), def.context.clone());
        let mut used = self.used.lock().await;
        if let Some((_, _, u)) = used.iter().find(|(k, _, _)| *k == key) {
            return Ok(u.clone());
        }
        let mut name = def.name.clone();
        let mut n = 1;
        while used.iter().any(|(_, used_name, _)| *used_name == name) {
            n += 1;
            name = format!("{}-{n}", def.name);
        }
        let u = open(name.clone()).await?;
        used.push((key, name, u.clone()));
        Ok(u)
    }

    /// Every cluster used, by the name of its use, in first-use order.
    pub async fn all(&self) -> Vec<(String, ClusterUse)> {
        self.used
            .lock()
            .await
            .iter()
            .map(|(_, name, u)| (name.clone(), u.clone()))
            .collect()
    }
}

/// Where the scenario's scripts find cluster `name`'s kubeconfig (namespace set).
pub(crate) fn scoped_kubeconfig(work_dir: &Path, namespace: &str, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    work_dir.join(format!("{namespace}.{safe}.kubeconfig"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_kubeconfigs_are_distinct_per_cluster_and_safe() {
        let dir = Path::new("/w");
        assert_eq!(
            scoped_kubeconfig(dir, "ns", "other"),
            PathBuf::from("/w/ns.other.kubeconfig")
        );
        assert_eq!(
            scoped_kubeconfig(dir, "ns", "a/b c"),
            PathBuf::from("/w/ns.a_b_c.kubeconfig")
        );
    }
}
