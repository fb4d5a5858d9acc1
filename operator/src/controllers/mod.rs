//! The controllers: one per kind, the two config kinds sharing [`config`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Result};

pub mod config;
pub mod mcp_server;
pub mod telemetry_config;
mod watch;
pub mod webhook_config;

/// Field manager of every server-side apply the operator makes.
pub const MANAGER: &str = "mcp-operator";

/// How long a reconcile waits for a watch cache's initial list before giving up.
const CACHE_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Wait until `store` has finished its initial list.
pub(crate) async fn wait_ready<K>(store: &Store<K>, what: &'static str) -> Result<()>
where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    match tokio::time::timeout(CACHE_READY_TIMEOUT, store.wait_until_ready()).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Error::CacheNotReady(what)),
    }
}

/// Per-object exponential backoff for failed reconciles: 500 ms doubling up to 1 min,
/// reset by the next success.
#[derive(Default)]
pub(crate) struct ErrorBackoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl ErrorBackoff {
    const BASE: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);

    fn key<K: Resource>(obj: &K) -> String {
        format!(
            "{}/{}",
            obj.meta().namespace.as_deref().unwrap_or_default(),
            obj.meta().name.as_deref().unwrap_or_default()
        )
    }

    /// Record a failure and return how long to wait before the next attempt.
    pub(crate) fn next_delay<K: Resource>(&self, obj: &K) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let count = failures.entry(Self::key(obj)).or_insert(0);
        let delay = Self::BASE.saturating_mul(1u32 << (*count).min(16));
        *count = count.saturating_add(1);
        delay.min(Self::MAX)
    }

    /// Forget the failures of `obj` after a successful reconcile.
    pub(crate) fn reset<K: Resource>(&self, obj: &K) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&Self::key(obj));
    }

    /// The error policy shared by all controllers: log, count and requeue with backoff.
    pub(crate) fn error_policy<K: Resource>(
        &self,
        obj: &K,
        error: &Error,
        controller: &'static str,
        metrics: &crate::metrics::Metrics,
    ) -> Action {
        metrics.reconcile_failed(controller, error);
        let delay = self.next_delay(obj);
        tracing::warn!(
            controller,
            namespace = obj.meta().namespace.as_deref().unwrap_or_default(),
            name = obj.meta().name.as_deref().unwrap_or_default(),
            error = %error,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "reconcile failed"
        );
        Action::requeue(delay)
    }
}

/// Whether every field of `desired` is present in `actual` with the same value. Objects
/// match key by key, arrays element by element with equal lengths (so a removed entry is
/// noticed), and an empty array or object matches a missing one. Fields that only `actual`
/// has (defaults, server-populated fields) do not matter.
pub fn is_subset(desired: &Value, actual: &Value) -> bool {
    match (desired, actual) {
        (Value::Object(want), Value::Object(have)) => {
            want.iter().all(|(key, value)| match have.get(key) {
                Some(other) => is_subset(value, other),
                None => is_empty(value),
            })
        }
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(a, b)| is_subset(a, b))
        }
        (want, Value::Null) => is_empty(want),
        (want, have) => want == have,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Server-side apply `desired` unless the cached object already has everything it says
/// (REC-1: no write when nothing changed). Returns the object as it now is.
pub(crate) async fn apply_if_changed<K>(
    api: &Api<K>,
    cache: &Store<K>,
    desired: &K,
) -> Result<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let name = desired
        .meta()
        .name
        .clone()
        .ok_or(Error::MissingField("metadata.name"))?;
    let key = ObjectRef::<K>::new(&name).within(desired.namespace().as_deref().unwrap_or_default());
    if let Some(current) = cache.get(&key)
        && is_subset(
            &serde_json::to_value(desired)?,
            &serde_json::to_value(current.as_ref())?,
        )
    {
        return Ok(current);
    }
    let applied = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(desired),
        )
        .await?;
    Ok(Arc::new(applied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(json!({"a": 1}), json!({"a": 1, "b": 2}), true)]
    #[case(json!({"a": 1}), json!({"a": 2}), false)]
    #[case(json!({"a": {"x": [1, 2]}}), json!({"a": {"x": [1, 2], "y": 0}}), true)]
    #[case(json!({"env": [{"name": "A"}]}), json!({"env": [{"name": "A"}, {"name": "B"}]}), false)]
    #[case(json!({"env": []}), json!({}), true)]
    #[case(json!({"env": [{"name": "A"}]}), json!({}), false)]
    #[case(json!({"ports": [{"port": 80}]}), json!({"ports": [{"port": 80, "protocol": "TCP"}]}), true)]
    #[case(json!({"labels": {"a": "b"}}), json!({"labels": {"a": "b", "c": "d"}}), true)]
    fn subset(#[case] desired: Value, #[case] actual: Value, #[case] expected: bool) {
        assert_eq!(is_subset(&desired, &actual), expected);
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let backoff = ErrorBackoff::default();
        let cm = k8s_openapi::api::core::v1::ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some("a".into()),
                namespace: Some("n".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(backoff.next_delay(&cm), Duration::from_millis(500));
        assert_eq!(backoff.next_delay(&cm), Duration::from_secs(1));
        assert_eq!(backoff.next_delay(&cm), Duration::from_secs(2));
        for _ in 0..20 {
            backoff.next_delay(&cm);
        }
        assert_eq!(backoff.next_delay(&cm), Duration::from_secs(60));
        backoff.reset(&cm);
        assert_eq!(backoff.next_delay(&cm), Duration::from_millis(500));
    }
}
