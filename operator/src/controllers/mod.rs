//! The controllers: one per kind, the two config kinds sharing [`config`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// The operator's last write to each object, with the resourceVersion the watch cache
/// showed just before it. A reconcile that runs before the cache has caught up with that
/// write (often: the write's own watch event of another kind triggers it) sees the same
/// resourceVersion, and compares with what was written instead of sending the same write
/// again. Entries are trusted for [`Self::TTL`] only; a cache is never that far behind.
pub(crate) struct LastWrites<T> {
    entries: Mutex<HashMap<String, LastWrite<T>>>,
}

struct LastWrite<T> {
    cached_version: Option<String>,
    at: Instant,
    written: T,
}

impl<T> Default for LastWrites<T> {
    fn default() -> Self {
        LastWrites {
            entries: Mutex::default(),
        }
    }
}

impl<T: Clone> LastWrites<T> {
    const TTL: Duration = Duration::from_secs(60);
    /// Entry count above which expired entries are dropped on the next record.
    const PRUNE_ABOVE: usize = 256;

    /// What was last written to `key`, if the cache still shows the resourceVersion it had
    /// before that write (the cache has not caught up yet).
    pub(crate) fn pending(&self, key: &str, cached_version: Option<&str>) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|e| e.cached_version.as_deref() == cached_version)
            .filter(|e| e.at.elapsed() < Self::TTL)
            .map(|e| e.written.clone())
    }

    /// Remember a write to `key` made when the cache showed `cached_version`.
    pub(crate) fn record(&self, key: String, cached_version: Option<String>, written: T) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() > Self::PRUNE_ABOVE {
            entries.retain(|_, e| e.at.elapsed() < Self::TTL);
        }
        entries.insert(
            key,
            LastWrite {
                cached_version,
                at: Instant::now(),
                written,
            },
        );
    }
}

/// A child write the operator made: a hash of the desired object as sent, and the object
/// the API server returned when the write created it (without managed fields; when the
/// object existed, the cached copy stands in until the cache catches up).
pub(crate) type AppliedChild<K> = (u64, Option<Arc<K>>);

fn value_hash(value: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    hasher.finish()
}

/// Server-side apply `desired` unless the cached object already has everything it says
/// (REC-1: no write when nothing changed), or the same write was just made and the cache
/// has not caught up with it yet. Returns the object as it now is (as far as its status
/// goes: an apply does not change the status).
pub(crate) async fn apply_if_changed<K>(
    api: &Api<K>,
    cache: &Store<K>,
    last_writes: &LastWrites<AppliedChild<K>>,
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
    let namespace = desired.namespace().unwrap_or_default();
    let key = ObjectRef::<K>::new(&name).within(&namespace);
    let desired_value = serde_json::to_value(desired)?;
    let current = cache.get(&key);
    if let Some(current) = &current
        && is_subset(&desired_value, &serde_json::to_value(current.as_ref())?)
    {
        return Ok(current.clone());
    }
    let cached_version = current
        .as_ref()
        .and_then(|c| c.meta().resource_version.clone());
    let memo_key = format!("{namespace}/{name}");
    let desired_hash = value_hash(&desired_value);
    if let Some((written, created)) = last_writes.pending(&memo_key, cached_version.as_deref())
        && written == desired_hash
        && let Some(object) = created.or_else(|| current.clone())
    {
        return Ok(object);
    }
    let mut applied = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(desired),
        )
        .await?;
    applied.meta_mut().managed_fields = None;
    let applied = Arc::new(applied);
    let created = current.is_none().then(|| applied.clone());
    last_writes.record(memo_key, cached_version, (desired_hash, created));
    Ok(applied)
}

/// Objects the controllers' unit tests share.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::api::{MCPServer, MCPServerSpec, TelemetryConfigRef};

    /// An MCPServer in `namespace` referencing the telemetry config `reference`, if any.
    pub fn server(namespace: &str, name: &str, reference: Option<&str>) -> MCPServer {
        let mut server = MCPServer::new(
            name,
            MCPServerSpec {
                image: "img".into(),
                transport: Default::default(),
                proxy_port: 8080,
                telemetry: None,
                telemetry_config_ref: reference.map(|r| TelemetryConfigRef {
                    name: r.into(),
                    service_name: None,
                }),
                webhook_config_ref: None,
            },
        );
        server.metadata.namespace = Some(namespace.into());
        server
    }
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
    fn a_last_write_counts_only_while_the_cache_shows_the_version_before_it() {
        let writes = LastWrites::<u32>::default();
        assert_eq!(writes.pending("a", Some("1")), None);
        writes.record("a".into(), Some("1".into()), 7);
        assert_eq!(writes.pending("a", Some("1")), Some(7));
        // The cache caught up (or someone else wrote): compare with the cache again.
        assert_eq!(writes.pending("a", Some("2")), None);
        assert_eq!(writes.pending("b", Some("1")), None);
        // Created by the write: the cache showed nothing before it.
        writes.record("c".into(), None, 9);
        assert_eq!(writes.pending("c", None), Some(9));
        assert_eq!(writes.pending("c", Some("5")), None);
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
