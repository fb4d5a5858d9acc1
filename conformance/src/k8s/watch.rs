//! Shared watchers and watch-driven waits.
//!
//! A [`WatchHub`] runs at most one watcher per (resource, namespace), feeding a
//! reflector store, and bumps a counter after every event has been applied to the
//! store. Waits subscribe to that counter: a check runs once at the start and then again
//! after each event, never on a timer. When the watch breaks, kube-runtime's watcher
//! re-lists with backoff, and the re-list itself is an event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
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
    store: Store<DynamicObject>,
    ticks: tick::Receiver<u64>,
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
    /// `None`), starting the watcher if it is not running, and waits for its first list.
    pub async fn subscribe(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        sync_timeout: Duration,
    ) -> Result<Subscription, WatchError> {
        let key = Key {
            group: resource.group.clone(),
            version: resource.version.clone(),
            plural: resource.plural.clone(),
            namespace: namespace.map(str::to_string),
        };
        let sub = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let entry = entries
                .entry(key)
                .or_insert_with(|| self.start(resource, namespace));
            Subscription {
                store: entry.store.clone(),
                ticks: entry.ticks.clone(),
                last_error: entry.last_error.clone(),
            }
        };
        match tokio::time::timeout(sync_timeout, sub.store.wait_until_ready()).await {
            Ok(Ok(())) => Ok(sub),
            _ => Err(WatchError::NotSynced {
                resource: resource.plural.clone(),
                namespace: namespace.map(str::to_string),
                timeout: sync_timeout,
                last_error: sub.last_error(),
            }),
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
        let stream = reflector::reflector(
            writer,
            watcher(api, watcher::Config::default()).default_backoff(),
        );
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                if let Err(e) = &event
                    && let Ok(mut slot) = errors.lock()
                {
                    *slot = Some(e.to_string());
                }
                // The store has applied the event by now; wake every waiter.
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        });
        Entry {
            store,
            ticks: rx,
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
