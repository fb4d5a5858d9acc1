//! Operations against a real API server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kanon::cluster::LocalCluster;
use kanon::k8s::selector::LabelSelector;
use kanon::ops::apply::{self, ApplyMode, WriteOptions};
use kanon::ops::command::{ProcessSpec, run};
use kanon::ops::delete::{DeleteSpec, delete};
use kanon::ops::jsonpath::JsonPath;
use kanon::ops::wait::{WaitFor, WaitSpec, wait};
use kanon::ops::{OpEnv, OpError, assert as assertion, diagnostics, patch};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn env(ns: &str) -> OpEnv {
    let cluster = LocalCluster::shared().await.unwrap();
    let client = cluster.client().await.unwrap();
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    OpEnv::connect(client.clone(), ns, cluster.kubeconfig_path())
}

/// A tiny partial matcher standing in for assertion trees: every key of `expected`
/// must be in `actual` with an equal value (maps recursively).
fn subset(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let p = format!("{path}.{k}");
                subset(v, a.get(k).unwrap_or(&Value::Null), &p)?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: want {e}, got {a}")),
    }
}

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

#[tokio::test]
async fn apply_create_update_and_patch() {
    let env = env("ops-write").await;
    let stored = apply::apply(&env, cm("a", json!({"k": "1"})), WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        stored["metadata"]["namespace"], "ops-write",
        "namespace injected"
    );
    assert_eq!(env.created.lock().unwrap().len(), 1, "recorded for cleanup");
    let stored = apply::apply(&env, cm("a", json!({"k": "2"})), WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(stored["data"]["k"], "2");
    assert_eq!(
        env.created.lock().unwrap().len(),
        1,
        "an update is not a creation"
    );

    let merge = WriteOptions {
        mode: ApplyMode::Merge,
        ..Default::default()
    };
    apply::apply(&env, cm("b", json!({"x": "1"})), merge)
        .await
        .unwrap();
    let merged = apply::apply(&env, cm("b", json!({"y": "2"})), merge)
        .await
        .unwrap();
    assert_eq!(
        merged["data"],
        json!({"x": "1", "y": "2"}),
        "merge keeps other keys"
    );

    let err = apply::create(&env, cm("a", json!({})), WriteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OpError::Api { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");

    let dry = WriteOptions {
        dry_run: true,
        ..Default::default()
    };
    apply::create(&env, cm("dry", json!({})), dry)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "ops-write");
    assert!(
        cms.get_opt("dry").await.unwrap().is_none(),
        "dry run stores nothing"
    );

    let updated = apply::update(
        &env,
        cm("a", json!({"only": "this"})),
        WriteOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(updated["data"], json!({"only": "this"}), "update replaces");
    let mut stale = cm("a", json!({}));
    stale["metadata"]["resourceVersion"] = json!("1");
    let err = apply::update(&env, stale, WriteOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("409") || err.to_string().to_lowercase().contains("conflict"),
        "{err}"
    );

    let patched = patch::patch(&env, cm("a", json!({"added": "yes"})), None, false)
        .await
        .unwrap();
    assert_eq!(patched["data"]["added"], "yes");
    assert_eq!(patched["data"]["only"], "this");
}

#[tokio::test]
async fn assert_error_and_consistently_follow_the_cluster() {
    let env = env("ops-assert").await;
    let tree = cm("late", json!({"ready": "yes"}));
    let writer_env = env.clone();
    tokio::spawn(async move {
        apply::apply(
            &writer_env,
            cm("late", json!({"ready": "no"})),
            WriteOptions::default(),
        )
        .await
        .unwrap();
        apply::apply(
            &writer_env,
            cm("late", json!({"ready": "yes"})),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    });
    let matched = assertion::assert(&env, &tree, Duration::from_secs(20), |a| {
        subset(&tree, a, "")
    })
    .await
    .unwrap()
    .expect("passes once the object matches");
    assert_eq!(matched.name, "late");
    assert_eq!(
        matched.object["kind"], "ConfigMap",
        "kind filled in for the matcher"
    );

    let wrong = cm("late", json!({"ready": "never"}));
    let unmatched = assertion::assert(&env, &wrong, Duration::from_millis(400), |a| {
        subset(&wrong, a, "")
    })
    .await
    .unwrap()
    .expect_err("never matches");
    assert_eq!(unmatched.candidates.len(), 1);
    assert!(
        unmatched.candidates[0]
            .1
            .contains(".data.ready: want \"never\""),
        "{:?}",
        unmatched.candidates
    );

    let missing = cm("nobody", json!({}));
    let unmatched = assertion::assert(&env, &missing, Duration::from_millis(300), |a| {
        subset(&missing, a, "")
    })
    .await
    .unwrap()
    .expect_err("no such object");
    assert!(unmatched.candidates.is_empty());

    // error: passes when nothing matches; fails while something does.
    assertion::error(&env, &wrong, Duration::from_secs(5), |a| {
        subset(&wrong, a, "")
    })
    .await
    .unwrap()
    .expect("nothing matches the wrong tree");
    let still = assertion::error(&env, &tree, Duration::from_millis(300), |a| {
        subset(&tree, a, "")
    })
    .await
    .unwrap()
    .expect_err("it does match");
    assert_eq!(still.name, "late");

    // consistently: holds while quiet, breaks on the write that changes it.
    assertion::consistently(
        &env,
        &tree,
        Duration::from_millis(300),
        Duration::from_secs(10),
        |a| subset(&tree, a, ""),
    )
    .await
    .unwrap()
    .expect("holds");
    let breaker = env.clone();
    tokio::spawn(async move {
        apply::apply(
            &breaker,
            cm("late", json!({"ready": "broken"})),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    });
    let broke = assertion::consistently(
        &env,
        &tree,
        Duration::from_secs(30),
        Duration::from_secs(10),
        |a| subset(&tree, a, ""),
    )
    .await
    .unwrap()
    .expect_err("the write breaks it");
    assert!(broke.candidates[0].1.contains("broken"));
}

#[tokio::test]
async fn delete_waits_for_finalizers() {
    let env = env("ops-delete").await;
    let mut obj = cm("held", json!({}));
    obj["metadata"]["finalizers"] = json!(["kanon.dev/test-hold"]);
    apply::apply(&env, obj, WriteOptions::default())
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "ops-delete");
    let releaser = tokio::spawn({
        let cms = cms.clone();
        async move {
            // Release the finalizer once the deletion is under way.
            let mut w = std::pin::pin!(kube::runtime::wait::await_condition(
                cms.clone(),
                "held",
                |c: Option<&ConfigMap>| c.is_some_and(|c| c.metadata.deletion_timestamp.is_some())
            ));
            tokio::time::timeout(Duration::from_secs(20), &mut w)
                .await
                .unwrap()
                .unwrap();
            let p = json!({"metadata": {"finalizers": null}});
            cms.patch("held", &PatchParams::default(), &Patch::Merge(&p))
                .await
                .unwrap();
        }
    });
    let spec = DeleteSpec {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: Some("held".into()),
        ..Default::default()
    };
    let deleted = delete(&env, &spec, Duration::from_secs(20)).await.unwrap();
    releaser.await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert!(
        cms.get_opt("held").await.unwrap().is_none(),
        "gone when delete returns"
    );
    assert!(
        env.created.lock().unwrap().is_empty(),
        "no longer to clean up"
    );
    // Deleting what is not there is fine.
    assert!(
        delete(&env, &spec, Duration::from_secs(5))
            .await
            .unwrap()
            .is_empty()
    );

    // By selector.
    for n in ["s1", "s2"] {
        let mut o = cm(n, json!({}));
        o["metadata"]["labels"] = json!({"group": "sel"});
        apply::apply(&env, o, WriteOptions::default())
            .await
            .unwrap();
    }
    let by_label = DeleteSpec {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        selector: Some("group=sel".into()),
        ..Default::default()
    };
    assert_eq!(
        delete(&env, &by_label, Duration::from_secs(20))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn wait_for_condition_jsonpath_creation_and_deletion() {
    let env = env("ops-wait").await;
    let spec = |for_: WaitFor| WaitSpec {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: Some("web".into()),
        selector: LabelSelector::default(),
        namespace: None,
        for_,
    };
    let creator = env.clone();
    tokio::spawn(async move {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}}}
        });
        apply::apply(&creator, d, WriteOptions::default())
            .await
            .unwrap();
    });
    assert_eq!(
        wait(&env, &spec(WaitFor::Creation), Duration::from_secs(20))
            .await
            .unwrap(),
        1
    );
    wait(
        &env,
        &spec(WaitFor::Condition {
            name: "Available".into(),
            value: Some("True".into()),
        }),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    wait(
        &env,
        &spec(WaitFor::JsonPath {
            path: JsonPath::parse("{.status.availableReplicas}").unwrap(),
            value: Some("1".into()),
        }),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let err = wait(
        &env,
        &spec(WaitFor::Condition {
            name: "Nope".into(),
            value: None,
        }),
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no condition Nope"), "{err}");

    let gone = DeleteSpec {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: Some("web".into()),
        ..Default::default()
    };
    delete(&env, &gone, Duration::from_secs(30)).await.unwrap();
    wait(&env, &spec(WaitFor::Deletion), Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn commands_see_the_cluster_and_are_bounded() {
    let env = env("ops-command").await;
    let out = run(
        &env,
        &ProcessSpec::script(
            "echo ns=$NAMESPACE; test -s \"$KUBECONFIG\" && echo kubeconfig-ok; echo oops >&2",
            Duration::from_secs(10),
        ),
    )
    .await
    .unwrap();
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout, "ns=ops-command\nkubeconfig-ok\n");
    assert_eq!(out.stderr, "oops\n");
    assert_eq!(out.bindings()["$error"], Value::Null);

    let failed = run(
        &env,
        &ProcessSpec::script("exit 3", Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.error.as_deref(), Some("exit status 3"));

    let slow = run(
        &env,
        &ProcessSpec::script("sleep 30 & sleep 30", Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert!(
        slow.error.as_deref().unwrap().contains("timed out"),
        "{slow:?}"
    );
    assert!(slow.duration < Duration::from_secs(5));

    let missing = run(
        &env,
        &ProcessSpec {
            program: "/nonexistent/tool".into(),
            args: vec![],
            env: vec![],
            work_dir: None,
            timeout: Duration::from_secs(5),
        },
    )
    .await
    .unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/tool"),
        "{missing}"
    );
}

#[tokio::test]
async fn diagnostics_render_objects_and_events_without_secrets() {
    let env = env("ops-diag").await;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"token": "hunter2"}});
    apply::apply(&env, secret, WriteOptions::default())
        .await
        .unwrap();
    let text = diagnostics::get(
        &env,
        &diagnostics::Lookup {
            api_version: "v1".into(),
            kind: "Secret".into(),
            name: Some("s".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(text.contains("<redacted>"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("aHVudGVyMg"),
        "{text}"
    );
    assert!(text.contains("name: s"), "{text}");
    let events = diagnostics::events(&env, None).await.unwrap();
    assert!(!events.contains("hunter2"));
}

#[tokio::test]
async fn crds_install_from_a_folder_and_namespaces_come_and_go() {
    use kanon::engine::{crds, namespace};
    let env = env("ops-infra").await;
    let dir = tempfile::tempdir().unwrap();
    let crd = |plural: &str, kind: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.infra.kanon.dev
spec:
  group: infra.kanon.dev
  names: {{kind: {kind}, plural: {plural}, singular: {}}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
",
            kind.to_lowercase()
        )
    };
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("{}---\n{}", crd("apples", "Apple"), crd("pears", "Pear")),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml, not read").unwrap();
    let names = crds::install(&env, &[dir.path().to_path_buf()], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(names, ["apples.infra.kanon.dev", "pears.infra.kanon.dev"]);
    let obj =
        json!({"apiVersion": "infra.kanon.dev/v1", "kind": "Apple", "metadata": {"name": "a"}});
    apply::apply(&env, obj, WriteOptions::default())
        .await
        .unwrap();

    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("broken.yaml"), "kind: [unclosed\n").unwrap();
    let err = crds::install(&env, std::slice::from_ref(&bad), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("broken.yaml"), "{err}");

    let name = namespace::namespace_name("infra test", &namespace::random_suffix());
    namespace::create(&env, &name, "run-1").await.unwrap();
    let nss: Api<Namespace> = Api::all(env.client.clone());
    let ns = nss.get(&name).await.unwrap();
    assert_eq!(
        ns.metadata.labels.unwrap()[namespace::CREATED_BY_LABEL],
        "kanon"
    );
    namespace::delete_namespace(&env, &name, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(nss.get_opt(&name).await.unwrap().is_none());
}

#[tokio::test]
async fn update_survives_a_writer_in_between() {
    let env = env("ops-update-race").await;
    apply::create(
        &env,
        cm("raced", json!({"n": "0"})),
        WriteOptions::default(),
    )
    .await
    .unwrap();
    // Another writer (as a controller would) changes the object every 50 ms, so the
    // resourceVersion `update` reads is often stale by the time it writes.
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "ops-update-race");
    let writer = tokio::spawn(async move {
        let mut pace = tokio::time::interval(Duration::from_millis(50));
        for i in 0u64.. {
            pace.tick().await;
            let _ = cms
                .patch(
                    "raced",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(
                        json!({"metadata": {"labels": {"tick": i.to_string()}}}),
                    ),
                )
                .await;
        }
    });
    for i in 1..=40 {
        let n = i.to_string();
        let updated = apply::update(&env, cm("raced", json!({"n": n})), WriteOptions::default())
            .await
            .unwrap_or_else(|e| panic!("update {i}: {e}"));
        assert_eq!(updated["data"]["n"], json!(n));
    }
    writer.abort();
}
