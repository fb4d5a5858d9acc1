//! Operations: what a step does to, or asks of, the cluster. One file per operation.
//!
//! Operations work on plain JSON objects (already templated by the engine) and report
//! typed outcomes; they know nothing of the scenario file format. The engine turns the
//! scenario model into calls here, decides timeouts, and owns cleanup order: every
//! object an operation *creates* is recorded in [`OpEnv::created`], and the engine
//! deletes them in reverse order at the end of the scenario.
//!
//! Everything that waits is watch-driven (see [`crate::k8s::watch`]).

pub mod apply;
pub mod assert;
pub mod command;
pub mod delete;
pub mod diagnostics;
pub mod jsonpath;
pub mod patch;
pub mod proxy;
pub mod wait;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, DynamicObject};
use serde_json::Value;

use crate::k8s::discovery::ResolveError;
use crate::k8s::watch::WatchError;
use crate::k8s::{Resolved, Resolver, WatchHub};

/// The field manager kanon applies with.
pub const FIELD_MANAGER: &str = "kanon";

/// What every operation of one scenario shares.
#[derive(Clone)]
pub struct OpEnv {
    /// Admin client.
    pub client: kube::Client,
    /// Kind resolution.
    pub resolver: Arc<Resolver>,
    /// Shared watchers.
    pub hub: Arc<WatchHub>,
    /// The scenario's namespace, injected into namespaced objects that name none.
    pub namespace: String,
    /// Kubeconfig for processes (scripts, commands).
    pub kubeconfig: PathBuf,
    /// Objects created by this scenario, in creation order.
    pub created: Arc<Mutex<Vec<ObjectRef>>>,
}

impl std::fmt::Debug for OpEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpEnv")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Identifies one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{} {ns}/{}", self.api_version, self.kind, self.name),
            None => write!(f, "{}/{} {}", self.api_version, self.kind, self.name),
        }
    }
}

/// Errors of operations (assertion mismatches are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The object lacks `apiVersion`, `kind` or (where needed) `metadata.name`.
    #[error("invalid object: {0}")]
    InvalidObject(String),
    /// The kind is not served.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The watch did not sync.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The API server refused.
    #[error("{action} {object}: {}", crate::k8s::error::describe(source))]
    Api {
        /// What was attempted (`apply`, `delete` ...).
        action: &'static str,
        /// The object.
        object: String,
        /// The server's answer.
        source: kube::Error,
    },
    /// Something did not happen in time.
    #[error("{what}: not within {timeout:?}{}", last.as_deref().map(|l| format!("; last state: {l}")).unwrap_or_default())]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline.
        timeout: Duration,
        /// The last observed state.
        last: Option<String>,
    },
    /// A process could not be run.
    #[error("{0}")]
    Process(String),
}

/// The parts of an object every operation needs, validated.
#[derive(Debug, Clone)]
pub struct Target {
    /// Kind resolution.
    pub resolved: Resolved,
    /// Namespace (injected when the kind is namespaced and the object names none).
    pub namespace: Option<String>,
    /// `metadata.name`, when given.
    pub name: Option<String>,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
}

impl Target {
    /// The dynamic API for this target's kind and namespace.
    pub fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.resolved.resource),
            None => Api::all_with(client.clone(), &self.resolved.resource),
        }
    }

    /// A reference to the named object (`name` required).
    pub fn object_ref(&self) -> Result<ObjectRef, OpError> {
        Ok(ObjectRef {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone().ok_or_else(|| {
                OpError::InvalidObject(format!("{} without metadata.name", self.kind))
            })?,
        })
    }
}

/// Reads `apiVersion` / `kind` / `metadata.{name,namespace}` of `obj`.
pub fn identity(obj: &Value) -> Result<(String, String, Option<String>, Option<String>), OpError> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let api_version = obj
        .get("apiVersion")
        .and_then(s)
        .ok_or_else(|| OpError::InvalidObject("missing apiVersion".into()))?;
    let kind = obj
        .get("kind")
        .and_then(s)
        .ok_or_else(|| OpError::InvalidObject("missing kind".into()))?;
    let meta = obj.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(s);
    let namespace = meta.and_then(|m| m.get("namespace")).and_then(s);
    Ok((api_version, kind, name, namespace))
}

impl OpEnv {
    /// An environment acting in `namespace` of the cluster `client` talks to, with
    /// `kubeconfig` for processes and nothing created yet.
    pub fn new(
        client: kube::Client,
        resolver: Arc<Resolver>,
        hub: Arc<WatchHub>,
        namespace: impl Into<String>,
        kubeconfig: impl Into<PathBuf>,
    ) -> Self {
        Self {
            client,
            resolver,
            hub,
            namespace: namespace.into(),
            kubeconfig: kubeconfig.into(),
            created: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// [`OpEnv::new`] with a resolver and a watch hub of its own for `client`; share them
    /// (`env.resolver`, `env.hub`) with whatever else talks to the same cluster.
    pub fn connect(
        client: kube::Client,
        namespace: impl Into<String>,
        kubeconfig: impl Into<PathBuf>,
    ) -> Self {
        let resolver = Arc::new(Resolver::new(client.clone()));
        let hub = Arc::new(WatchHub::new(client.clone()));
        Self::new(client, resolver, hub, namespace, kubeconfig)
    }

    /// Resolves `obj`'s kind and namespace (the scenario's namespace when the kind is
    /// namespaced and the object names none; none for cluster-scoped kinds).
    pub async fn target(&self, obj: &Value) -> Result<Target, OpError> {
        let (api_version, kind, name, namespace) = identity(obj)?;
        let resolved = self.resolver.resolve(&api_version, &kind).await?;
        let namespace = if resolved.namespaced {
            Some(namespace.unwrap_or_else(|| self.namespace.clone()))
        } else {
            None
        };
        Ok(Target {
            resolved,
            namespace,
            name,
            api_version,
            kind,
        })
    }

    /// Resolves a kind named by `api_version` / `kind` in `namespace` (the scenario's
    /// when the kind is namespaced and none is given), without an object.
    pub async fn kind_target(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Target, OpError> {
        let mut probe = serde_json::json!({"apiVersion": api_version, "kind": kind});
        if let Some(ns) = namespace {
            probe["metadata"] = serde_json::json!({"namespace": ns});
        }
        self.target(&probe).await
    }

    /// Subscribes to the shared watcher of `target`'s kind and namespace.
    pub async fn watch(
        &self,
        target: &Target,
        sync_timeout: Duration,
    ) -> Result<crate::k8s::Subscription, OpError> {
        Ok(self
            .hub
            .subscribe(
                &target.resolved.resource,
                target.namespace.as_deref(),
                sync_timeout,
            )
            .await?)
    }

    /// Records an object this scenario created, for cleanup.
    pub fn record_created(&self, r: ObjectRef) {
        if let Ok(mut created) = self.created.lock()
            && !created.contains(&r)
        {
            created.push(r);
        }
    }

    /// Forgets an object (it was deleted by the scenario itself).
    pub fn forget_created(&self, r: &ObjectRef) {
        if let Ok(mut created) = self.created.lock() {
            created.retain(|c| c != r);
        }
    }
}

/// Sets `metadata.namespace` on `obj` when `namespace` is given.
pub fn with_namespace(mut obj: Value, namespace: Option<&str>) -> Value {
    if let (Some(ns), Some(map)) = (namespace, obj.as_object_mut()) {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("namespace".into(), Value::String(ns.to_string()));
        }
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_reads_the_four_fields() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "b"}});
        let (av, k, n, ns) = identity(&obj).unwrap();
        assert_eq!((av.as_str(), k.as_str()), ("v1", "ConfigMap"));
        assert_eq!((n.as_deref(), ns.as_deref()), (Some("a"), Some("b")));
        assert!(
            identity(&json!({"kind": "X"}))
                .unwrap_err()
                .to_string()
                .contains("apiVersion")
        );
        assert!(
            identity(&json!({"apiVersion": "v1"}))
                .unwrap_err()
                .to_string()
                .contains("kind")
        );
    }

    #[test]
    fn namespace_is_injected_or_left_alone() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert_eq!(
            with_namespace(obj.clone(), Some("ns"))["metadata"]["namespace"],
            "ns"
        );
        assert_eq!(with_namespace(obj.clone(), None), obj);
    }
}
