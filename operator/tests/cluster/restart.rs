//! REC-3: the operator survives an API server restart and catches up with changes made
//! while it was down. Uses a cluster of its own, where the operator runs as the service
//! account of `fixtures/deploy/rbac.yaml`, so the least-privilege role is exercised too.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kanon::cluster::LocalCluster;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use mcp_operator::api::{MCPServer, MCPTelemetryConfig};
use mcp_operator::resources::CHECKSUM_ANNOTATION;
use serde_json::json;

use crate::harness::{DEADLINE, Operator, create, install_crds, merge, namespace, wait_for};

fn checksum(deployment: Option<&Deployment>) -> Option<String> {
    deployment
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(CHECKSUM_ANNOTATION).cloned())
}

async fn current_checksum(api: &Api<Deployment>, name: &str) -> Option<String> {
    checksum(api.get_opt(name).await.expect("get").as_ref())
}

const SERVICE_ACCOUNT_NS: &str = "mcp-operator-system";
const SERVICE_ACCOUNT: &str = "system:serviceaccount:mcp-operator-system:mcp-operator";

/// Apply `fixtures/deploy/rbac.yaml` (and its namespace).
async fn install_rbac(client: &Client) {
    namespace(client, SERVICE_ACCOUNT_NS).await;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/deploy/rbac.yaml");
    let text = std::fs::read_to_string(path).expect("rbac.yaml");
    let params = PatchParams::apply("kanon-tests").force();
    for doc in text.split("\n---\n") {
        let value: serde_json::Value = serde_saphyr::from_str(doc).expect("YAML document");
        let name = value["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        match value["kind"].as_str() {
            Some("ServiceAccount") => {
                let api: Api<ServiceAccount> = Api::namespaced(client.clone(), SERVICE_ACCOUNT_NS);
                api.patch(&name, &params, &Patch::Apply(&value))
                    .await
                    .expect("ServiceAccount");
            }
            Some("ClusterRole") => {
                let api: Api<ClusterRole> = Api::all(client.clone());
                api.patch(&name, &params, &Patch::Apply(&value))
                    .await
                    .expect("ClusterRole");
            }
            Some("ClusterRoleBinding") => {
                let api: Api<ClusterRoleBinding> = Api::all(client.clone());
                api.patch(&name, &params, &Patch::Apply(&value))
                    .await
                    .expect("ClusterRoleBinding");
            }
            other => panic!("unexpected kind {other:?} in rbac.yaml"),
        }
    }
}

/// The cluster's admin config, impersonating the operator's service account.
fn as_operator(config: &kube::Config) -> kube::Config {
    let mut config = config.clone();
    config.auth_info.impersonate = Some(SERVICE_ACCOUNT.to_string());
    config.auth_info.impersonate_groups = Some(vec![
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{SERVICE_ACCOUNT_NS}"),
        "system:authenticated".to_string(),
    ]);
    config
}

#[tokio::test]
async fn rec_3_survives_api_server_restart_and_catches_up() {
    let cluster = LocalCluster::start().await.expect("own cluster starts");
    let client = cluster.client().await.expect("client");
    install_crds(&client).await;
    install_rbac(&client).await;
    let operator_config = as_operator(cluster.kube_config());

    // The role grants no access to Secrets.
    let restricted = Client::try_from(operator_config.clone()).expect("impersonating client");
    match Api::<Secret>::all(restricted)
        .list(&Default::default())
        .await
    {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403),
        other => panic!("the operator's account must not list Secrets: {other:?}"),
    }

    let operator = Operator::start(operator_config.clone());

    let ns = namespace(&client, "rec-restart").await;
    let configs: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), &ns);
    let servers: Api<MCPServer> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    create(
        &configs,
        json!({"metadata": {"name": "otel"}, "spec": {"openTelemetry": {"enabled": true, "endpoint": "c:4318", "tracing": {"enabled": true}}}}),
    )
    .await;
    create(&servers, json!({"metadata": {"name": "fetch"}, "spec": {"image": "img", "telemetryConfigRef": {"name": "otel"}}})).await;
    wait_for(
        &deployments,
        "fetch",
        "Deployment before the restart",
        DEADLINE,
        |d| checksum(d).is_some(),
    )
    .await;
    let first = current_checksum(&deployments, "fetch").await;

    cluster
        .restart_apiserver()
        .await
        .expect("API server restarts");
    let client = cluster.client().await.expect("client after restart");
    let configs: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), &ns);
    let servers: Api<MCPServer> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);

    // Changes after the restart are picked up by the resumed watches.
    merge(
        &configs,
        "otel",
        json!({"spec": {"openTelemetry": {"tracing": {"samplingRate": "0.2"}}}}),
    )
    .await;
    wait_for(
        &deployments,
        "fetch",
        "rolled after the restart",
        DEADLINE,
        move |d| checksum(d).is_some() && checksum(d) != first,
    )
    .await;
    create(
        &servers,
        json!({"metadata": {"name": "second"}, "spec": {"image": "img"}}),
    )
    .await;
    wait_for(
        &deployments,
        "second",
        "children for a new server",
        DEADLINE,
        |d| d.is_some(),
    )
    .await;

    // Changes made while the operator is down are applied when it comes back.
    operator.stop();
    let before = current_checksum(&deployments, "fetch").await;
    merge(
        &configs,
        "otel",
        json!({"spec": {"openTelemetry": {"tracing": {"samplingRate": "0.3"}}}}),
    )
    .await;
    create(
        &servers,
        json!({"metadata": {"name": "third"}, "spec": {"image": "img"}}),
    )
    .await;
    let operator = Operator::start(operator_config);
    wait_for(
        &deployments,
        "fetch",
        "caught up after the operator restart",
        DEADLINE,
        move |d| checksum(d).is_some() && checksum(d) != before,
    )
    .await;
    wait_for(
        &deployments,
        "third",
        "children for a server created while down",
        DEADLINE,
        |d| d.is_some(),
    )
    .await;
    operator.stop();
}
