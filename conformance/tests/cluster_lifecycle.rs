//! A local cluster leaves nothing behind: not after a drop, not after a panic; and it
//! survives an API server restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kanon::cluster::LocalCluster;
use kanon::cluster::process::pid_alive;
use kube::api::{Api, PostParams};
use serde_json::json;

/// Lifecycle tests start clusters of their own; one at a time is plenty on a small machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Component pids and the cluster dir, as seen while the cluster ran.
type Seen = (Vec<(String, u32)>, PathBuf);

fn assert_gone(pids: &[(String, u32)], dir: &Path) {
    assert_eq!(pids.len(), 5, "five components were running: {pids:?}");
    for (name, pid) in pids {
        assert!(!pid_alive(*pid), "{name} (pid {pid}) is still running");
    }
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[tokio::test]
async fn dropping_the_handle_stops_every_process_and_removes_the_dir() {
    let _serial = SERIAL.lock().await;
    let cluster = LocalCluster::start().await.expect("cluster starts");
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    for (name, pid) in &pids {
        assert!(pid_alive(*pid), "{name} runs while the handle lives");
    }
    let took = cluster.teardown();
    assert_gone(&pids, &dir);
    eprintln!("teardown took {took:?}");
}

#[tokio::test]
async fn a_panic_while_holding_the_handle_leaves_nothing_behind() {
    let _serial = SERIAL.lock().await;
    let seen: Arc<Mutex<Option<Seen>>> = Arc::default();
    let seen_in_thread = seen.clone();
    let joined = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let cluster = LocalCluster::start().await.expect("cluster starts");
            *seen_in_thread.lock().unwrap() = Some((cluster.pids(), cluster.dir().to_path_buf()));
            panic!("deliberate panic while the cluster is up");
        })
    })
    .join();
    assert!(joined.is_err(), "the thread panicked");
    let (pids, dir) = seen.lock().unwrap().clone().expect("cluster had started");
    assert_gone(&pids, &dir);
}

#[tokio::test]
async fn objects_and_clients_survive_an_api_server_restart() {
    let _serial = SERIAL.lock().await;
    let cluster = LocalCluster::start().await.expect("cluster starts");
    let client = cluster.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "before"}, "data": {"k": "v"}}))
            .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let old_pid = cluster
        .pids()
        .into_iter()
        .find(|(n, _)| n == "kube-apiserver")
        .map(|(_, p)| p)
        .unwrap();
    tokio::time::timeout(Duration::from_secs(90), cluster.restart_apiserver())
        .await
        .expect("restart within 90s")
        .expect("restart");
    assert!(!pid_alive(old_pid), "the old API server is gone");
    let got = cms
        .get("before")
        .await
        .expect("same client works after restart");
    assert_eq!(got.data.unwrap()["k"], "v");
}

#[tokio::test]
async fn after_a_controller_manager_restart_new_crd_kinds_are_garbage_collected() {
    use kanon::engine::crds;
    use kanon::ops::OpEnv;
    use kube::api::{DeleteParams, DynamicObject};
    use kube::core::{ApiResource, GroupVersionKind};
    use kube::runtime::wait::{await_condition, conditions};

    let _serial = SERIAL.lock().await;
    let cluster = LocalCluster::start().await.expect("cluster starts");
    let client = cluster.client().await.unwrap();
    let env = OpEnv::connect(client.clone(), "default", cluster.kubeconfig_path());
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/engine/crd-widgets.yaml");
    crds::install(&env, &[crd], Duration::from_secs(30))
        .await
        .unwrap();
    let old_pid = |c: &LocalCluster| {
        c.pids()
            .into_iter()
            .find(|(n, _)| n == "kube-controller-manager")
            .map(|(_, p)| p)
            .unwrap()
    };
    let before = old_pid(&cluster);
    cluster.restart_controller_manager().await.unwrap();
    assert_ne!(old_pid(&cluster), before, "a new process runs");
    assert!(!pid_alive(before), "the old one is gone");

    let widgets: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk(&GroupVersionKind::gvk("engine.kanon.dev", "v1", "Widget")),
    );
    let owner: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "engine.kanon.dev/v1", "kind": "Widget",
        "metadata": {"name": "owner"}, "spec": {}
    }))
    .unwrap();
    let owner = widgets
        .create(&PostParams::default(), &owner)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let owned: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "owned", "ownerReferences": [{
            "apiVersion": "engine.kanon.dev/v1", "kind": "Widget", "name": "owner",
            "uid": owner.metadata.uid.clone().unwrap()
        }]}}))
        .unwrap();
    let owned = cms.create(&PostParams::default(), &owned).await.unwrap();
    widgets
        .delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(
            cms.clone(),
            "owned",
            conditions::is_deleted(&owned.metadata.uid.unwrap()),
        ),
    )
    .await
    .expect("the owned ConfigMap is collected")
    .unwrap();
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    cluster.teardown();
    assert_gone(&pids, &dir);
}
