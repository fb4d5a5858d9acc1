//! The evidence folder of a failed scenario, collected from a real cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::core::v1::Namespace;
use kanon::cluster::LocalCluster;
use kanon::ops::apply::{WriteOptions, apply};
use kanon::ops::{ObjectRef, OpEnv};
use kanon::report::evidence::{EvidenceInput, collect};
use kanon::report::model::{Failure, SourceLocation};
use kube::api::{Api, PostParams};
use serde_json::json;

#[tokio::test]
async fn evidence_holds_objects_events_failure_and_logs_without_secrets() {
    let cluster = LocalCluster::shared().await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = "evidence-test";
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    let env = OpEnv::connect(client.clone(), ns, cluster.kubeconfig_path());
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
        "stringData": {"password": "s3cr3t-value"}});
    apply(&env, secret, WriteOptions::default()).await.unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}});
    apply(&env, cm, WriteOptions::default()).await.unwrap();
    let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "cfg.1"},
        "involvedObject": {"kind": "ConfigMap", "name": "cfg", "namespace": ns},
        "reason": "Tested", "message": "something happened", "type": "Warning"});
    apply(&env, event, WriteOptions::default()).await.unwrap();

    let mut objects = env.created.lock().unwrap().clone();
    objects.push(ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(ns.into()),
        name: "never-created".into(),
    });
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("scenario-x");
    let input = EvidenceInput {
        objects,
        location: Some(SourceLocation {
            file: "scenarios/x/scenario.yaml".into(),
            line: 14,
            column: 5,
        }),
        failure: Failure {
            message: "assert: no ConfigMap matched".into(),
            errors: vec!["data.k: expected \"w\", got \"v\"".into()],
            diff: "-k: w\n+k: v".into(),
        },
        logs: vec![("operator".into(), "reconciled cfg\n".into())],
    };
    collect(&env, &dir, &input).await.unwrap();

    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    let failure = read("failure.txt");
    assert!(
        failure.starts_with("scenarios/x/scenario.yaml:14:5: assert: no ConfigMap matched"),
        "{failure}"
    );
    assert!(failure.contains("+k: v"));
    let secret_yaml = read(&format!("objects/secret.{ns}.creds.yaml"));
    assert!(secret_yaml.contains("<redacted>"), "{secret_yaml}");
    assert!(!secret_yaml.contains("s3cr3t-value"));
    assert!(read(&format!("objects/configmap.{ns}.cfg.yaml")).contains("k: v"));
    assert!(
        read(&format!("objects/configmap.{ns}.never-created.yaml")).contains("no ConfigMap found")
    );
    let events = read("events.txt");
    assert!(
        events.contains("Tested") && events.contains("something happened"),
        "{events}"
    );
    assert_eq!(read("logs/operator.log"), "reconciled cfg\n");
    // Nothing anywhere in the folder leaks the secret.
    for entry in walk(&dir) {
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(
            !text.contains("s3cr3t-value"),
            "{} leaks the secret",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
