//! The API fault proxy against a real API server: requests and watches pass through it,
//! injected write failures reach a kube client as API errors, and an outage cuts a
//! watch, refuses connections while it lasts, and ends by itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kanon::cluster::LocalCluster;
use kanon::faults::FaultProxy;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use tokio::time::{Instant, timeout};

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": "v"},
    }))
    .unwrap()
}

async fn proxied_client(proxy: &FaultProxy) -> kube::Client {
    // Through a kubeconfig file, as the operator process gets it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    proxy.write_kubeconfig(&path).unwrap();
    let config = kanon::cluster::kubeconfig::load(&path, None).await.unwrap();
    assert_eq!(config.cluster_url.scheme_str(), Some("http"));
    kube::Client::try_from(config).unwrap()
}

#[tokio::test]
async fn injected_conflicts_reach_the_client_and_reads_pass() {
    let cluster = LocalCluster::shared().await.unwrap();
    let proxy = FaultProxy::start(cluster.kube_config()).await.unwrap();
    assert!(proxy.addr().ip().is_loopback());
    let client = proxied_client(&proxy).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");

    api.create(&PostParams::default(), &config_map("faults-pass"))
        .await
        .expect("writes pass without a fault");

    proxy.fail_writes(&[], &[409, 500], 1.0, Duration::from_secs(30));
    assert!(proxy.active());
    let err = api
        .create(&PostParams::default(), &config_map("faults-409"))
        .await
        .expect_err("the injected conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let err = api
        .create(&PostParams::default(), &config_map("faults-500"))
        .await
        .expect_err("the second status in turn");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    api.get("faults-pass").await.expect("reads are not failed");

    let counts = proxy.counts();
    assert_eq!(counts.failed_writes, 2);
    assert_eq!(counts.failed_by_status, [(409, 1), (500, 1)].into());
    assert_eq!(counts.writes, 3);

    proxy.lift();
    assert!(!proxy.active());
    api.create(&PostParams::default(), &config_map("faults-after"))
        .await
        .expect("writes pass once lifted");
    let admin: Api<ConfigMap> = Api::namespaced(cluster.client().await.unwrap(), "default");
    assert!(
        admin.get_opt("faults-409").await.unwrap().is_none(),
        "never reached the API server"
    );
    for n in ["faults-pass", "faults-after"] {
        admin.delete(n, &Default::default()).await.unwrap();
    }
}

#[tokio::test]
async fn scoped_faults_fail_only_their_resources_and_named_reads() {
    let cluster = LocalCluster::shared().await.unwrap();
    let proxy = FaultProxy::start(cluster.kube_config()).await.unwrap();
    let client = proxied_client(&proxy).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client, "default");

    // Writes of configmaps fail; a Secret's pass.
    proxy.fail_writes(&["configmaps".into()], &[500], 1.0, Duration::from_secs(30));
    let err = maps
        .create(&PostParams::default(), &config_map("scoped-write"))
        .await
        .expect_err("configmap writes fail");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "scoped-secret"}, "stringData": {"k": "v"}}),
    )
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("other resources' writes pass");
    proxy.lift();
    maps.create(&PostParams::default(), &config_map("scoped-read"))
        .await
        .unwrap();

    // Named reads of configmaps fail; lists, watches and other kinds pass. (500: kube's
    // client retries a 503 by itself.)
    let before = proxy.counts();
    proxy.fail_reads(&["configmaps".into()], &[500], Duration::from_secs(30));
    let err = maps
        .get("scoped-read")
        .await
        .expect_err("a named read fails");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    let err = maps
        .get_opt("absent")
        .await
        .expect_err("never a NotFound while failing");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    let listed = maps.list(&Default::default()).await.expect("lists pass");
    assert!(
        listed
            .items
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("scoped-read"))
    );
    let mut watch = maps
        .watch(
            &WatchParams::default().fields("metadata.name=scoped-read"),
            "0",
        )
        .await
        .expect("watches pass")
        .boxed();
    assert!(matches!(
        timeout(Duration::from_secs(10), watch.try_next()).await,
        Ok(Ok(Some(WatchEvent::Added(_))))
    ));
    secrets
        .get("scoped-secret")
        .await
        .expect("other kinds' reads pass");
    assert_eq!(proxy.counts().since(&before).failed_reads, 2);
    proxy.lift();
    maps.get("scoped-read")
        .await
        .expect("reads pass once lifted");

    let admin: Api<ConfigMap> = Api::namespaced(cluster.client().await.unwrap(), "default");
    assert!(admin.get_opt("scoped-write").await.unwrap().is_none());
    admin
        .delete("scoped-read", &Default::default())
        .await
        .unwrap();
    let admin_secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client().await.unwrap(), "default");
    admin_secrets
        .delete("scoped-secret", &Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_outage_cuts_a_watch_and_the_proxy_recovers_by_itself() {
    let cluster = LocalCluster::shared().await.unwrap();
    let proxy = FaultProxy::start(cluster.kube_config()).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(proxied_client(&proxy).await, "default");
    let admin: Api<ConfigMap> = Api::namespaced(cluster.client().await.unwrap(), "default");

    // A watch through the proxy sees a change made directly.
    let rv = api
        .list(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let params = WatchParams::default()
        .timeout(290)
        .fields("metadata.name=faults-watched");
    let mut events = api.watch(&params, &rv).await.unwrap().boxed();
    admin
        .create(&PostParams::default(), &config_map("faults-watched"))
        .await
        .unwrap();
    let first = timeout(Duration::from_secs(10), events.try_next())
        .await
        .expect("an event within 10s")
        .expect("a healthy stream");
    assert!(matches!(first, Some(WatchEvent::Added(_))), "{first:?}");

    // The outage ends the stream and refuses new connections.
    let outage = Duration::from_secs(3);
    let started = Instant::now();
    proxy.outage(outage);
    // The proxy's outage ends no later than this.
    let over = Instant::now() + outage;
    let end = timeout(Duration::from_secs(10), async {
        loop {
            match events.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the watch ended with the outage");
    assert!(
        api.get("faults-watched").await.is_err(),
        "no request gets through during the outage"
    );
    let counts = proxy.counts();
    assert_eq!(counts.outages, 1);
    assert!(counts.connections_cut >= 1, "{counts:?}");
    assert!(counts.connections_refused >= 1, "{counts:?}");

    // It ends by itself: a new watch works again and sees the next change.
    tokio::time::sleep_until(over).await;
    assert!(!proxy.active(), "the outage is over at its end time");
    let rv = api
        .list(&Default::default())
        .await
        .expect("requests get through once the outage is over")
        .metadata
        .resource_version
        .unwrap();
    assert!(started.elapsed() >= outage, "not before the outage ended");
    let mut events = api.watch(&params, &rv).await.unwrap().boxed();
    admin
        .patch(
            "faults-watched",
            &Default::default(),
            &kube::api::Patch::Merge(serde_json::json!({"data": {"k": "w"}})),
        )
        .await
        .unwrap();
    let next = timeout(Duration::from_secs(10), events.try_next())
        .await
        .expect("an event within 10s")
        .expect("a healthy stream");
    assert!(matches!(next, Some(WatchEvent::Modified(_))), "{next:?}");
    admin
        .delete("faults-watched", &Default::default())
        .await
        .unwrap();
}
