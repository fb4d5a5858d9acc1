//! Watch-driven waits against a real API server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kanon::cluster::LocalCluster;
use kanon::k8s::{Resolver, WaitOutcome, WatchHub, hold_for, wait_for};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::time::Instant;

async fn setup(ns: &str) -> kube::Client {
    let client = LocalCluster::shared()
        .await
        .unwrap()
        .client()
        .await
        .unwrap();
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    client
}

fn data_of(objs: &[Arc<DynamicObject>], name: &str) -> Option<String> {
    objs.iter()
        .find(|o| o.metadata.name.as_deref() == Some(name))
        .and_then(|o| o.data["data"]["state"].as_str().map(str::to_string))
}

#[tokio::test]
async fn resolver_knows_core_and_group_kinds_and_rejects_unknown_ones() {
    let client = LocalCluster::shared()
        .await
        .unwrap()
        .client()
        .await
        .unwrap();
    let r = Resolver::new(client);
    let cm = r.resolve("v1", "ConfigMap").await.unwrap();
    assert_eq!(cm.resource.plural, "configmaps");
    assert!(cm.namespaced);
    let ns = r.resolve("v1", "Namespace").await.unwrap();
    assert!(!ns.namespaced);
    let d = r.resolve("apps/v1", "Deployment").await.unwrap();
    assert_eq!(d.resource.plural, "deployments");
    let err = r.resolve("example.invalid/v1", "Nope").await.unwrap_err();
    assert!(err.to_string().contains("Nope"), "{err}");
}

#[tokio::test]
async fn a_wait_passes_on_the_event_that_makes_it_true() {
    let client = setup("watch-pass").await;
    let r = Resolver::new(client.clone());
    let hub = WatchHub::new(client.clone());
    let cm = r.resolve("v1", "ConfigMap").await.unwrap();
    let mut sub = hub
        .subscribe(&cm.resource, Some("watch-pass"), Duration::from_secs(10))
        .await
        .unwrap();
    let _second = hub
        .subscribe(&cm.resource, Some("watch-pass"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        hub.watcher_count(),
        1,
        "one shared watcher per kind and namespace"
    );

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "watch-pass");
    let writer = tokio::spawn(async move {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": "target"}, "data": {"state": "pending"}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
        let patch = json!({"data": {"state": "done"}});
        let written = Instant::now();
        cms.patch("target", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        written
    });
    let outcome = wait_for(
        &mut sub,
        Instant::now() + Duration::from_secs(20),
        |objs| match data_of(objs, "target") {
            Some(s) if s == "done" => Ok(Instant::now()),
            other => Err(format!("state is {other:?}")),
        },
    )
    .await;
    let written = writer.await.unwrap();
    match outcome {
        WaitOutcome::Passed(seen) => {
            eprintln!(
                "write-to-pass latency: {:?}",
                seen.saturating_duration_since(written)
            );
        }
        WaitOutcome::TimedOut(last) => panic!("wait did not pass: {last}"),
    }
}

#[tokio::test]
async fn a_wait_that_never_passes_times_out_with_the_last_failure() {
    let client = setup("watch-timeout").await;
    let r = Resolver::new(client.clone());
    let hub = WatchHub::new(client);
    let cm = r.resolve("v1", "ConfigMap").await.unwrap();
    let mut sub = hub
        .subscribe(&cm.resource, Some("watch-timeout"), Duration::from_secs(10))
        .await
        .unwrap();
    let started = Instant::now();
    let outcome: WaitOutcome<(), String> =
        wait_for(&mut sub, started + Duration::from_millis(300), |objs| {
            Err(format!("{} objects, none named ghost", objs.len()))
        })
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5));
    match outcome {
        WaitOutcome::TimedOut(last) => assert!(last.contains("none named ghost"), "{last}"),
        WaitOutcome::Passed(()) => panic!("cannot pass"),
    }
}

#[tokio::test]
async fn hold_for_fails_on_the_write_that_breaks_it() {
    let client = setup("watch-hold").await;
    let r = Resolver::new(client.clone());
    let hub = WatchHub::new(client.clone());
    let cm = r.resolve("v1", "ConfigMap").await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "watch-hold");
    let steady: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "steady"}, "data": {"state": "ok"}}))
            .unwrap();
    cms.create(&PostParams::default(), &steady).await.unwrap();
    let mut sub = hub
        .subscribe(&cm.resource, Some("watch-hold"), Duration::from_secs(10))
        .await
        .unwrap();
    let still_ok = |objs: &[Arc<DynamicObject>]| match data_of(objs, "steady") {
        Some(s) if s == "ok" => Ok(()),
        other => Err(format!("state became {other:?}")),
    };
    // Quiet: holds for the whole window.
    hold_for(&mut sub, Duration::from_millis(300), still_ok)
        .await
        .expect("nothing changes, so it holds");
    // A write that breaks it ends the hold early with the failure.
    let breaker = tokio::spawn(async move {
        let patch = json!({"data": {"state": "broken"}});
        cms.patch("steady", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    });
    let started = Instant::now();
    let err = hold_for(&mut sub, Duration::from_secs(30), still_ok)
        .await
        .expect_err("the write breaks it");
    breaker.await.unwrap();
    assert!(err.contains("broken"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended early, on the event"
    );
}

#[tokio::test]
async fn a_subscription_sees_every_write_made_before_it() {
    let client = setup("watch-ryw").await;
    let r = Resolver::new(client.clone());
    let hub = WatchHub::new(client.clone());
    let cm = r.resolve("v1", "ConfigMap").await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "watch-ryw");
    let first: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "rw"}, "data": {"state": "0"}}))
            .unwrap();
    cms.create(&PostParams::default(), &first).await.unwrap();
    // Keep the watcher warm so every subscription reuses its (possibly lagging) store.
    let _warm = hub
        .subscribe(&cm.resource, Some("watch-ryw"), Duration::from_secs(10))
        .await
        .unwrap();
    for i in 1..=40 {
        let state = i.to_string();
        cms.patch(
            "rw",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"state": state}})),
        )
        .await
        .unwrap();
        let sub = hub
            .subscribe(&cm.resource, Some("watch-ryw"), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            data_of(&sub.objects(), "rw").as_deref(),
            Some(state.as_str()),
            "write {i} not visible right after subscribing"
        );
    }
}
