//! Shared watchers and watch-driven waits.
//!
//! A [`WatchHub`] runs at most one watcher per (resource, namespace), feeding a
//! reflector store, and bumps a counter after every event has been applied to the
//! store. Waits subscribe to that counter: a check runs once at the start and then again
//! after each event, never on a timer. When the watch breaks, kube-runtime's watcher
//! re-lists with backoff, and the re-list itself is an event.
//!
//! Every subscription starts from a state at least as new as a consistent read taken
//! when it subscribes (see [`WatchHub::subscribe`]), so a check that follows a write
//! never judges the cache as it was before that write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::ApiResource;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch as tick;
use tokio::time::Instant;

/// Which objects a watcher covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    group: String,
    version: String,
    plural: String,
    namespace: Option<String>,
}

struct Entry {
    api: Api<DynamicObject>,
    store: Store<DynamicObject>,
    ticks: tick::Receiver<u64>,
    progress: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

/// One shared watcher per (resource, namespace); see the module docs.
pub struct WatchHub {
    client: kube::Client,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for WatchHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("WatchHub").field("watchers", &n).finish()
    }
}

/// A view of one watcher: its store and its event counter.
#[derive(Clone)]
pub struct Subscription {
    store: Store<DynamicObject>,
    ticks: tick::Receiver<u64>,
    /// The highest resourceVersion among the events applied to the store.
    progress: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("objects", &self.store.state().len())
            .finish()
    }
}

impl Subscription {
    /// Every object the watcher currently knows, as of the latest event.
    pub fn objects(&self) -> Vec<Arc<DynamicObject>> {
        self.store.state()
    }

    /// The most recent watch error, if the watch is (or was) failing.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Waits for the next event; `false` when the watcher is gone.
    async fn next_event(&mut self) -> bool {
        self.ticks.changed().await.is_ok()
    }
}

/// Errors of the hub.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The first list did not complete in time (unknown resource, no permission ...).
    #[error("watching {resource}{} did not sync within {timeout:?}{}", namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_default(), last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    NotSynced {
        /// The resource's plural.
        resource: String,
        /// The namespace, if any.
        namespace: Option<String>,
        /// How long it was given.
        timeout: Duration,
        /// The watcher's last error.
        last_error: Option<String>,
    },
    /// The store did not catch up with a consistent read in time.
    #[error("the watch cache of {resource}{} did not catch up with the API server within {timeout:?}{}", namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_default(), detail.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Lagging {
        /// The resource's plural.
        resource: String,
        /// The namespace, if any.
        namespace: Option<String>,
        /// How long it was given.
        timeout: Duration,
        /// The consistent read's error or the watcher's last error.
        detail: Option<String>,
    },
}

impl WatchHub {
    /// A hub over `client`; watchers run on the current tokio runtime.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Subscribes to `resource` in `namespace` (all namespaces or cluster-scoped when
    /// `None`), starting the watcher if it is not running, waits for its first list,
    /// then takes a consistent (quorum) metadata list and waits until the store is at
    /// least that new: writes made before this call are visible to the caller's checks.
    pub async fn subscribe(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        sync_timeout: Duration,
    ) -> Result<Subscription, WatchError> {
        let deadline = Instant::now() + sync_timeout;
        let key = Key {
            group: resource.group.clone(),
            version: resource.version.clone(),
            plural: resource.plural.clone(),
            namespace: namespace.map(str::to_string),
        };
        let (api, mut sub) = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let entry = entries
                .entry(key)
                .or_insert_with(|| self.start(resource, namespace));
            let sub = Subscription {
                store: entry.store.clone(),
                ticks: entry.ticks.clone(),
                progress: entry.progress.clone(),
                last_error: entry.last_error.clone(),
            };
            (entry.api.clone(), sub)
        };
        if !matches!(
            tokio::time::timeout_at(deadline, sub.store.wait_until_ready()).await,
            Ok(Ok(()))
        ) {
            return Err(WatchError::NotSynced {
                resource: resource.plural.clone(),
                namespace: namespace.map(str::to_string),
                timeout: sync_timeout,
                last_error: sub.last_error(),
            });
        }
        let lagging = |detail: Option<String>| WatchError::Lagging {
            resource: resource.plural.clone(),
            namespace: namespace.map(str::to_string),
            timeout: sync_timeout,
            detail,
        };
        let fresh = match tokio::time::timeout_at(
            deadline,
            api.list_metadata(&ListParams::default()),
        )
        .await
        {
            Ok(Ok(list)) => list,
            Ok(Err(e)) => return Err(lagging(Some(super::error::describe(&e)))),
            Err(_) => return Err(lagging(None)),
        };
        let Some(floor) = Floor::of(&fresh) else {
            // Resource versions that are not numbers cannot be ordered; skip the barrier.
            return Ok(sub);
        };
        loop {
            sub.ticks.borrow_and_update();
            if floor.reached(sub.progress.load(Ordering::Acquire), &sub.objects()) {
                return Ok(sub);
            }
            tokio::select! {
                alive = sub.next_event() => {
                    if !alive {
                        return Err(lagging(sub.last_error()));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return Err(lagging(sub.last_error())),
            }
        }
    }

    fn start(&self, resource: &ApiResource, namespace: Option<&str>) -> Entry {
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, resource),
            None => Api::all_with(self.client.clone(), resource),
        };
        let writer = Writer::new(resource.clone());
        let store = writer.as_reader();
        let (tx, rx) = tick::channel(0u64);
        let last_error: Arc<Mutex<Option<String>>> = Arc::default();
        let errors = last_error.clone();
        let progress = Arc::new(AtomicU64::new(0));
        let seen = progress.clone();
        let stream = reflector::reflector(
            writer,
            watcher(api.clone(), watcher::Config::default()).default_backoff(),
        );
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match &event {
                    Err(e) => {
                        if let Ok(mut slot) = errors.lock() {
                            *slot = Some(super::error::describe_watch(e));
                        }
                    }
                    Ok(
                        watcher::Event::Apply(o)
                        | watcher::Event::Delete(o)
                        | watcher::Event::InitApply(o),
                    ) => {
                        if let Some(rv) = revision(o.metadata.resource_version.as_deref()) {
                            seen.fetch_max(rv, Ordering::AcqRel);
                        }
                    }
                    Ok(_) => {}
                }
                // The store has applied the event by now; wake every waiter.
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        });
        Entry {
            api,
            store,
            ticks: rx,
            progress,
            last_error,
            task,
        }
    }

    /// Stops every watcher of `namespace` (e.g. when a scenario's namespace is gone).
    pub fn release_namespace(&self, namespace: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|k, e| {
                let keep = k.namespace.as_deref() != Some(namespace);
                if !keep {
                    e.task.abort();
                }
                keep
            });
        }
    }

    /// How many watchers run.
    pub fn watcher_count(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

impl Drop for WatchHub {
    fn drop(&mut self) {
        if let Ok(entries) = self.entries.lock() {
            for e in entries.values() {
                e.task.abort();
            }
        }
    }
}

/// A resourceVersion as a number; the API server's come from etcd's global revision
/// counter, so they order writes across objects.
fn revision(rv: Option<&str>) -> Option<u64> {
    rv?.parse().ok()
}

/// What a consistent list saw: the store is caught up once it is at least this new.
#[derive(Debug, Clone, PartialEq)]
struct Floor {
    /// The list's own resourceVersion.
    list: u64,
    /// Each listed object's (namespace, name) and resourceVersion.
    objects: HashMap<(Option<String>, String), u64>,
}

impl Floor {
    /// `None` when a resourceVersion is not a number.
    fn of<K>(list: &kube::api::ObjectList<K>) -> Option<Self>
    where
        K: kube::Resource + Clone,
    {
        let mut objects = HashMap::new();
        for o in &list.items {
            let meta = o.meta();
            let rv = revision(meta.resource_version.as_deref())?;
            objects.insert(
                (
                    meta.namespace.clone(),
                    meta.name.clone().unwrap_or_default(),
                ),
                rv,
            );
        }
        Some(Self {
            list: revision(list.metadata.resource_version.as_deref())?,
            objects,
        })
    }

    /// Whether a store that has applied events up to `progress` and holds `objects`
    /// reflects at least the listed state: it has seen an event past the list, or every
    /// listed object at its listed version or newer and nothing the list no longer had.
    fn reached(&self, progress: u64, objects: &[Arc<DynamicObject>]) -> bool {
        if progress >= self.list {
            return true;
        }
        let mut found = 0;
        for o in objects {
            let key = (
                o.metadata.namespace.clone(),
                o.metadata.name.clone().unwrap_or_default(),
            );
            let Some(rv) = revision(o.metadata.resource_version.as_deref()) else {
                return true;
            };
            match self.objects.get(&key) {
                Some(&listed) if rv >= listed => found += 1,
                Some(_) => return false,
                // Gone by the time of the list, or created after it.
                None if rv <= self.list => return false,
                None => {}
            }
        }
        found == self.objects.len()
    }
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitOutcome<T, E> {
    /// The check passed, with its value.
    Passed(T),
    /// The deadline passed; the check's last failure.
    TimedOut(E),
}

/// Runs `check` over the subscription's objects now and after every watch event until
/// it passes or `deadline` passes (then returns its last failure).
pub async fn wait_for<T, E>(
    sub: &mut Subscription,
    deadline: Instant,
    mut check: impl FnMut(&[Arc<DynamicObject>]) -> Result<T, E>,
) -> WaitOutcome<T, E> {
    loop {
        // Mark the current version seen before reading, so no event slips between.
        sub.ticks.borrow_and_update();
        let last = match check(&sub.objects()) {
            Ok(v) => return WaitOutcome::Passed(v),
            Err(e) => e,
        };
        tokio::select! {
            alive = sub.next_event() => {
                if !alive {
                    return WaitOutcome::TimedOut(last);
                }
            }
            _ = tokio::time::sleep_until(deadline) => return WaitOutcome::TimedOut(last),
        }
    }
}

/// Requires `check` to pass now and after every watch event until `duration` has
/// passed; returns the first failure.
pub async fn hold_for<E>(
    sub: &mut Subscription,
    duration: Duration,
    mut check: impl FnMut(&[Arc<DynamicObject>]) -> Result<(), E>,
) -> Result<(), E> {
    let until = Instant::now() + duration;
    loop {
        sub.ticks.borrow_and_update();
        check(&sub.objects())?;
        tokio::select! {
            alive = sub.next_event() => {
                if !alive {
                    return Ok(());
                }
            }
            _ = tokio::time::sleep_until(until) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str, rv: &str) -> Arc<DynamicObject> {
        let mut o = DynamicObject::new(
            name,
            &ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
        )
        .within("ns");
        o.metadata.resource_version = Some(rv.into());
        Arc::new(o)
    }

    fn floor(list: u64, objects: &[(&str, u64)]) -> Floor {
        Floor {
            list,
            objects: objects
                .iter()
                .map(|(n, rv)| ((Some("ns".to_string()), n.to_string()), *rv))
                .collect(),
        }
    }

    #[test]
    fn a_store_that_matches_the_list_is_caught_up_without_events() {
        let f = floor(120, &[("a", 100), ("b", 110)]);
        assert!(f.reached(0, &[obj("a", "100"), obj("b", "110")]));
    }

    #[test]
    fn an_older_copy_of_a_listed_object_is_stale() {
        let f = floor(120, &[("a", 100)]);
        assert!(!f.reached(90, &[obj("a", "90")]));
        assert!(f.reached(100, &[obj("a", "100")]));
    }

    #[test]
    fn a_listed_object_missing_from_the_store_is_stale() {
        let f = floor(120, &[("a", 100), ("b", 110)]);
        assert!(!f.reached(100, &[obj("a", "100")]));
    }

    #[test]
    fn an_object_the_list_no_longer_had_is_stale_unless_newer() {
        let f = floor(120, &[("a", 100)]);
        assert!(!f.reached(100, &[obj("a", "100"), obj("gone", "50")]));
        assert!(f.reached(100, &[obj("a", "100"), obj("new", "130")]));
    }

    #[test]
    fn an_event_past_the_list_proves_the_store_caught_up() {
        let f = floor(120, &[("a", 100)]);
        assert!(f.reached(125, &[]));
    }

    #[test]
    fn resource_versions_parse_only_as_numbers() {
        assert_eq!(revision(Some("42")), Some(42));
        assert_eq!(revision(Some("abc")), None);
        assert_eq!(revision(None), None);
    }
}
