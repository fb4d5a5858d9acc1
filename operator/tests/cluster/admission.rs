//! CEL-1..8: the API server rejects invalid objects with the contract's messages and
//! stores nothing.

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Client, Resource};
use mcp_operator::api::{MCPServer, MCPTelemetryConfig, MCPWebhookConfig};
use serde_json::{Value, json};

use crate::harness::{client, namespace};

fn api<K: Resource<DynamicType = ()>>(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<K>(&()))
}

/// Create `value`; expect HTTP 422 whose message contains `message`, and nothing stored.
async fn rejected(api: &Api<DynamicObject>, value: Value, message: &str) {
    let name = value["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let obj: DynamicObject = serde_json::from_value(value).expect("object");
    match api.create(&PostParams::default(), &obj).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(
                status.message.contains(message),
                "expected {message:?} in {:?}",
                status.message
            );
        }
        other => panic!("expected a 422 rejection containing {message:?}, got {other:?}"),
    }
    assert!(
        api.get_opt(&name).await.expect("get").is_none(),
        "{name} must not be stored"
    );
}

fn server(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPServer", "metadata": {"name": name}, "spec": spec})
}

fn telemetry(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPTelemetryConfig", "metadata": {"name": name}, "spec": spec})
}

fn webhooks(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPWebhookConfig", "metadata": {"name": name}, "spec": spec})
}

fn hook(name: &str, extra: Value) -> Value {
    let mut hook = json!({"name": name, "url": "https://hooks.example/check"});
    if let (Some(hook), Some(extra)) = (hook.as_object_mut(), extra.as_object()) {
        hook.extend(extra.clone());
    }
    hook
}

#[tokio::test]
async fn cel_1_telemetry_and_ref_are_exclusive_on_create_and_update() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel1").await;
    let servers = api::<MCPServer>(&client, &ns);
    let msg =
        "telemetry and telemetryConfigRef are mutually exclusive; migrate to telemetryConfigRef";
    rejected(
        &servers,
        server("both", json!({"image": "img", "telemetry": {"prometheus": {"enabled": true}}, "telemetryConfigRef": {"name": "otel"}})),
        msg,
    )
    .await;

    let obj: DynamicObject = serde_json::from_value(server(
        "legacy",
        json!({"image": "img", "telemetry": {"prometheus": {"enabled": true}}}),
    ))
    .expect("object");
    let stored = servers
        .create(&PostParams::default(), &obj)
        .await
        .expect("legacy server stored");
    let patch = json!({"spec": {"telemetryConfigRef": {"name": "otel"}}});
    match servers
        .patch("legacy", &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert!(status.message.contains(msg), "{}", status.message);
        }
        other => panic!("update must be rejected, got {other:?}"),
    }
    let after = servers.get("legacy").await.expect("still there");
    assert_eq!(
        after.metadata.resource_version,
        stored.metadata.resource_version
    );
    assert!(after.data["spec"].get("telemetryConfigRef").is_none());
}

#[tokio::test]
async fn cel_2_header_in_both_lists() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel2").await;
    rejected(
        &api::<MCPTelemetryConfig>(&client, &ns),
        telemetry(
            "dup",
            json!({"openTelemetry": {
                "enabled": true,
                "headers": {"X-API-Key": "plain"},
                "sensitiveHeaders": [{"name": "X-API-Key", "secretKeyRef": {"name": "s", "key": "k"}}]
            }}),
        ),
        "a header name cannot appear in both headers and sensitiveHeaders",
    )
    .await;
}

#[tokio::test]
async fn cel_3_at_least_one_webhook() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel3").await;
    let api = api::<MCPWebhookConfig>(&client, &ns);
    let msg = "at least one validating or mutating webhook must be defined";
    rejected(&api, webhooks("none", json!({})), msg).await;
    rejected(
        &api,
        webhooks("empty", json!({"validating": [], "mutating": []})),
        msg,
    )
    .await;
}

#[tokio::test]
async fn cel_4_webhook_url_must_be_https() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel4").await;
    let api = api::<MCPWebhookConfig>(&client, &ns);
    let bad = json!({"validating": [{"name": "v", "url": "http://hooks.example/check"}]});
    rejected(&api, webhooks("http", bad), "webhook url must use https").await;
    let bad = json!({"mutating": [{"name": "m", "url": "not a url"}]});
    rejected(&api, webhooks("garbage", bad), "webhook url must use https").await;
}

#[tokio::test]
async fn cel_5_webhook_timeout_bounds() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel5").await;
    let api = api::<MCPWebhookConfig>(&client, &ns);
    for (name, timeout) in [("short", "500ms"), ("long", "31s"), ("minute", "1m")] {
        let spec = json!({"validating": [hook("v", json!({"timeout": timeout}))]});
        rejected(
            &api,
            webhooks(name, spec),
            "webhook timeout must be between 1s and 30s",
        )
        .await;
    }
}

#[tokio::test]
async fn cel_6_failure_policy_enum_and_default() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel6").await;
    let api = api::<MCPWebhookConfig>(&client, &ns);
    let spec = json!({"validating": [hook("v", json!({"failurePolicy": "Sometimes"}))]});
    rejected(
        &api,
        webhooks("bad-policy", spec),
        "Unsupported value: \"Sometimes\"",
    )
    .await;

    let obj: DynamicObject = serde_json::from_value(webhooks(
        "defaulted",
        json!({"validating": [hook("v", json!({}))]}),
    ))
    .expect("object");
    let stored = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("stored");
    assert_eq!(
        stored.data["spec"]["validating"][0]["failurePolicy"],
        "Fail"
    );
}

#[tokio::test]
async fn cel_7_webhook_names_unique_per_list() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel7").await;
    let api = api::<MCPWebhookConfig>(&client, &ns);
    let spec = json!({"validating": [hook("same", json!({})), hook("same", json!({}))]});
    rejected(&api, webhooks("dup-validating", spec), "Duplicate value").await;
    let spec = json!({"mutating": [hook("same", json!({})), hook("same", json!({}))]});
    rejected(&api, webhooks("dup-mutating", spec), "Duplicate value").await;

    // The same name in the two different lists is fine.
    let obj: DynamicObject = serde_json::from_value(webhooks(
        "across-lists",
        json!({"validating": [hook("same", json!({}))], "mutating": [hook("same", json!({}))]}),
    ))
    .expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("stored");
}

#[tokio::test]
async fn cel_8_ref_names_non_empty() {
    let client = client().await;
    let ns = namespace(&client, "adm-cel8").await;
    let api = api::<MCPServer>(&client, &ns);
    let msg = "should be at least 1 chars long";
    rejected(
        &api,
        server(
            "tel",
            json!({"image": "img", "telemetryConfigRef": {"name": ""}}),
        ),
        msg,
    )
    .await;
    rejected(
        &api,
        server(
            "wh",
            json!({"image": "img", "webhookConfigRef": {"name": ""}}),
        ),
        msg,
    )
    .await;
}
