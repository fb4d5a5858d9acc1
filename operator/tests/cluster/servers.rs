//! SRV, TEL, WH and REC clauses of the MCPServer controller.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use mcp_operator::api::{MCPServer, MCPTelemetryConfig, MCPWebhookConfig, Phase};
use mcp_operator::resources::CHECKSUM_ANNOTATION;
use serde_json::{Value, json};

use crate::harness::{
    DEADLINE, QUICK, client, create, events, merge, namespace, wait_event, wait_for,
};

const SECRET_VALUE: &str = "s3cr3t-header-value-0042";

struct Ns {
    client: Client,
    name: String,
    servers: Api<MCPServer>,
    telemetry: Api<MCPTelemetryConfig>,
    webhooks: Api<MCPWebhookConfig>,
    deployments: Api<Deployment>,
    services: Api<Service>,
    configmaps: Api<ConfigMap>,
}

async fn ns(name: &str) -> Ns {
    let client = client().await;
    let name = namespace(&client, name).await;
    Ns {
        servers: Api::namespaced(client.clone(), &name),
        telemetry: Api::namespaced(client.clone(), &name),
        webhooks: Api::namespaced(client.clone(), &name),
        deployments: Api::namespaced(client.clone(), &name),
        services: Api::namespaced(client.clone(), &name),
        configmaps: Api::namespaced(client.clone(), &name),
        client,
        name,
    }
}

fn condition<'a>(
    server: &'a MCPServer,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    server
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

fn has_condition(server: Option<&MCPServer>, type_: &str, status: &str, reason: &str) -> bool {
    server
        .and_then(|s| condition(s, type_))
        .is_some_and(|c| c.status == status && c.reason == reason)
}

fn phase(server: Option<&MCPServer>) -> Option<Phase> {
    server.and_then(|s| s.status.as_ref()).and_then(|s| s.phase)
}

fn checksum(deployment: Option<&Deployment>) -> Option<String> {
    deployment
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(CHECKSUM_ANNOTATION).cloned())
}

fn container_env(deployment: &Deployment) -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.iter().find(|c| c.name == "toolhive"))
        .and_then(|c| c.env.clone())
        .unwrap_or_default()
}

async fn runconfig(ns: &Ns, server: &str) -> Value {
    let cm = ns
        .configmaps
        .get(&format!("{server}-runconfig"))
        .await
        .expect("runconfig ConfigMap");
    let data = cm.data.unwrap_or_default();
    serde_json::from_str(data.get("runconfig.json").expect("runconfig.json key"))
        .expect("runconfig JSON")
}

async fn config_hash<K>(api: &Api<K>, name: &str) -> String
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    let obj = serde_json::to_value(api.get(name).await.expect("config")).expect("json");
    obj["status"]["configHash"]
        .as_str()
        .expect("configHash")
        .to_string()
}

async fn otel_config(ns: &Ns, name: &str, endpoint: &str) {
    create(
        &ns.telemetry,
        json!({
            "metadata": {"name": name},
            "spec": {
                "openTelemetry": {
                    "enabled": true,
                    "endpoint": endpoint,
                    "insecure": true,
                    "headers": {"x-tenant": "team-a"},
                    "sensitiveHeaders": [
                        {"name": "X-API-Key", "secretKeyRef": {"name": "otel-auth", "key": "api-key"}},
                        {"name": "Authorization", "secretKeyRef": {"name": "otel-auth", "key": "bearer"}}
                    ],
                    "resourceAttributes": {"deployment.environment": "test"},
                    "tracing": {"enabled": true, "samplingRate": "0.10"},
                    "metrics": {"enabled": true}
                },
                "prometheus": {"enabled": true}
            }
        }),
    )
    .await;
}

async fn mcp_server(ns: &Ns, name: &str, extra: Value) {
    let mut spec = json!({"image": "ghcr.io/example/fetch:1.0", "transport": "streamable-http"});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    create(
        &ns.servers,
        json!({"metadata": {"name": name}, "spec": spec}),
    )
    .await;
}

async fn wait_phase(ns: &Ns, server: &str, want: Phase) {
    wait_for(
        &ns.servers,
        server,
        &format!("phase {want:?}"),
        DEADLINE,
        |s: Option<&MCPServer>| phase(s) == Some(want),
    )
    .await;
}

#[tokio::test]
async fn srv_1_3_4_tel_1_to_6_children_env_runconfig_and_status() {
    let ns = ns("srv-telemetry").await;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "otel-auth"},
        "stringData": {"api-key": SECRET_VALUE, "bearer": SECRET_VALUE}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret created");
    otel_config(&ns, "otel", "https://collector.observability:4318").await;
    mcp_server(&ns, "fetch", json!({"proxyPort": 9090, "telemetryConfigRef": {"name": "otel", "serviceName": "billing"}})).await;

    wait_phase(&ns, "fetch", Phase::Ready).await;
    let server = ns.servers.get("fetch").await.expect("server");
    let status = server.status.clone().expect("status");
    assert!(has_condition(
        Some(&server),
        "Ready",
        "True",
        &condition(&server, "Ready").expect("Ready").reason
    ));
    assert!(has_condition(
        Some(&server),
        "TelemetryConfigRefValidated",
        "True",
        "TelemetryConfigRefValid"
    ));
    assert_eq!(
        status.url.as_deref(),
        Some(format!("http://mcp-fetch-proxy.{}.svc.cluster.local:9090", ns.name).as_str())
    );
    assert_eq!(status.observed_generation, server.metadata.generation);
    for c in &status.conditions {
        assert_eq!(c.observed_generation, server.metadata.generation, "{c:?}");
    }
    assert_eq!(
        status.telemetry_config_hash,
        Some(config_hash(&ns.telemetry, "otel").await)
    );

    // SRV-1 / SRV-3: the three children, owned, labelled.
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "mcpserver".to_string(),
        ),
        (
            "app.kubernetes.io/instance".to_string(),
            "fetch".to_string(),
        ),
        ("toolhive".to_string(), "true".to_string()),
        ("toolhive-name".to_string(), "fetch".to_string()),
    ]);
    let uid = server.uid().expect("uid");
    let deployment = ns.deployments.get("fetch").await.expect("Deployment fetch");
    let service = ns.services.get("mcp-fetch-proxy").await.expect("Service");
    let configmap = ns
        .configmaps
        .get("fetch-runconfig")
        .await
        .expect("ConfigMap");
    for owners in [
        deployment.metadata.owner_references.clone(),
        service.metadata.owner_references.clone(),
        configmap.metadata.owner_references.clone(),
    ] {
        let owners = owners.expect("ownerReferences");
        assert_eq!(owners.len(), 1);
        assert_eq!(
            (owners[0].uid.as_str(), owners[0].controller),
            (uid.as_str(), Some(true))
        );
        assert_eq!(owners[0].kind, "MCPServer");
    }
    let dspec = deployment.spec.clone().expect("spec");
    for (k, v) in &labels {
        assert_eq!(deployment.labels().get(k), Some(v));
        assert_eq!(
            dspec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.as_ref())
                .and_then(|l| l.get(k)),
            Some(v)
        );
        assert_eq!(service.labels().get(k), Some(v));
    }
    assert_eq!(dspec.selector.match_labels.as_ref(), Some(&labels));
    let sspec = service.spec.clone().expect("service spec");
    assert_eq!(sspec.selector.as_ref(), Some(&labels));
    let port = &sspec.ports.expect("ports")[0];
    assert_eq!((port.name.as_deref(), port.port), (Some("http"), 9090));
    let pod = dspec.template.spec.clone().expect("pod spec");
    assert_eq!(pod.containers.len(), 1);
    assert_eq!(pod.containers[0].name, "toolhive");

    // TEL-3 / TEL-4: env in order, header values only as secretKeyRefs.
    let env = container_env(&deployment);
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "OTEL_RESOURCE_ATTRIBUTES",
            "TOOLHIVE_OTEL_HEADER_X_API_KEY",
            "TOOLHIVE_OTEL_HEADER_AUTHORIZATION"
        ]
    );
    assert_eq!(
        env[0].value.as_deref(),
        Some(format!("service.name=billing,service.namespace={}", ns.name).as_str())
    );
    let key_ref = |i: usize| {
        let r = env[i]
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .expect("secretKeyRef");
        assert!(env[i].value.is_none());
        (r.name.clone(), r.key.clone())
    };
    assert_eq!(key_ref(1), ("otel-auth".to_string(), "api-key".to_string()));
    assert_eq!(key_ref(2), ("otel-auth".to_string(), "bearer".to_string()));

    // TEL-6: runconfig.json.
    let rc = runconfig(&ns, "fetch").await;
    assert_eq!(
        rc["telemetry_config"],
        json!({
            "endpoint": "collector.observability:4318",
            "serviceName": "billing",
            "tracingEnabled": true,
            "metricsEnabled": true,
            "samplingRate": "0.1",
            "headers": {"x-tenant": "team-a"},
            "insecure": true,
            "customAttributes": {"deployment.environment": "test"},
            "enablePrometheusMetricsPath": true
        })
    );
    // TEL-7: the checksum annotation is the SHA-256 of the ConfigMap data.
    assert_eq!(
        checksum(Some(&deployment)),
        Some(mcp_operator::resources::configmap::checksum(&configmap).expect("checksum"))
    );

    // TEL-5: the secret value is nowhere the operator writes.
    for text in [
        serde_json::to_string(&deployment).expect("json"),
        serde_json::to_string(&configmap).expect("json"),
        serde_json::to_string(&server).expect("json"),
        serde_json::to_string(&ns.telemetry.get("otel").await.expect("config")).expect("json"),
    ] {
        assert!(!text.contains(SECRET_VALUE));
    }
}

#[tokio::test]
async fn tel_1_wh_1_missing_invalid_and_recovered_references() {
    let ns = ns("srv-refs").await;
    mcp_server(
        &ns,
        "needs-otel",
        json!({"telemetryConfigRef": {"name": "otel"}}),
    )
    .await;
    mcp_server(
        &ns,
        "needs-hooks",
        json!({"webhookConfigRef": {"name": "hooks"}}),
    )
    .await;
    wait_for(
        &ns.servers,
        "needs-otel",
        "TelemetryConfigRefNotFound",
        QUICK,
        |s| {
            has_condition(
                s,
                "TelemetryConfigRefValidated",
                "False",
                "TelemetryConfigRefNotFound",
            ) && phase(s) == Some(Phase::Failed)
        },
    )
    .await;
    wait_for(
        &ns.servers,
        "needs-hooks",
        "WebhookConfigRefNotFound",
        QUICK,
        |s| {
            has_condition(
                s,
                "WebhookConfigRefValidated",
                "False",
                "WebhookConfigRefNotFound",
            ) && phase(s) == Some(Phase::Failed)
                && has_condition(s, "Ready", "False", "WebhookConfigRefNotFound")
        },
    )
    .await;
    assert!(
        ns.deployments
            .get_opt("needs-otel")
            .await
            .expect("get")
            .is_none()
    );

    // Creating the configs later recovers both servers without touching them.
    otel_config(&ns, "otel", "collector:4318").await;
    create(
        &ns.webhooks,
        json!({"metadata": {"name": "hooks"}, "spec": {"mutating": [{"name": "m", "url": "https://hooks.example/m"}]}}),
    )
    .await;
    wait_for(
        &ns.servers,
        "needs-otel",
        "TelemetryConfigRefValid",
        QUICK,
        |s| {
            has_condition(
                s,
                "TelemetryConfigRefValidated",
                "True",
                "TelemetryConfigRefValid",
            ) && phase(s) != Some(Phase::Failed)
        },
    )
    .await;
    wait_for(
        &ns.servers,
        "needs-hooks",
        "WebhookConfigRefValid",
        QUICK,
        |s| {
            has_condition(
                s,
                "WebhookConfigRefValidated",
                "True",
                "WebhookConfigRefValid",
            ) && phase(s) != Some(Phase::Failed)
        },
    )
    .await;

    // An invalid config fails the server.
    merge(&ns.telemetry, "otel", json!({"spec": {"openTelemetry": {"tracing": {"enabled": false}, "metrics": {"enabled": false}}}})).await;
    wait_for(
        &ns.servers,
        "needs-otel",
        "TelemetryConfigRefInvalid",
        QUICK,
        |s| {
            has_condition(
                s,
                "TelemetryConfigRefValidated",
                "False",
                "TelemetryConfigRefInvalid",
            ) && phase(s) == Some(Phase::Failed)
        },
    )
    .await;
}

#[tokio::test]
async fn tel_2_tel_7_config_edit_rolls_only_referencing_deployments() {
    let ns = ns("srv-cascade").await;
    otel_config(&ns, "shared", "collector:4318").await;
    otel_config(&ns, "unrelated", "other:4318").await;
    for (server, cfg) in [("a", "shared"), ("b", "shared"), ("c", "unrelated")] {
        mcp_server(&ns, server, json!({"telemetryConfigRef": {"name": cfg}})).await;
    }
    for server in ["a", "b", "c"] {
        wait_for(
            &ns.deployments,
            server,
            "Deployment with checksum",
            DEADLINE,
            |d| checksum(d).is_some(),
        )
        .await;
    }
    let shared_hash = config_hash(&ns.telemetry, "shared").await;
    for server in ["a", "b"] {
        let want = shared_hash.clone();
        wait_for(
            &ns.servers,
            server,
            "hash copied",
            QUICK,
            move |s: Option<&MCPServer>| {
                s.and_then(|s| s.status.as_ref())
                    .and_then(|s| s.telemetry_config_hash.clone())
                    == Some(want.clone())
            },
        )
        .await;
    }
    let before: Vec<Option<String>> = {
        let mut v = Vec::new();
        for server in ["a", "b"] {
            v.push(checksum(Some(
                &ns.deployments.get(server).await.expect("deployment"),
            )));
        }
        v
    };
    let c_before = ns.deployments.get("c").await.expect("c");

    merge(
        &ns.telemetry,
        "shared",
        json!({"spec": {"openTelemetry": {"tracing": {"samplingRate": "0.5"}}}}),
    )
    .await;
    for (i, server) in ["a", "b"].into_iter().enumerate() {
        let old = before[i].clone();
        wait_for(
            &ns.deployments,
            server,
            "checksum changed",
            QUICK,
            move |d| checksum(d).is_some() && checksum(d) != old,
        )
        .await;
    }
    let new_hash = config_hash(&ns.telemetry, "shared").await;
    assert_ne!(new_hash, shared_hash);
    for server in ["a", "b"] {
        let want = new_hash.clone();
        wait_for(
            &ns.servers,
            server,
            "hash follows",
            QUICK,
            move |s: Option<&MCPServer>| {
                s.and_then(|s| s.status.as_ref())
                    .and_then(|s| s.telemetry_config_hash.clone())
                    == Some(want.clone())
            },
        )
        .await;
        assert_eq!(
            runconfig(&ns, server).await["telemetry_config"]["samplingRate"],
            "0.5"
        );
    }
    let c_after = ns.deployments.get("c").await.expect("c");
    assert_eq!(c_after.metadata.generation, c_before.metadata.generation);
    assert_eq!(checksum(Some(&c_after)), checksum(Some(&c_before)));

    // Env drift is corrected.
    let tamper = json!({"spec": {"template": {"spec": {"containers": [{"name": "toolhive", "env": [{"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "tampered"}]}]}}}});
    ns.deployments
        .patch(
            "a",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Strategic(&tamper),
        )
        .await
        .expect("tampered");
    let want = format!("service.name=a,service.namespace={}", ns.name);
    wait_for(
        &ns.deployments,
        "a",
        "env drift corrected",
        QUICK,
        move |d: Option<&Deployment>| {
            d.is_some_and(|d| {
                container_env(d).first().and_then(|e| e.value.clone()) == Some(want.clone())
            })
        },
    )
    .await;
}

#[tokio::test]
async fn tel_8_removing_the_reference_cleans_up() {
    let ns = ns("srv-tel-remove").await;
    otel_config(&ns, "otel", "collector:4318").await;
    mcp_server(
        &ns,
        "fetch",
        json!({"telemetryConfigRef": {"name": "otel"}}),
    )
    .await;
    wait_for(
        &ns.deployments,
        "fetch",
        "env injected",
        DEADLINE,
        |d: Option<&Deployment>| d.is_some_and(|d| container_env(d).len() == 3),
    )
    .await;

    merge(
        &ns.servers,
        "fetch",
        json!({"spec": {"telemetryConfigRef": null}}),
    )
    .await;
    wait_for(
        &ns.deployments,
        "fetch",
        "env removed",
        QUICK,
        |d: Option<&Deployment>| d.is_some_and(|d| container_env(d).is_empty()),
    )
    .await;
    wait_for(
        &ns.servers,
        "fetch",
        "hash and condition cleared",
        QUICK,
        |s: Option<&MCPServer>| {
            s.is_some_and(|s| {
                condition(s, "TelemetryConfigRefValidated").is_none()
                    && s.status.as_ref().is_some_and(|st| {
                        st.telemetry_config_hash.is_none()
                            && st.observed_generation == s.metadata.generation
                    })
            })
        },
    )
    .await;
    assert!(
        runconfig(&ns, "fetch")
            .await
            .get("telemetry_config")
            .is_none()
    );
    wait_for(
        &ns.telemetry,
        "otel",
        "server unlisted",
        QUICK,
        |c: Option<&MCPTelemetryConfig>| {
            c.and_then(|c| c.status.as_ref())
                .is_some_and(|s| s.referencing_servers.is_empty())
        },
    )
    .await;
}

#[tokio::test]
async fn tel_9_deprecated_inline_telemetry() {
    let ns = ns("srv-inline").await;
    mcp_server(
        &ns,
        "legacy",
        json!({"telemetry": {
            "openTelemetry": {
                "enabled": true,
                "endpoint": "http://otel:4318",
                "serviceName": "old-name",
                "headers": ["x-tenant=a=b"],
                "tracing": {"enabled": true, "samplingRate": "1.0"}
            },
            "prometheus": {"enabled": true}
        }}),
    )
    .await;
    wait_for(&ns.deployments, "legacy", "Deployment", DEADLINE, |d| {
        d.is_some()
    })
    .await;
    let deployment = ns.deployments.get("legacy").await.expect("deployment");
    let env = container_env(&deployment);
    assert_eq!(env.len(), 1);
    assert_eq!(
        env[0].value.as_deref(),
        Some(format!("service.name=old-name,service.namespace={}", ns.name).as_str())
    );
    let tc = runconfig(&ns, "legacy").await["telemetry_config"].clone();
    assert_eq!(tc["endpoint"], "otel:4318");
    assert_eq!(tc["headers"], json!({"x-tenant": "a=b"}));
    assert_eq!(tc["samplingRate"], "1");
    assert_eq!(tc["enablePrometheusMetricsPath"], true);

    wait_event(&ns.client, &ns.name, "legacy", "DeprecatedField").await;
    // A spec edit reconciles again; the warning is not repeated.
    merge(&ns.servers, "legacy", json!({"spec": {"proxyPort": 8081}})).await;
    wait_for(
        &ns.servers,
        "legacy",
        "edit observed",
        QUICK,
        |s: Option<&MCPServer>| {
            s.is_some_and(|s| {
                s.status.as_ref().and_then(|st| st.observed_generation) == s.metadata.generation
            })
        },
    )
    .await;
    let warnings = events(&ns.client, &ns.name, "legacy", "DeprecatedField").await;
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].series.is_none(),
        "the warning was repeated: {:?}",
        warnings[0].series
    );
    assert_eq!(warnings[0].type_.as_deref(), Some("Warning"));
}

#[tokio::test]
async fn wh_2_3_4_6_webhooks_by_reference() {
    let ns = ns("srv-webhooks").await;
    create(
        &ns.webhooks,
        json!({"metadata": {"name": "hooks"}, "spec": {
            "validating": [{
                "name": "policy",
                "url": "https://policy.example/validate",
                "timeout": "5s",
                "failurePolicy": "Ignore",
                "tlsConfig": {
                    "caSecretRef": {"name": "hook-ca", "key": "ca.crt"},
                    "clientCertSecretRef": {"name": "hook-client", "key": "tls.crt"}
                },
                "hmacSecretRef": {"name": "hook-hmac", "key": "signing-key"}
            }],
            "mutating": [{"name": "redact", "url": "https://redact.example/mutate"}]
        }}),
    )
    .await;
    mcp_server(
        &ns,
        "guarded",
        json!({"webhookConfigRef": {"name": "hooks"}}),
    )
    .await;
    let hash = {
        wait_for(
            &ns.webhooks,
            "hooks",
            "hashed",
            DEADLINE,
            |c: Option<&MCPWebhookConfig>| {
                c.and_then(|c| c.status.as_ref())
                    .is_some_and(|s| s.config_hash.is_some())
            },
        )
        .await;
        config_hash(&ns.webhooks, "hooks").await
    };
    wait_for(
        &ns.servers,
        "guarded",
        "webhook hash copied",
        DEADLINE,
        move |s: Option<&MCPServer>| {
            s.and_then(|s| s.status.as_ref())
                .and_then(|s| s.webhook_config_hash.clone())
                == Some(hash.clone())
        },
    )
    .await;

    let rc = runconfig(&ns, "guarded").await;
    assert_eq!(
        rc["validating_webhooks"],
        json!([{
            "name": "policy",
            "url": "https://policy.example/validate",
            "timeout_seconds": 5,
            "failure_policy": "ignore",
            "tls_config": {
                "ca_bundle_path": "/etc/toolhive/webhooks/validating-0/ca/ca.crt",
                "client_cert_path": "/etc/toolhive/webhooks/validating-0/client-cert/tls.crt",
                "client_key_path": "/etc/toolhive/webhooks/validating-0/client-cert/tls.key"
            },
            "hmac_secret_path": "/etc/toolhive/webhooks/validating-0/hmac/signing-key"
        }])
    );
    assert_eq!(
        rc["mutating_webhooks"],
        json!([{"name": "redact", "url": "https://redact.example/mutate", "timeout_seconds": 10, "failure_policy": "fail"}])
    );

    let deployment = ns.deployments.get("guarded").await.expect("deployment");
    let pod = deployment.spec.and_then(|s| s.template.spec).expect("pod");
    let secrets: Vec<(String, String)> = pod
        .volumes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| {
            v.secret
                .map(|s| (v.name, s.secret_name.unwrap_or_default()))
        })
        .collect();
    assert_eq!(
        secrets,
        [
            (
                "webhook-validating-0-hmac".to_string(),
                "hook-hmac".to_string()
            ),
            ("webhook-validating-0-ca".to_string(), "hook-ca".to_string()),
            (
                "webhook-validating-0-client-cert".to_string(),
                "hook-client".to_string()
            ),
        ]
    );
    let mounts = pod.containers[0].volume_mounts.clone().unwrap_or_default();
    for (volume, _) in &secrets {
        let mount = mounts.iter().find(|m| &m.name == volume).expect("mounted");
        assert_eq!(mount.read_only, Some(true));
    }
    assert!(container_env(&{ ns.deployments.get("guarded").await.expect("d") }).is_empty());

    // WH-5: a webhook config change rebuilds runconfig.json and rolls the proxy.
    let before = checksum(Some(&ns.deployments.get("guarded").await.expect("d")));
    merge(
        &ns.webhooks,
        "hooks",
        json!({"spec": {"mutating": [{"name": "redact", "url": "https://redact.example/mutate", "timeout": "20s"}]}}),
    )
    .await;
    wait_for(
        &ns.deployments,
        "guarded",
        "rolled after the webhook edit",
        QUICK,
        move |d| checksum(d).is_some() && checksum(d) != before,
    )
    .await;
    assert_eq!(
        runconfig(&ns, "guarded").await["mutating_webhooks"][0]["timeout_seconds"],
        20
    );

    // WH-6: dropping the reference removes it all.
    merge(
        &ns.servers,
        "guarded",
        json!({"spec": {"webhookConfigRef": null}}),
    )
    .await;
    wait_for(
        &ns.deployments,
        "guarded",
        "secret volumes removed",
        QUICK,
        |d: Option<&Deployment>| {
            d.and_then(|d| d.spec.as_ref())
                .and_then(|s| s.template.spec.as_ref())
                .is_some_and(|p| p.volumes.iter().flatten().all(|v| v.secret.is_none()))
        },
    )
    .await;
    let rc = runconfig(&ns, "guarded").await;
    assert!(rc.get("validating_webhooks").is_none() && rc.get("mutating_webhooks").is_none());
    wait_for(
        &ns.servers,
        "guarded",
        "hash and condition cleared",
        QUICK,
        |s: Option<&MCPServer>| {
            s.is_some_and(|s| {
                condition(s, "WebhookConfigRefValidated").is_none()
                    && s.status
                        .as_ref()
                        .is_some_and(|st| st.webhook_config_hash.is_none())
            })
        },
    )
    .await;
    wait_for(
        &ns.webhooks,
        "hooks",
        "server unlisted",
        QUICK,
        |c: Option<&MCPWebhookConfig>| {
            c.and_then(|c| c.status.as_ref())
                .is_some_and(|s| s.referencing_servers.is_empty())
        },
    )
    .await;
}

#[tokio::test]
async fn srv_2_children_are_garbage_collected() {
    let ns = ns("srv-gc").await;
    mcp_server(&ns, "short-lived", json!({})).await;
    wait_for(
        &ns.deployments,
        "short-lived",
        "Deployment",
        DEADLINE,
        |d| d.is_some(),
    )
    .await;
    wait_for(
        &ns.services,
        "mcp-short-lived-proxy",
        "Service",
        DEADLINE,
        |s| s.is_some(),
    )
    .await;
    wait_for(
        &ns.configmaps,
        "short-lived-runconfig",
        "ConfigMap",
        DEADLINE,
        |c| c.is_some(),
    )
    .await;

    ns.servers
        .delete("short-lived", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for(
        &ns.deployments,
        "short-lived",
        "Deployment collected",
        DEADLINE,
        |d| d.is_none(),
    )
    .await;
    wait_for(
        &ns.services,
        "mcp-short-lived-proxy",
        "Service collected",
        DEADLINE,
        |s| s.is_none(),
    )
    .await;
    wait_for(
        &ns.configmaps,
        "short-lived-runconfig",
        "ConfigMap collected",
        DEADLINE,
        |c| c.is_none(),
    )
    .await;
}

#[tokio::test]
async fn rec_1_nothing_is_written_when_nothing_changes() {
    let ns = ns("srv-idle").await;
    otel_config(&ns, "otel", "collector:4318").await;
    create(
        &ns.webhooks,
        json!({"metadata": {"name": "hooks"}, "spec": {"validating": [{"name": "v", "url": "https://v.example", "hmacSecretRef": {"name": "h", "key": "k"}}]}}),
    )
    .await;
    mcp_server(
        &ns,
        "steady",
        json!({"telemetryConfigRef": {"name": "otel"}, "webhookConfigRef": {"name": "hooks"}}),
    )
    .await;
    wait_phase(&ns, "steady", Phase::Ready).await;
    wait_for(
        &ns.telemetry,
        "otel",
        "listed",
        QUICK,
        |c: Option<&MCPTelemetryConfig>| {
            c.and_then(|c| c.status.as_ref())
                .is_some_and(|s| s.referencing_servers == ["steady"])
        },
    )
    .await;

    // Touch metadata only: every controller reconciles, none may write.
    merge(
        &ns.servers,
        "steady",
        json!({"metadata": {"annotations": {"touch": "1"}}}),
    )
    .await;
    merge(
        &ns.telemetry,
        "otel",
        json!({"metadata": {"labels": {"touch": "1"}}}),
    )
    .await;
    merge(
        &ns.webhooks,
        "hooks",
        json!({"metadata": {"labels": {"touch": "1"}}}),
    )
    .await;

    async fn versions(ns: &Ns) -> Vec<(String, Option<String>)> {
        vec![
            (
                "server".into(),
                ns.servers
                    .get("steady")
                    .await
                    .expect("s")
                    .resource_version(),
            ),
            (
                "telemetry".into(),
                ns.telemetry
                    .get("otel")
                    .await
                    .expect("t")
                    .resource_version(),
            ),
            (
                "webhooks".into(),
                ns.webhooks
                    .get("hooks")
                    .await
                    .expect("w")
                    .resource_version(),
            ),
            (
                "deployment".into(),
                ns.deployments
                    .get("steady")
                    .await
                    .expect("d")
                    .resource_version(),
            ),
            (
                "service".into(),
                ns.services
                    .get("mcp-steady-proxy")
                    .await
                    .expect("svc")
                    .resource_version(),
            ),
            (
                "configmap".into(),
                ns.configmaps
                    .get("steady-runconfig")
                    .await
                    .expect("cm")
                    .resource_version(),
            ),
        ]
    }
    let before = versions(&ns).await;
    // Watch every object for a quiet window (the touches above are reconciled within
    // it): any write fails the test at once; no write lets the window run out.
    let watchers = vec![
        first_write(ns.servers.clone(), "steady", "server"),
        first_write(ns.telemetry.clone(), "otel", "telemetry config"),
        first_write(ns.webhooks.clone(), "hooks", "webhook config"),
        first_write(ns.deployments.clone(), "steady", "deployment"),
        first_write(ns.services.clone(), "mcp-steady-proxy", "service"),
        first_write(ns.configmaps.clone(), "steady-runconfig", "configmap"),
    ];
    let written = tokio::time::timeout(
        Duration::from_secs(6),
        futures::future::select_all(watchers),
    )
    .await;
    if let Ok((what, _, _)) = written {
        panic!("the operator wrote the {what} while nothing changed");
    }
    let after = versions(&ns).await;
    assert_eq!(before, after, "the operator wrote while nothing changed");
}

/// Resolves with `label` on the first write to `name` after the watch has synced.
fn first_write<K>(
    api: Api<K>,
    name: &str,
    label: &'static str,
) -> futures::future::BoxFuture<'static, &'static str>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    K::DynamicType: Default,
{
    use futures::{FutureExt, StreamExt};
    use kube::runtime::watcher::{self, Event};
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    async move {
        let mut events = std::pin::pin!(watcher::watcher(api, config));
        let mut synced = false;
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::InitDone) => synced = true,
                Ok(Event::Apply(_) | Event::Delete(_)) if synced => return label,
                _ => {}
            }
        }
        label
    }
    .boxed()
}

#[tokio::test]
async fn rec_4_references_resolve_in_the_servers_own_namespace() {
    let one = ns("srv-ns-one").await;
    let two = ns("srv-ns-two").await;
    otel_config(&one, "otel", "collector-one:4318").await;
    otel_config(&two, "otel", "collector-two:4318").await;
    mcp_server(
        &one,
        "fetch",
        json!({"telemetryConfigRef": {"name": "otel"}}),
    )
    .await;
    mcp_server(
        &two,
        "fetch",
        json!({"telemetryConfigRef": {"name": "otel"}}),
    )
    .await;
    for (ns, endpoint) in [(&one, "collector-one:4318"), (&two, "collector-two:4318")] {
        wait_for(&ns.deployments, "fetch", "Deployment", DEADLINE, |d| {
            d.is_some()
        })
        .await;
        assert_eq!(
            runconfig(ns, "fetch").await["telemetry_config"]["endpoint"],
            endpoint
        );
        wait_for(
            &ns.telemetry,
            "otel",
            "only its own server",
            QUICK,
            |c: Option<&MCPTelemetryConfig>| {
                c.and_then(|c| c.status.as_ref())
                    .is_some_and(|s| s.referencing_servers == ["fetch"])
            },
        )
        .await;
    }
}
