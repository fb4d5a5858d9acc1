//! `delete`: delete objects by name or label selector and wait until they are gone.

use std::time::Duration;

use kube::api::{DeleteParams, ListParams, PropagationPolicy};
use tokio::time::Instant;

use super::{ObjectRef, OpEnv, OpError};
use crate::k8s::{WaitOutcome, wait_for};

/// What to delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteSpec {
    /// `apiVersion` of the kind.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// One object by name ...
    pub name: Option<String>,
    /// ... or every object matching this label selector.
    pub selector: Option<String>,
    /// Namespace (the scenario's when the kind is namespaced and none is given).
    pub namespace: Option<String>,
    /// `Background` (Kubernetes' default), `Foreground` or `Orphan`.
    pub propagation: Option<PropagationPolicy>,
}

/// Deletes what `spec` names and waits, watch-driven, until every deleted object is gone
/// (finalizers done). A missing object is not an error. Returns what was deleted.
pub async fn delete(
    env: &OpEnv,
    spec: &DeleteSpec,
    timeout: Duration,
) -> Result<Vec<ObjectRef>, OpError> {
    request_deletion(env, spec).await?.wait(env, timeout).await
}

/// Deletions requested but perhaps not finished (finalizers may still run).
#[derive(Debug)]
pub struct PendingDeletion {
    target: super::Target,
    kind: String,
    /// The name and uid of each object whose deletion was accepted.
    pending: Vec<(String, String)>,
    deleted: Vec<ObjectRef>,
}

/// Sends the deletes of what `spec` names without waiting for them to finish, so several
/// deletions (say a scenario's cleanup) can be in flight at once: an object whose
/// finalizer waits for another one's deletion does not hold that one up.
pub async fn request_deletion(env: &OpEnv, spec: &DeleteSpec) -> Result<PendingDeletion, OpError> {
    let target = env
        .kind_target(&spec.api_version, &spec.kind, spec.namespace.as_deref())
        .await?;
    let api = target.api(&env.client);
    let api_err = |object: String| {
        move |source| OpError::Api {
            action: "delete",
            object,
            source,
        }
    };
    let names: Vec<String> = match (&spec.name, &spec.selector) {
        (Some(n), _) => vec![n.clone()],
        (None, sel) => {
            let lp = ListParams {
                label_selector: sel.clone(),
                ..Default::default()
            };
            api.list_metadata(&lp)
                .await
                .map_err(api_err(format!("{} list", spec.kind)))?
                .items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect()
        }
    };
    let dp = DeleteParams {
        propagation_policy: spec.propagation.clone(),
        ..Default::default()
    };
    let mut deleted = Vec::new();
    let mut pending = Vec::new();
    for name in names {
        let r = ObjectRef {
            api_version: spec.api_version.clone(),
            kind: spec.kind.clone(),
            namespace: target.namespace.clone(),
            name: name.clone(),
        };
        match api.delete(&name, &dp).await {
            Ok(either) => {
                if let Some(uid) = either.left().and_then(|o| o.metadata.uid) {
                    pending.push((name.clone(), uid));
                }
                env.forget_created(&r);
                deleted.push(r);
            }
            Err(kube::Error::Api(e)) if e.code == 404 => env.forget_created(&r),
            Err(e) => return Err(api_err(r.to_string())(e)),
        }
    }
    Ok(PendingDeletion {
        target,
        kind: spec.kind.clone(),
        pending,
        deleted,
    })
}

impl PendingDeletion {
    /// Waits, watch-driven, until every object deleted is gone; returns them. The
    /// shared watch decides while it keeps up; when it cannot catch up with the API
    /// server, or at the deadline, the objects are read directly, so a deletion that
    /// finished is never reported as hanging because a watch lagged.
    pub async fn wait(self, env: &OpEnv, timeout: Duration) -> Result<Vec<ObjectRef>, OpError> {
        if self.pending.is_empty() {
            return Ok(self.deleted);
        }
        let deadline = Instant::now() + timeout;
        let uids: Vec<&str> = self.pending.iter().map(|(_, u)| u.as_str()).collect();
        let outcome = match env.watch(&self.target, timeout).await {
            Ok(mut sub) => {
                wait_for(&mut sub, deadline, |objs| {
                    let left: Vec<String> = objs
                        .iter()
                        .filter(|o| o.metadata.uid.as_deref().is_some_and(|u| uids.contains(&u)))
                        .map(|o| o.metadata.name.clone().unwrap_or_default())
                        .collect();
                    if left.is_empty() { Ok(()) } else { Err(left) }
                })
                .await
            }
            Err(e) => match self.still_present(env).await {
                Ok(left) if left.is_empty() => return Ok(self.deleted),
                _ => return Err(e),
            },
        };
        match outcome {
            WaitOutcome::Passed(()) => Ok(self.deleted),
            WaitOutcome::TimedOut(watched) => {
                let left = self.still_present(env).await.unwrap_or(watched);
                if left.is_empty() {
                    return Ok(self.deleted);
                }
                Err(OpError::Timeout {
                    what: format!("deletion of {} {}", self.kind, left.join(", ")),
                    timeout,
                    last: Some("still present (finalizers?)".into()),
                })
            }
        }
    }

    /// The names of the deleted objects still there, read from the API server itself.
    async fn still_present(&self, env: &OpEnv) -> Result<Vec<String>, kube::Error> {
        let api = self.target.api(&env.client);
        let mut left = Vec::new();
        for (name, uid) in &self.pending {
            if let Some(o) = api.get_opt(name).await?
                && o.metadata.uid.as_deref() == Some(uid.as_str())
            {
                left.push(name.clone());
            }
        }
        Ok(left)
    }
}
