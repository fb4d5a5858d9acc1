//! CFG-1..7: the shared-config controllers.

use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use mcp_operator::api::{ConfigStatus, MCPServer, MCPTelemetryConfig, MCPWebhookConfig};
use serde_json::json;

use crate::harness::{DEADLINE, QUICK, client, create, merge, namespace, wait_event, wait_for};

const TELEMETRY_FINALIZER: &str = "mcptelemetryconfig.toolhive.stacklok.dev/finalizer";
const WEBHOOK_FINALIZER: &str = "toolhive.stacklok.dev/webhookconfig-finalizer";

fn condition<'a>(
    status: Option<&'a ConfigStatus>,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    status.and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

fn refs(cfg: Option<&MCPTelemetryConfig>) -> Vec<String> {
    cfg.and_then(|c| c.status.as_ref())
        .map(|s| s.referencing_servers.clone())
        .unwrap_or_default()
}

async fn telemetry_config(api: &Api<MCPTelemetryConfig>, name: &str) -> MCPTelemetryConfig {
    create(
        api,
        json!({
            "metadata": {"name": name},
            "spec": {"openTelemetry": {"enabled": true, "endpoint": "http://collector:4318", "tracing": {"enabled": true}}}
        }),
    )
    .await
}

async fn server(api: &Api<MCPServer>, name: &str, telemetry_ref: Option<&str>) -> MCPServer {
    let mut spec = json!({"image": "ghcr.io/example/mcp:1"});
    if let Some(r) = telemetry_ref {
        spec["telemetryConfigRef"] = json!({"name": r});
    }
    create(api, json!({"metadata": {"name": name}, "spec": spec})).await
}

async fn reconciled(api: &Api<MCPTelemetryConfig>, name: &str) -> MCPTelemetryConfig {
    wait_for(
        api,
        name,
        "config reconciled",
        DEADLINE,
        |c: Option<&MCPTelemetryConfig>| {
            c.is_some_and(|c| {
                c.status.as_ref().is_some_and(|s| {
                    s.observed_generation == c.metadata.generation && s.config_hash.is_some()
                })
            })
        },
    )
    .await;
    api.get(name).await.expect("config")
}

#[tokio::test]
async fn cfg_1_2_3_finalizer_hash_generation_and_valid() {
    let client = client().await;
    let ns = namespace(&client, "cfg-basics").await;
    let api: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), &ns);
    telemetry_config(&api, "otel").await;
    let cfg = reconciled(&api, "otel").await;

    assert!(
        cfg.finalizers().iter().any(|f| f == TELEMETRY_FINALIZER),
        "{:?}",
        cfg.finalizers()
    );
    let status = cfg.status.clone().expect("status");
    let hash = status.config_hash.clone().expect("hash");
    assert_eq!(hash.len(), 64);
    let valid = condition(Some(&status), "Valid").expect("Valid");
    assert_eq!(
        (valid.status.as_str(), valid.reason.as_str()),
        ("True", "ValidationSucceeded")
    );
    assert_eq!(valid.observed_generation, cfg.metadata.generation);

    // A metadata-only change leaves the hash alone.
    merge(&api, "otel", json!({"metadata": {"labels": {"team": "a"}}})).await;
    let relabelled = reconciled(&api, "otel").await;
    let relabelled_status = relabelled.status.clone().expect("status");
    assert_eq!(relabelled_status.config_hash, Some(hash.clone()));
    // API-2: an unchanged status keeps its lastTransitionTime.
    assert_eq!(
        condition(Some(&relabelled_status), "Valid").map(|c| c.last_transition_time.clone()),
        Some(valid.last_transition_time.clone())
    );

    // A spec change moves it; an endpoint without tracing or metrics is invalid.
    merge(
        &api,
        "otel",
        json!({"spec": {"openTelemetry": {"tracing": {"enabled": false}}}}),
    )
    .await;
    wait_for(
        &api,
        "otel",
        "Valid=False after the edit",
        DEADLINE,
        |c: Option<&MCPTelemetryConfig>| {
            let status = c.and_then(|c| c.status.as_ref());
            condition(status, "Valid").is_some_and(|v| {
                v.status == "False"
                    && v.reason == "ValidationFailed"
                    && v.message.contains(
                        "endpoint requires at least one of tracing or metrics to be enabled",
                    )
            }) && status
                .and_then(|s| s.config_hash.as_ref())
                .is_some_and(|h| *h != hash)
                && status.and_then(|s| s.observed_generation)
                    == c.and_then(|c| c.metadata.generation)
        },
    )
    .await;
}

#[tokio::test]
async fn cfg_1_webhook_config_gets_its_finalizer_and_hash() {
    let client = client().await;
    let ns = namespace(&client, "cfg-webhook").await;
    let api: Api<MCPWebhookConfig> = Api::namespaced(client.clone(), &ns);
    create(
        &api,
        json!({"metadata": {"name": "hooks"}, "spec": {"validating": [{"name": "v", "url": "https://hooks.example/v"}]}}),
    )
    .await;
    wait_for(
        &api,
        "hooks",
        "webhook config reconciled",
        DEADLINE,
        |c: Option<&MCPWebhookConfig>| {
            c.is_some_and(|c| {
                c.finalizers().iter().any(|f| f == WEBHOOK_FINALIZER)
                    && c.status.as_ref().is_some_and(|s| {
                        s.config_hash.as_ref().is_some_and(|h| h.len() == 64)
                            && condition(Some(s), "Valid").is_some_and(|v| v.status == "True")
                    })
            })
        },
    )
    .await;
}

#[tokio::test]
async fn cfg_4_referencing_servers_follow_adds_removals_and_deletes() {
    let client = client().await;
    let ns = namespace(&client, "cfg-refs").await;
    let configs: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), &ns);
    let servers: Api<MCPServer> = Api::namespaced(client.clone(), &ns);
    telemetry_config(&configs, "otel").await;
    telemetry_config(&configs, "other").await;
    reconciled(&configs, "otel").await;

    server(&servers, "b", Some("otel")).await;
    server(&servers, "a", Some("otel")).await;
    server(&servers, "c", None).await;
    wait_for(
        &configs,
        "otel",
        "both servers listed, sorted",
        QUICK,
        |c| refs(c) == ["a", "b"],
    )
    .await;

    // Switching a's reference moves it from one config to the other.
    merge(
        &servers,
        "a",
        json!({"spec": {"telemetryConfigRef": {"name": "other"}}}),
    )
    .await;
    wait_for(&configs, "otel", "a dropped", QUICK, |c| refs(c) == ["b"]).await;
    wait_for(&configs, "other", "a added", QUICK, |c| refs(c) == ["a"]).await;

    // Dropping the reference altogether.
    merge(&servers, "a", json!({"spec": {"telemetryConfigRef": null}})).await;
    wait_for(&configs, "other", "a removed", QUICK, |c| {
        refs(c).is_empty() && c.is_some()
    })
    .await;

    // Deleting a server.
    servers
        .delete("b", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for(&configs, "otel", "b removed after delete", QUICK, |c| {
        refs(c).is_empty() && c.is_some()
    })
    .await;
}

#[tokio::test]
async fn cfg_5_6_deletion_is_blocked_while_referenced_then_completes() {
    let client = client().await;
    let ns = namespace(&client, "cfg-delete").await;
    let configs: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), &ns);
    let servers: Api<MCPServer> = Api::namespaced(client.clone(), &ns);
    telemetry_config(&configs, "otel").await;
    server(&servers, "user-1", Some("otel")).await;
    server(&servers, "user-2", Some("otel")).await;
    wait_for(&configs, "otel", "referenced", QUICK, |c| {
        refs(c) == ["user-1", "user-2"]
    })
    .await;

    configs
        .delete("otel", &DeleteParams::default())
        .await
        .expect("delete accepted");
    wait_for(
        &configs,
        "otel",
        "DeletionBlocked",
        QUICK,
        |c: Option<&MCPTelemetryConfig>| {
            c.is_some_and(|c| {
                c.metadata.deletion_timestamp.is_some()
                    && condition(c.status.as_ref(), "DeletionBlocked").is_some_and(|d| {
                        d.status == "True"
                            && d.reason == "ReferencedByWorkloads"
                            && d.message.contains("user-1")
                            && d.message.contains("user-2")
                    })
            })
        },
    )
    .await;
    let event = wait_event(&client, &ns, "otel", "DeletionBlocked").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));

    // One reference goes: still blocked. The last goes: the config disappears.
    merge(
        &servers,
        "user-1",
        json!({"spec": {"telemetryConfigRef": null}}),
    )
    .await;
    wait_for(&configs, "otel", "still blocked by user-2", QUICK, |c| {
        refs(c) == ["user-2"]
    })
    .await;
    servers
        .delete("user-2", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for(&configs, "otel", "config deleted", QUICK, |c| c.is_none()).await;
}

#[tokio::test]
async fn cfg_7_unreferenced_config_deletes_at_once() {
    let client = client().await;
    let ns = namespace(&client, "cfg-unreferenced").await;
    let configs: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), &ns);
    telemetry_config(&configs, "lonely").await;
    let cfg = reconciled(&configs, "lonely").await;
    assert!(cfg.finalizers().iter().any(|f| f == TELEMETRY_FINALIZER));
    configs
        .delete("lonely", &DeleteParams::default())
        .await
        .expect("delete");
    wait_for(&configs, "lonely", "config deleted", QUICK, |c| c.is_none()).await;
}
