//! The local control plane is a real Kubernetes: CEL admission, garbage collection,
//! namespace finalization and Deployments that become Available (kwok).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kanon::cluster::LocalCluster;
use kanon::cluster::assets::KUBERNETES_VERSION;
use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::core::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(60);

async fn client() -> kube::Client {
    let cluster = LocalCluster::shared().await.expect("local cluster starts");
    cluster.client().await.expect("client")
}

async fn namespace(client: &kube::Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
}

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(DEADLINE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {DEADLINE:?}"))
}

#[tokio::test]
async fn version_endpoint_reports_the_pinned_release() {
    let client = client().await;
    let info = client.apiserver_version().await.expect("/version");
    assert_eq!(info.git_version, KUBERNETES_VERSION);
}

#[tokio::test]
async fn cel_rule_rejects_a_violating_object_and_stores_a_valid_one() {
    let client = client().await;
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "widgets.test.kanon.dev"},
        "spec": {
            "group": "test.kanon.dev",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {
                        "type": "object",
                        "properties": {
                            "replicas": {"type": "integer"},
                            "maxReplicas": {"type": "integer"}
                        },
                        "x-kubernetes-validations": [{
                            "rule": "self.replicas <= self.maxReplicas",
                            "message": "replicas must not exceed maxReplicas"
                        }]
                    }}
                }}
            }]
        }
    }))
    .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("CRD created");
    within(
        "CRD established",
        await_condition(
            crds,
            "widgets.test.kanon.dev",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("watch");

    namespace(&client, "cel-test").await;
    let gvk = GroupVersionKind::gvk("test.kanon.dev", "v1", "Widget");
    let widgets: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "cel-test", &ApiResource::from_gvk(&gvk));
    let object = |name: &str, replicas: i64| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "test.kanon.dev/v1", "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "maxReplicas": 3}
        }))
        .unwrap()
    };
    let err = widgets
        .create(&PostParams::default(), &object("too-many", 5))
        .await
        .expect_err("violating object is rejected");
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(
                status
                    .message
                    .contains("replicas must not exceed maxReplicas"),
                "{}",
                status.message
            );
        }
        other => panic!("expected an API rejection, got {other}"),
    }
    assert!(
        widgets.get_opt("too-many").await.unwrap().is_none(),
        "nothing stored"
    );
    widgets
        .create(&PostParams::default(), &object("fine", 2))
        .await
        .expect("valid object accepted");
    let stored = widgets.get("fine").await.expect("valid object stored");
    assert_eq!(stored.data["spec"]["replicas"], 2);
}

#[tokio::test]
async fn deleting_an_owner_garbage_collects_what_it_owns() {
    let client = client().await;
    namespace(&client, "gc-test").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gc-test");
    let owner: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "owner"}, "data": {"a": "1"}})).unwrap();
    let owner = cms.create(&PostParams::default(), &owner).await.unwrap();
    let owned: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "owned", "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
            "uid": owner.metadata.uid.clone().unwrap()
        }]},
        "data": {"b": "2"}
    }))
    .unwrap();
    let owned = cms.create(&PostParams::default(), &owned).await.unwrap();
    let owned_uid = owned.metadata.uid.unwrap();
    cms.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    within(
        "owned ConfigMap collected",
        await_condition(cms.clone(), "owned", conditions::is_deleted(&owned_uid)),
    )
    .await
    .expect("watch");
    assert!(cms.get_opt("owned").await.unwrap().is_none());
}

#[tokio::test]
async fn deleting_a_namespace_completes() {
    let client = client().await;
    namespace(&client, "ns-delete-test").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "ns-delete-test");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "content"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("ns-delete-test", &DeleteParams::default())
        .await
        .unwrap();
    within(
        "namespace finalized",
        await_condition(
            namespaces.clone(),
            "ns-delete-test",
            |ns: Option<&Namespace>| ns.is_none(),
        ),
    )
    .await
    .expect("watch");
}

#[tokio::test]
async fn a_deployment_becomes_available_on_the_fake_node() {
    let client = client().await;
    namespace(&client, "deploy-test").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "deploy-test");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}
            }
        }
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    within(
        "deployment Available",
        await_condition(deployments.clone(), "web", |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Available" && c.status == "True")
                })
        }),
    )
    .await
    .expect("watch");
    let d = deployments.get("web").await.unwrap();
    assert_eq!(d.status.unwrap().available_replicas, Some(1));
}
