//! The engine against a real API server: every operation, block ordering, failures with
//! diffs and evidence, scenario timeouts, expected rejections, mocks, and Chainsaw files
//! run unmodified.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kanon::cluster::LocalCluster;
use kanon::engine::lookup::KubeLookup;
use kanon::engine::runner::{RunContext, run_scenario};
use kanon::ops::OpEnv;
use kanon::report::ReportDir;
use kanon::report::console::{Console, Verbosity};
use kanon::report::model::{ScenarioReport, Status};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn context(values: Value, report_dir: Option<&Path>) -> (RunContext, tempfile::TempDir) {
    let cluster = LocalCluster::shared().await.unwrap();
    let client = cluster.client().await.unwrap();
    let admin = OpEnv::connect(client.clone(), "default", cluster.kubeconfig_path());
    let (resolver, hub) = (admin.resolver.clone(), admin.hub.clone());
    kanon::engine::crds::install(
        &admin,
        &[repo().join("fixtures/engine/crd-widgets.yaml")],
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let ctx = RunContext {
        client,
        resolver,
        hub,
        lookup: Arc::new(KubeLookup::start(cluster.kube_config().clone()).unwrap()),
        kubeconfig: cluster.kubeconfig_path().to_path_buf(),
        timeouts: Default::default(),
        values,
        console: Arc::new(Console::new(
            Box::new(std::io::stderr()),
            false,
            Verbosity::Normal,
        )),
        run_id: "engine-test".into(),
        work_dir: work.path().to_path_buf(),
        report_dir: report_dir.map(|d| ReportDir::prepare(d).unwrap()),
        skip_delete: false,
        namespace: None,
        process_logs: vec![],
        await_namespace_deletion: false,
        faults: Default::default(),
        clusters: Default::default(),
        control: Default::default(),
    };
    (ctx, work)
}

async fn run(ctx: &RunContext, file: &Path) -> ScenarioReport {
    let scenarios = kanon::scenario::load_file(file).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let s = &scenarios[0];
    run_scenario(ctx, s, &s.name, &[]).await
}

fn ops_of(r: &ScenarioReport) -> Vec<(String, String, Status)> {
    r.attempts[0]
        .steps
        .iter()
        .flat_map(|s| {
            s.operations.iter().map(|o| {
                (
                    s.name.clone(),
                    format!("{}:{}", o.block, o.operation),
                    o.status,
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn blocks_run_in_chainsaw_order_and_a_failed_step_ends_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order.log");
    let (ctx, _w) = context(json!({"order": order}), None).await;
    let r = run(&ctx, &repo().join("fixtures/engine/ordering/scenario.yaml")).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        std::fs::read_to_string(&order).unwrap(),
        "try-1\ntry-2\ncatch-scenario\ncatch-2\nfinally-2\ncleanup-2\ncleanup-1\n"
    );
    let steps: Vec<(&str, Status)> = r.attempts[0]
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status))
        .collect();
    assert_eq!(
        steps[..3],
        [
            ("first", Status::Passed),
            ("second", Status::Failed),
            ("third", Status::Skipped)
        ]
    );
    let failure = r.failure().unwrap();
    assert!(failure.message.contains("exit status 3"), "{failure:?}");
}

#[tokio::test]
async fn every_operation_runs() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/all-operations/scenario.yaml"),
    )
    .await;
    let ops = ops_of(&r);
    assert_eq!(r.status, Status::Passed, "{ops:#?}\n{:?}", r.failure());
    let names: Vec<&str> = ops.iter().map(|(_, o, _)| o.as_str()).collect();
    for op in [
        "try:apply",
        "try:create",
        "try:update",
        "try:patch",
        "try:assert",
        "try:error",
        "try:wait",
        "try:consistently",
        "try:command",
        "try:script",
        "try:sleep",
        "finally:get",
        "finally:describe",
        "finally:events",
        "finally:podLogs",
        "try:delete",
        "cleanup:delete",
    ] {
        assert!(names.contains(&op), "{op} did not run: {names:?}");
    }
    let get = r.attempts[0].steps[1]
        .operations
        .iter()
        .find(|o| o.operation == "get")
        .unwrap();
    assert!(get.output.contains("name: applied"), "{}", get.output);
}

#[tokio::test]
async fn a_failed_assertion_reports_fields_a_pruned_diff_and_evidence() {
    let reports = tempfile::tempdir().unwrap();
    let (ctx, _w) = context(json!({}), Some(reports.path())).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/failing-assert/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Failed);
    let f = r.failure().unwrap();
    assert!(
        f.message.contains("ConfigMap actual does not match"),
        "{f:?}"
    );
    assert!(f.errors.iter().any(|e| e.contains("data.colour")), "{f:?}");
    assert!(
        f.diff.contains("red") && f.diff.contains("blue"),
        "{}",
        f.diff
    );
    assert!(
        !f.diff.contains("size"),
        "the diff is pruned to asserted fields: {}",
        f.diff
    );
    let evidence = reports
        .path()
        .join(r.evidence.as_deref().expect("evidence folder"));
    let failure_txt = std::fs::read_to_string(evidence.join("failure.txt")).unwrap();
    assert!(
        failure_txt.contains("failing-assert/scenario.yaml:"),
        "{failure_txt}"
    );
    let object = std::fs::read_dir(evidence.join("objects"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect::<Vec<_>>();
    assert!(
        object
            .iter()
            .any(|n| n.starts_with("configmap.") && n.ends_with(".actual.yaml")),
        "{object:?}"
    );
    assert!(evidence.join("events.txt").is_file());
}

#[tokio::test]
async fn a_scenario_timeout_ends_it_and_still_runs_catch_finally_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order.log");
    let (ctx, _w) = context(json!({"order": order}), None).await;
    let started = std::time::Instant::now();
    let r = run(&ctx, &repo().join("fixtures/engine/timeout/scenario.yaml")).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.failure().unwrap().message.contains("scenario timeout"),
        "{:?}",
        r.failure()
    );
    assert_eq!(
        std::fs::read_to_string(&order).unwrap(),
        "catch\nfinally\ncleanup\n"
    );
}

#[tokio::test]
async fn an_expected_rejection_passes() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/expect-rejection/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
}

#[tokio::test]
async fn mocks_record_and_assertions_see_the_records() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(&ctx, &repo().join("fixtures/engine/mocks/scenario.yaml")).await;
    assert_eq!(r.status, Status::Passed, "{:#?}", ops_of(&r));
}

#[tokio::test]
async fn chainsaw_test_files_run_unmodified() {
    let (ctx, _w) = context(json!({}), None).await;
    let dir = repo().join("fixtures/chainsaw");
    let mut ran = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let file = entry.path().join("chainsaw-test.yaml");
        if !file.is_file() {
            continue;
        }
        let r = run(&ctx, &file).await;
        assert_eq!(
            r.status,
            Status::Passed,
            "{}: {:?}",
            file.display(),
            r.failure()
        );
        ran += 1;
    }
    assert!(ran >= 5, "at least five Chainsaw files, ran {ran}");
}

#[tokio::test]
async fn cel_expressions_work_where_jmespath_does() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/chainsaw/cel/chainsaw-test.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
}

#[tokio::test]
async fn namespace_templates_shape_the_fresh_namespace() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/namespace-template/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
}

/// A folder with `test.yaml` (`text`) next to `other.kubeconfig`, a copy of the shared
/// cluster's kubeconfig (the same API server under a second cluster name), and
/// `broken.kubeconfig`, a cluster nothing listens for.
async fn multi_cluster_fixture(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        LocalCluster::shared().await.unwrap().kubeconfig_path(),
        dir.path().join("other.kubeconfig"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.kubeconfig"),
        kanon::cluster::kubeconfig::render_plain("broken", "http://127.0.0.1:1"),
    )
    .unwrap();
    std::fs::write(dir.path().join("test.yaml"), text).unwrap();
    dir
}

const MULTI_CLUSTER_HEAD: &str = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata:
  name: multi-cluster
spec:
  clusters:
    other:
      kubeconfig: other.kubeconfig
    broken:
      kubeconfig: ./broken.kubeconfig
"#;

#[tokio::test]
async fn operations_run_against_the_cluster_they_name_innermost_first() {
    let (ctx, _w) = context(json!({}), None).await;
    // The step names the unreachable cluster; every operation overrides it with
    // `other`, so the scenario passes only if the innermost name routes.
    let dir = multi_cluster_fixture(&format!(
        r#"{MULTI_CLUSTER_HEAD}  steps:
  - cluster: broken
    try:
    - apply:
        cluster: other
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: there}}
          data: {{k: v}}
    - assert:
        cluster: other
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: there}}
          data:
            (x_k8s_get($client, 'v1', 'ConfigMap', $namespace, 'there').data.k): v
    - script:
        cluster: other
        content: |
          case "$KUBECONFIG" in *.other.kubeconfig) ;; *) echo "KUBECONFIG=$KUBECONFIG"; exit 1;; esac
          grep -q "$NAMESPACE" "$KUBECONFIG"
        env:
        - name: NAMESPACE
          value: ($namespace)
"#
    ))
    .await;
    let r = run(&ctx, &dir.path().join("test.yaml")).await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
    // The object was created through `other`, and deleted from it at cleanup.
    let cleanup: Vec<_> = r.attempts[0]
        .steps
        .iter()
        .flat_map(|s| s.operations.iter())
        .filter(|o| o.block == "cleanup")
        .collect();
    assert!(
        cleanup.iter().any(|o| o.operation == "delete"
            && o.object.as_deref().unwrap_or("").contains("ConfigMap")
            && o.object.as_deref().unwrap_or("").contains("there")
            && o.status == Status::Passed),
        "{cleanup:?}"
    );
    let client = LocalCluster::shared()
        .await
        .unwrap()
        .client()
        .await
        .unwrap();
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, &r.namespace);
    assert!(cms.get_opt("there").await.unwrap().is_none());
}

#[tokio::test]
async fn a_cluster_named_by_an_expression_with_a_kubeconfig_made_by_an_earlier_step() {
    let (ctx, _w) = context(json!({}), None).await;
    // Chainsaw's dynamic clusters: `made.kubeconfig` does not exist when the test loads;
    // the first step writes it, and `cluster: ($target)` picks the cluster at run time
    // (`''` being the default one).
    let dir = multi_cluster_fixture(
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata:
  name: dynamic-cluster
spec:
  bindings:
  - name: target
    value: made
  clusters:
    made:
      kubeconfig: made.kubeconfig
  steps:
  - try:
    - script:
        content: cp other.kubeconfig made.kubeconfig
  - try:
    - apply:
        cluster: ($target)
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: dynamic}
    - script:
        cluster: ($target)
        content: |
          case "$KUBECONFIG" in *.made.kubeconfig) ;; *) echo "KUBECONFIG=$KUBECONFIG"; exit 1;; esac
    - assert:
        cluster: (join('', ['']))
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: dynamic}
"#,
    )
    .await;
    let r = run(&ctx, &dir.path().join("test.yaml")).await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
}

#[tokio::test]
async fn warnings_of_the_api_server_are_bound_for_expect_and_outputs() {
    let (ctx, _w) = context(json!({}), None).await;
    // An unknown field: the API server stores the object without it and says so in a
    // `Warning` header, which `$warnings` carries to `expect` and `outputs`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("test.yaml"),
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata:
  name: warnings
spec:
  steps:
  - try:
    - create:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: warned}
          unknownTopLevel: 1
        expect:
        - check:
            (length($warnings) > `0`): true
            (contains($warnings[0].text, 'unknownTopLevel')): true
            ($warnings[0].code): 299
        outputs:
        - name: said
          value: ($warnings[0].text)
    - script:
        env:
        - {name: SAID, value: ($said)}
        content: printf '%s' "$SAID"
        check:
          (contains($stdout, 'unknown field')): true
    - create:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: clean}
        expect:
        - check:
            ($warnings): []
"#,
    )
    .unwrap();
    let r = run(&ctx, &dir.path().join("test.yaml")).await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
}

#[tokio::test]
async fn an_operation_on_an_unreachable_cluster_fails_naming_it() {
    let (ctx, _w) = context(json!({}), None).await;
    let dir = multi_cluster_fixture(&format!(
        r#"{MULTI_CLUSTER_HEAD}  cluster: broken
  steps:
  - try:
    - apply:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: nowhere}}
"#
    ))
    .await;
    let r = run(&ctx, &dir.path().join("test.yaml")).await;
    assert_eq!(r.status, Status::Failed);
    let f = r.failure().unwrap();
    assert!(f.message.contains("cluster \"broken\""), "{f:?}");
    assert!(f.message.contains("test.yaml:9:"), "{f:?}");
}

/// Lifts finalizer `kanon.dev/waits-for-a` from ConfigMap `b` once ConfigMap `a` of the
/// same namespace is gone: a dependency the way an operator's finalizer would hold one.
async fn lift_b_after_a(client: kube::Client) {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};
    use kube::runtime::{WatchStreamExt, watcher};
    let all: Api<ConfigMap> = Api::all(client.clone());
    let cfg = watcher::Config::default().labels("kanon-test/dependency=true");
    let mut events = std::pin::pin!(watcher(all, cfg).default_backoff().touched_objects());
    while let Some(Ok(cm)) = events.next().await {
        let Some(ns) = cm.metadata.namespace.clone() else {
            continue;
        };
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let Ok(Some(b)) = api.get_opt("b").await else {
            continue;
        };
        if b.metadata.deletion_timestamp.is_some() && matches!(api.get_opt("a").await, Ok(None)) {
            let _ = api
                .patch(
                    "b",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await;
        }
    }
}

#[tokio::test]
async fn cleanup_sends_every_delete_before_waiting_so_dependencies_resolve() {
    let (ctx, _w) = context(json!({}), None).await;
    let lifter = tokio::spawn(lift_b_after_a(ctx.client.clone()));
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/cleanup-dependency/scenario.yaml"),
    )
    .await;
    lifter.abort();
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
    let cleanup: Vec<(String, Status)> = r.attempts[0]
        .steps
        .iter()
        .flat_map(|s| &s.operations)
        .filter(|o| o.block == "cleanup" && o.operation == "delete")
        .map(|o| (o.object.clone().unwrap_or_default(), o.status))
        .collect();
    assert!(
        cleanup.len() >= 2 && cleanup.iter().all(|(_, s)| *s == Status::Passed),
        "{cleanup:?}"
    );
}

#[tokio::test]
async fn a_disruption_the_run_cannot_perform_skips_the_scenario_with_the_reason() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("scenarios/robustness/conflict-retries/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Skipped);
    let reason = r.skip_reason.expect("a reason");
    assert!(
        reason.contains("operatorApi disruptions need an operator kanon starts"),
        "{reason}"
    );
}

#[tokio::test]
async fn disruptions_are_lifted_when_the_scenario_fails() {
    let (mut ctx, _w) = context(json!({}), None).await;
    let cluster = kanon::cluster::LocalCluster::shared().await.unwrap();
    let proxy = Arc::new(
        kanon::faults::FaultProxy::start(cluster.kube_config())
            .await
            .unwrap(),
    );
    ctx.faults.proxy = Some(proxy.clone());
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/disrupt-lifted/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Failed);
    assert!(
        !proxy.active(),
        "five-minute faults are lifted with the scenario"
    );
    let lifted = r.attempts[0]
        .steps
        .iter()
        .flat_map(|s| s.operations.iter())
        .find(|o| o.operation == "disrupt" && o.block == "cleanup")
        .expect("the lift is reported");
    assert!(lifted.output.contains("1 outage"), "{}", lifted.output);
}

#[tokio::test]
async fn delete_refs_are_templated_with_bindings() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/delete-ref-template/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
}

#[tokio::test]
async fn resource_names_resolve_through_discovery() {
    let (ctx, _w) = context(json!({}), None).await;
    let dir = repo().join("fixtures/engine/resource-names");
    let r = run(&ctx, &dir.join("scenario.yaml")).await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
    let get = r.attempts[0].steps[0]
        .operations
        .iter()
        .find(|o| o.operation == "get")
        .unwrap();
    assert!(get.output.contains("teal"), "{}", get.output);
    let r = run(&ctx, &dir.join("unknown.yaml")).await;
    assert_eq!(r.status, Status::Failed);
    let f = r.failure().unwrap();
    assert!(
        f.message.contains("\"deploymnts\"") && f.message.contains("serves no resource"),
        "{f:?}"
    );
}

#[tokio::test]
async fn cluster_functions_see_discovery_and_the_server_version() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/cluster-functions/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
}

#[tokio::test]
async fn conventional_chainsaw_folders_run_unmodified() {
    let (ctx, _w) = context(json!({}), None).await;
    let scenarios = kanon::scenario::load(&repo().join("fixtures/chainsaw/conventional")).unwrap();
    assert_eq!(scenarios.len(), 1);
    let s = &scenarios[0];
    assert_eq!(s.name, "conventional");
    let r = run_scenario(&ctx, s, &s.name, &[]).await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
    assert_eq!(
        ops_of(&r)
            .iter()
            .filter(|(_, o, _)| o.starts_with("try:"))
            .map(|(s, o, _)| format!("{s} {o}"))
            .collect::<Vec<_>>(),
        [
            "step-00 try:apply",
            "step-00 try:assert",
            "step-01 try:apply",
            "step-01 try:assert",
            "step-01 try:error"
        ]
    );
}

#[tokio::test]
async fn a_step_with_skip_delete_keeps_its_objects_off_the_cleanup_list() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/step-skip-delete/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
    let deleted: Vec<String> = r.attempts[0]
        .steps
        .iter()
        .flat_map(|s| &s.operations)
        .filter(|o| o.block == "cleanup" && o.operation == "delete")
        .filter_map(|o| o.object.clone())
        .collect();
    assert!(
        deleted.iter().any(|o| o.ends_with("/cleaned")),
        "{deleted:?}"
    );
    assert!(!deleted.iter().any(|o| o.ends_with("/kept")), "{deleted:?}");
}

#[tokio::test]
async fn a_skipped_step_is_reported_and_not_run() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/step-skip/chainsaw-test.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
    let steps: Vec<(&str, Status, usize)> = r.attempts[0]
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status, s.operations.len()))
        .collect();
    assert_eq!(steps[1], ("skipped", Status::Skipped, 0), "{steps:?}");
    assert_eq!(steps[0].1, Status::Passed);
    assert_eq!(steps[2].1, Status::Passed);
    let junit = kanon::report::junit::render(&kanon::report::model::RunReport {
        kanon_version: "test".into(),
        started: "t".into(),
        duration: Duration::ZERO,
        scenarios: vec![r.clone()],
        values: Default::default(),
        interrupted: None,
        shard: None,
    })
    .unwrap();
    assert!(junit.contains("skipped: skipped"), "{junit}");
}

#[tokio::test]
async fn a_skipped_scenario_says_why() {
    let (ctx, _w) = context(json!({}), None).await;
    let text = std::fs::read_to_string(repo().join("fixtures/engine/step-skip/chainsaw-test.yaml"))
        .unwrap()
        .replace("spec:\n  steps:", "spec:\n  skip: true\n  steps:");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chainsaw-test.yaml"), text).unwrap();
    let r = run(&ctx, &dir.path().join("chainsaw-test.yaml")).await;
    assert_eq!(r.status, Status::Skipped);
    assert!(r.skip_reason.unwrap().contains("skip: true"));
}

#[tokio::test]
async fn collector_fields_are_expressions_evaluated_with_the_bindings() {
    let (ctx, _w) = context(json!({}), None).await;
    let r = run(
        &ctx,
        &repo().join("fixtures/engine/expression-fields/scenario.yaml"),
    )
    .await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
    let ops = &r.attempts[0].steps[0].operations;
    let get = ops.iter().find(|o| o.operation == "get").unwrap();
    assert!(get.output.contains("teal"), "{}", get.output);
    let describe = ops.iter().find(|o| o.operation == "describe").unwrap();
    assert!(describe.output.contains("colour"), "{}", describe.output);
    // A wait whose expression names nothing that exists times out naming the result.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scenario.yaml"),
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: expression-miss}
spec:
  bindings:
  - name: cm
    value: nowhere
  steps:
  - try:
    - wait:
        apiVersion: v1
        kind: ConfigMap
        name: (concat($cm, '-x'))
        timeout: 1s
        for: {creation: {}}
"#,
    )
    .unwrap();
    let r = run(&ctx, &dir.path().join("scenario.yaml")).await;
    assert_eq!(r.status, Status::Failed);
    let f = r.failure().unwrap();
    assert!(f.message.contains("nowhere-x"), "{f:?}");
}

#[tokio::test]
async fn step_and_operation_clusters_route_innermost_first() {
    let (ctx, _w) = context(json!({}), None).await;
    // The scenario picks `target`, which it declares unreachable. The first step declares
    // a reachable `target` that hides it, and one operation declares its own `mine`:
    // that step passes only if each name resolves to its innermost declaration. The
    // second step declares nothing, so `target` is the scenario's again.
    let dir = multi_cluster_fixture(
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata:
  name: scoped-clusters
spec:
  clusters:
    target: {kubeconfig: broken.kubeconfig}
  cluster: target
  steps:
  - name: hidden
    clusters:
      target: {kubeconfig: other.kubeconfig}
    try:
    - apply:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: scoped}
    - assert:
        clusters:
          mine: {kubeconfig: other.kubeconfig}
        cluster: mine
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: scoped}
  - name: outer
    try:
    - apply:
        timeout: 2s
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: unreachable}
"#,
    )
    .await;
    let r = run(&ctx, &dir.path().join("test.yaml")).await;
    assert_eq!(r.status, Status::Failed);
    let steps: Vec<(&str, Status)> = r.attempts[0]
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status))
        .collect();
    assert_eq!(
        steps[..2],
        [("hidden", Status::Passed), ("outer", Status::Failed)]
    );
    let f = r.failure().unwrap();
    assert!(
        f.message.contains("cluster \"target\"") && f.message.contains("broken.kubeconfig"),
        "{f:?}"
    );
    // What the first step created through the step's `target` was deleted from it.
    let client = LocalCluster::shared()
        .await
        .unwrap()
        .client()
        .await
        .unwrap();
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, &r.namespace);
    assert!(cms.get_opt("scoped").await.unwrap().is_none());
}

/// An address of this machine other than loopback (the API server refuses to proxy to
/// loopback addresses, and Endpoints may not hold them): the source address of a route
/// out, found without sending anything.
fn non_loopback_ip() -> std::net::IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("192.0.2.255:9")
        .or_else(|_| s.connect("10.255.255.255:9"))
        .unwrap();
    let ip = s.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback(),
        "this test needs a non-loopback address, found {ip}"
    );
    ip
}

/// A tiny HTTP server on all addresses answering every GET with
/// `{"path": <request path>, "served": "kanon-test"}`; returns its port.
async fn echo_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut len = 0;
                while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
                    match conn.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..len]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let body = json!({"path": path, "served": "kanon-test"}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn proxy_reaches_a_service_through_the_api_server() {
    let port = echo_server().await;
    let ip = non_loopback_ip();
    let (ctx, _w) = context(json!({"ip": ip.to_string(), "port": port}), None).await;
    let r = run(&ctx, &repo().join("fixtures/engine/proxy/scenario.yaml")).await;
    assert_eq!(r.status, Status::Passed, "{:#?}", r.failure());
    let proxy = r.attempts[0].steps[0]
        .operations
        .iter()
        .find(|o| o.operation == "proxy")
        .unwrap();
    assert!(
        proxy.output.contains("/services/echo:http/proxy/hello/"),
        "{}",
        proxy.output
    );
    assert!(proxy.output.contains("kanon-test"), "{}", proxy.output);
}

#[tokio::test]
async fn proxy_to_a_missing_service_fails_naming_it() {
    let (ctx, _w) = context(json!({}), None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("chainsaw-test.yaml"),
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: proxy-missing}
spec:
  steps:
  - try:
    - proxy:
        apiVersion: v1
        kind: Service
        name: nope
        port: http
        path: /healthz
"#,
    )
    .unwrap();
    let r = run(&ctx, &dir.path().join("chainsaw-test.yaml")).await;
    assert_eq!(r.status, Status::Failed);
    let f = r.failure().unwrap();
    let want = format!("proxy to v1/Service {}/nope", r.namespace);
    assert!(f.message.contains(&want), "{f:?}");
    assert!(f.message.contains("404"), "{f:?}");
    assert!(f.message.contains("services \"nope\" not found"), "{f:?}");
    let op = &r.attempts[0].steps[0].operations[0];
    assert_eq!(op.location.line, 8, "{op:?}");
}

/// A Chainsaw test that creates a ConfigMap carrying the finalizer `kanon.dev/stuck` in
/// a `skipDelete` step: its namespace cannot go until the finalizer is removed.
const STUCK: &str = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata:
  name: stuck
spec:
  timeouts: {cleanup: 20s}
  steps:
  - skipDelete: true
    try:
    - create:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: held
            finalizers: [kanon.dev/stuck]
"#;

/// Removes `kanon.dev/stuck` from the ConfigMap `held` in `ns`, then waits until the
/// namespace is gone.
async fn release(ctx: &RunContext, ns: &str) {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(ctx.client.clone(), ns);
    cms.patch(
        "held",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let nss: kube::Api<Namespace> = kube::Api::all(ctx.client.clone());
    let uid = nss.get_opt(ns).await.unwrap().and_then(|n| n.metadata.uid);
    kanon::engine::namespace::wait_gone(&ctx.client, ns, uid.as_deref(), Duration::from_secs(60))
        .await
        .unwrap();
}

fn parse(text: &str) -> kanon::scenario::Scenario {
    kanon::scenario::parse_str(Path::new("inline/chainsaw-test.yaml"), text)
        .unwrap()
        .remove(0)
}

#[tokio::test]
async fn namespace_teardown_is_followed_in_the_background_and_a_stuck_one_is_a_warning() {
    use k8s_openapi::api::core::v1::Namespace;
    let (ctx, _w) = context(json!({}), None).await;
    let plain = parse(
        &STUCK
            .replace("  - skipDelete: true\n    try:", "  - try:")
            .replace("  timeouts: {cleanup: 20s}\n", "")
            .replace("            finalizers: [kanon.dev/stuck]\n", ""),
    );
    let ok = run_scenario(&ctx, &plain, "teardown-plain", &[]).await;
    assert_eq!(ok.status, Status::Passed, "{:?}", ok.failure());
    let ns_op = ok.attempts[0]
        .steps
        .last()
        .unwrap()
        .operations
        .iter()
        .find(|o| {
            o.object
                .as_deref()
                .is_some_and(|o| o.starts_with("v1/Namespace"))
        })
        .unwrap();
    assert!(
        ns_op.output.contains("followed in the background"),
        "{ns_op:?}"
    );

    // The stuck namespace does not hold the scenario's result back...
    let stuck = run_scenario(&ctx, &parse(STUCK), "teardown-stuck", &[]).await;
    assert_eq!(stuck.status, Status::Passed, "{:?}", stuck.failure());
    // ... but the end of the run says what holds it and why.
    let leftovers = ctx.control.teardown.finish().await;
    let warnings: Vec<(String, String)> = leftovers
        .iter()
        .map(|l| (l.scenario.clone(), l.warning()))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let (scenario, warning) = &warnings[0];
    assert_eq!(scenario, "teardown-stuck");
    assert!(
        warning.starts_with(&format!(
            "namespace {} still exists 20s after its deletion",
            stuck.namespace
        )),
        "{warning}"
    );
    assert!(
        warning.contains("kanon.dev/stuck"),
        "the finalizer: {warning}"
    );
    assert!(warning.contains("configmaps"), "what is left: {warning}");
    // The plain one went.
    let nss: kube::Api<Namespace> = kube::Api::all(ctx.client.clone());
    assert!(nss.get_opt(&ok.namespace).await.unwrap().is_none());
    release(&ctx, &stuck.namespace).await;
}

#[tokio::test]
async fn blocking_namespace_teardown_fails_the_scenario_on_a_stuck_namespace() {
    let (mut ctx, _w) = context(json!({}), None).await;
    ctx.await_namespace_deletion = true;
    let r = run_scenario(&ctx, &parse(STUCK), "teardown-blocking", &[]).await;
    assert_eq!(r.status, Status::Failed);
    let message = &r.failure().unwrap().message;
    assert!(
        message.starts_with("namespace cleanup: namespace kanon-teardown-blocking-"),
        "{message}"
    );
    assert!(message.contains("kanon.dev/stuck"), "{message}");
    assert!(
        ctx.control.teardown.finish().await.is_empty(),
        "nothing left to follow"
    );
    release(&ctx, &r.namespace).await;
    // A scenario can ask for it too, in a run that does not block: its result then
    // comes once its namespace is gone.
    ctx.await_namespace_deletion = false;
    let mut plain = parse(
        &STUCK
            .replace("  - skipDelete: true\n    try:", "  - try:")
            .replace("            finalizers: [kanon.dev/stuck]\n", ""),
    );
    plain.fast_namespace_deletion = Some(false);
    let r = run_scenario(&ctx, &plain, "teardown-blocking-scenario", &[]).await;
    assert_eq!(r.status, Status::Passed, "{:?}", r.failure());
    let nss: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(ctx.client.clone());
    assert!(nss.get_opt(&r.namespace).await.unwrap().is_none());
}
