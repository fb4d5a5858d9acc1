//! REC-3: the operator survives an API server restart and catches up with changes made
//! while it was down. Uses a cluster of its own.

use k8s_openapi::api::apps::v1::Deployment;
use kanon::cluster::LocalCluster;
use kube::Api;
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

#[tokio::test]
async fn rec_3_survives_api_server_restart_and_catches_up() {
    let cluster = LocalCluster::start().await.expect("own cluster starts");
    let client = cluster.client().await.expect("client");
    install_crds(&client).await;
    let operator = Operator::start(cluster.kube_config().clone());

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
    let operator = Operator::start(cluster.kube_config().clone());
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
