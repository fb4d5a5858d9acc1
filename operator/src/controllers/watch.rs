//! Watch streams that feed a cache and trigger reconciles.
//!
//! Each watch is driven by a task of its own, so its cache fills even while the controller
//! it triggers applies backpressure (a reconcile waiting for a cache must not be what keeps
//! that cache from filling).
//!
//! Every watch retries on its own with the default backoff (REC-3). Its errors are logged
//! and dropped here instead of being passed to the `Controller`: the controller backs off
//! *all* of its triggers on any trigger error, and after an API server restart every watch
//! reports `410 Gone` once, which would stall reconciles for tens of seconds.

use std::fmt::Debug;

use futures::{Stream, StreamExt, future};
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;

/// Watch events of `K`, after they are applied to the returned cache; without errors.
pub(crate) fn cached<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    impl Stream<Item = watcher::Event<K>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let events = reflector::reflector(
        writer,
        watcher(api, config)
            .default_backoff()
            // The caches never need managedFields; dropping them halves their memory.
            .modify(|obj: &mut K| obj.meta_mut().managed_fields = None),
    )
    .filter_map(|event| {
        future::ready(match event {
            Ok(event) => Some(event),
            Err(error) => {
                tracing::debug!(kind = %K::kind(&()), %error, "watch error, retrying with backoff");
                None
            }
        })
    });
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => {
                        if tx.send(event).is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                () = tx.closed() => break,
            }
        }
    });
    let events = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (event, rx))
    });
    (store, events)
}

/// Related-object trigger that skips updates which leave `fingerprint` unchanged (the
/// parts the reconciler reads), so status noise does not wake it. Deletions always pass.
pub(crate) fn changed<K>(
    events: impl Stream<Item = watcher::Event<K>> + Send + 'static,
    fingerprint: impl Fn(&K) -> u64 + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Send + 'static,
{
    use kube::runtime::reflector::ObjectRef;
    let mut seen: std::collections::HashMap<ObjectRef<K>, u64> = std::collections::HashMap::new();
    events.filter_map(move |event| {
        let out = match event {
            watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) => {
                let print = fingerprint(&obj);
                let previous = seen.insert(ObjectRef::from_obj(&obj), print);
                (previous != Some(print)).then_some(Ok(obj))
            }
            watcher::Event::Delete(obj) => {
                seen.remove(&ObjectRef::from_obj(&obj));
                Some(Ok(obj))
            }
            watcher::Event::Init | watcher::Event::InitDone => None,
        };
        future::ready(out)
    })
}

/// Objects created or updated (not deleted) whose `fingerprint` changed, as a
/// controller's main trigger: its own status writes do not wake it again.
pub(crate) fn applied_changed<K>(
    events: impl Stream<Item = watcher::Event<K>> + Send + 'static,
    fingerprint: impl Fn(&K) -> u64 + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Send + 'static,
{
    changed(
        events.filter(|e| future::ready(!matches!(e, watcher::Event::Delete(_)))),
        fingerprint,
    )
}

/// Objects created or updated (not deleted), as a controller's main trigger.
pub(crate) fn applied<K: Send + 'static>(
    events: impl Stream<Item = watcher::Event<K>> + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    events.flat_map(|event| {
        futures::stream::iter(match event {
            watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) => Some(Ok(obj)),
            _ => None,
        })
    })
}

/// Objects created, updated or deleted, as a related-object trigger.
pub(crate) fn touched<K: Send + 'static>(
    events: impl Stream<Item = watcher::Event<K>> + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    events.flat_map(|event| {
        futures::stream::iter(match event {
            watcher::Event::Apply(obj)
            | watcher::Event::InitApply(obj)
            | watcher::Event::Delete(obj) => Some(Ok(obj)),
            _ => None,
        })
    })
}
