//! Running one scenario: namespace, mocks, bindings, steps with try / catch / finally,
//! cleanup in reverse order, evidence on failure.
//!
//! Order, as Chainsaw: for each step, `try` operations run in order; when one fails the
//! scenario's `catch` and then the step's `catch` run, then the step's `finally` (always).
//! A failed step ends the scenario's steps. At the end, `cleanup` blocks run in reverse
//! step order, then everything the scenario created is deleted in reverse creation
//! order, then its namespace. A scenario `timeout` bounds the `try` blocks only, so a
//! scenario that times out still runs its catch, finally and cleanup.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::clusters::{ClusterPool, ClusterUse, ScenarioClusters};
use super::exec::{self, OpOutcome};
use super::interrupt::Interrupt;
use super::namespace;
use super::teardown::Teardown;
use crate::expr::{Bindings, ClusterLookup};
use crate::k8s::{Resolver, WatchHub};
use crate::mocks::{MockSet, MockSpec as MockConfig};
use crate::ops::delete::{DeleteSpec, request_deletion};
use crate::ops::{ObjectRef, OpEnv};
use crate::report::ReportDir;
use crate::report::console::Console;
use crate::report::evidence::{self, EvidenceInput};
use crate::report::model::{
    Attempt, Failure, OperationReport, ScenarioReport, SourceLocation, Status, StepReport,
    now_rfc3339,
};
use crate::scenario::{
    ClusterDef, Flavor, Location, Scenario, Step, StepOperation, TimeoutClass, Timeouts,
    resolve_timeout,
};

/// What every scenario of a run shares.
pub struct RunContext {
    /// Admin client.
    pub client: kube::Client,
    /// Kind resolution.
    pub resolver: Arc<Resolver>,
    /// Shared watchers.
    pub hub: Arc<WatchHub>,
    /// Cluster reads for `x_k8s_*` expression functions.
    pub lookup: Arc<dyn ClusterLookup>,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// Run-level timeouts (suite file / flags), below scenario and step ones.
    pub timeouts: Timeouts,
    /// `$values` from `--values` files and `--set`.
    pub values: Value,
    /// Where progress goes.
    pub console: Arc<Console>,
    /// Identifies this run (namespace labels).
    pub run_id: String,
    /// Scratch space (per-scenario kubeconfigs).
    pub work_dir: PathBuf,
    /// Reports and evidence go here, when set.
    pub report_dir: Option<ReportDir>,
    /// Keep what scenarios create.
    pub skip_delete: bool,
    /// Run every scenario in this namespace instead of a fresh one.
    pub namespace: Option<String>,
    /// Log files of processes kanon started (the operator), for evidence.
    pub process_logs: Vec<(String, PathBuf)>,
    /// Wait at the end of each scenario until its namespace is gone, as Chainsaw does
    /// (`--fast-namespace-deletion=false`; a scenario's `fastNamespaceDeletion` wins).
    /// Otherwise the deletion is followed in the background ([`RunControl::teardown`])
    /// and the next scenario does not wait for the namespace controller.
    pub await_namespace_deletion: bool,
    /// What `disrupt` operations can act on in this run.
    pub faults: crate::faults::Capabilities,
    /// Connections to the other clusters scenarios name (`spec.clusters`).
    pub clusters: ClusterPool,
    /// Interruption, namespace deletions followed in the background, pausing.
    pub control: RunControl,
}

/// What steers a run from outside its scenarios.
#[derive(Debug, Default)]
pub struct RunControl {
    /// Set on SIGINT / SIGTERM: `try` blocks stop, `finally` and cleanup still run.
    pub interrupt: Interrupt,
    /// Namespace deletions still being followed; the run waits for them at its end.
    pub teardown: Teardown,
    /// Wait for ENTER on the terminal after a failed operation (Chainsaw's
    /// `--pause-on-failure`), so the cluster can be inspected before catch and cleanup.
    pub pause_on_failure: bool,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// A source location for reports.
pub fn source(loc: &Location) -> SourceLocation {
    SourceLocation {
        file: loc.file.display().to_string(),
        line: loc.line as usize,
        column: loc.column as usize,
    }
}

/// What one scenario run carries from operation to operation.
pub(crate) struct ScenarioCx<'a> {
    pub ctx: &'a RunContext,
    pub scenario: &'a Scenario,
    pub name: String,
    pub env: OpEnv,
    pub mocks: MockSet,
    pub deadline: Option<Instant>,
    pub asserted: Mutex<Vec<ObjectRef>>,
    pub faults: crate::faults::FaultSession,
    /// The other clusters used so far (`cluster:`), with their namespaces.
    pub other: ScenarioClusters,
}

impl ScenarioCx<'_> {
    /// The scenario's folder (default work dir of commands, base of relative paths).
    pub fn dir(&self) -> PathBuf {
        self.scenario
            .location
            .file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The scenario's flavor.
    pub fn flavor(&self) -> Flavor {
        self.scenario.flavor
    }

    /// Bindings with the current mock records (`$mocks.<name>.records` change) and
    /// fault counters (`$faults`).
    pub fn refresh_mocks(&self, b: &Bindings) -> Bindings {
        b.with("mocks", self.mocks.bindings())
            .with("faults", self.faults.bindings())
    }

    /// The timeout of `op` in `step`.
    pub fn timeout(&self, op: &StepOperation, step: &Step, block: &str) -> Duration {
        let class =
            if block == "cleanup" && matches!(op.operation.timeout_class(), TimeoutClass::Delete) {
                TimeoutClass::Cleanup
            } else {
                op.operation.timeout_class()
            };
        resolve_timeout(
            class,
            op.operation.timeout(),
            &step.timeouts,
            &self.scenario.timeouts,
            &self.ctx.timeouts,
        )
    }

    /// The environment of the other cluster `def` declares (none: the cluster kanon was
    /// given), set up on first use: connection, namespace, kubeconfig for scripts.
    pub async fn other_cluster(
        &self,
        def: Option<&ClusterDef>,
    ) -> Result<Option<ClusterUse>, Failure> {
        let Some(def) = def else { return Ok(None) };
        let name = def.name.as_str();
        let open = |use_name: String| async move {
            let conn = self.ctx.clusters.connect(def).await?;
            let ns = &self.env.namespace;
            let kubeconfig = super::clusters::scoped_kubeconfig(&self.ctx.work_dir, ns, &use_name);
            let env = OpEnv::new(
                conn.client.clone(),
                conn.resolver.clone(),
                conn.hub.clone(),
                ns.clone(),
                kubeconfig.clone(),
            );
            // The name was checked fresh on the given cluster; here an existing namespace
            // (another cluster name for the same API server) is used, not taken over.
            let created_namespace = ensure_namespace(self.ctx, self.scenario, &env, ns, true)
                .await
                .map_err(|e| format!("cluster {name:?} ({}): {e}", def.kubeconfig.display()))?;
            crate::cluster::kubeconfig::write_with_namespace(
                &conn.kubeconfig,
                &kubeconfig,
                conn.context.as_deref(),
                ns,
            )
            .map_err(|e| {
                format!(
                    "cluster {name:?} ({}): kubeconfig: {e}",
                    def.kubeconfig.display()
                )
            })?;
            Ok(ClusterUse {
                env,
                conn,
                created_namespace,
            })
        };
        self.other
            .get_or_open(def, open)
            .await
            .map(Some)
            .map_err(|e| Failure {
                message: format!("{}: {e}", def.location),
                ..Default::default()
            })
    }

    /// Records an object an assertion looked at, for evidence.
    pub fn note_asserted(&self, r: ObjectRef) {
        if let Ok(mut a) = self.asserted.lock()
            && !a.contains(&r)
        {
            a.push(r);
        }
    }
}

fn skipped_report(scenario: &Scenario, name: &str) -> ScenarioReport {
    ScenarioReport {
        name: name.to_string(),
        file: scenario.location.file.display().to_string(),
        clauses: scenario.clauses.iter().map(|c| c.id.clone()).collect(),
        labels: scenario.labels.clone(),
        namespace: String::new(),
        status: Status::Skipped,
        attempts: Vec::new(),
        evidence: None,
        skip_reason: None,
        warnings: Vec::new(),
    }
}

/// Where a scenario run sits in the run, as Chainsaw numbers it for `$test`: `test`, the
/// scenario's position among the run's scenarios, and `row`, its `scenarios` table row
/// (both from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestIds {
    /// The scenario's number in the run.
    pub test: usize,
    /// Its table row's number (1 without a table).
    pub row: usize,
}

impl Default for TestIds {
    fn default() -> Self {
        TestIds { test: 1, row: 1 }
    }
}

/// `$test`: `{id, scenarioId, metadata: {name, labels, annotations}}`, as Chainsaw binds it.
fn test_binding(scenario: &Scenario, ids: TestIds) -> Value {
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), Value::String(scenario.name.clone()));
    for (key, map) in [
        ("labels", &scenario.labels),
        ("annotations", &scenario.annotations),
    ] {
        if !map.is_empty() {
            metadata.insert(key.into(), serde_json::json!(map));
        }
    }
    serde_json::json!({"id": ids.test, "scenarioId": ids.row, "metadata": metadata})
}

/// Runs `scenario` once as `name`, with `extra` bindings (a table row), and reports it.
pub async fn run_scenario(
    ctx: &RunContext,
    scenario: &Scenario,
    name: &str,
    extra: &[crate::scenario::Binding],
) -> ScenarioReport {
    run_numbered_scenario(ctx, scenario, name, extra, TestIds::default()).await
}

/// [`run_scenario`] for the scenario numbered `ids` in its run.
pub async fn run_numbered_scenario(
    ctx: &RunContext,
    scenario: &Scenario,
    name: &str,
    extra: &[crate::scenario::Binding],
    ids: TestIds,
) -> ScenarioReport {
    if scenario.skip {
        let mut report = skipped_report(scenario, name);
        report.skip_reason = Some("`skip: true` in its spec".into());
        ctx.console.scenario(&report);
        return report;
    }
    // A disruption this run cannot perform skips the scenario, saying why: never a
    // silent pass.
    let missing: Vec<String> = scenario
        .disrupt_targets()
        .into_iter()
        .filter_map(|t| ctx.faults.missing(t))
        .collect();
    if !missing.is_empty() {
        let mut report = skipped_report(scenario, name);
        report.skip_reason = Some(missing.join("; "));
        ctx.console.scenario(&report);
        return report;
    }
    let started_at = now_rfc3339();
    let t0 = Instant::now();
    let mut report = skipped_report(scenario, name);
    let mut steps_report: Vec<StepReport> = Vec::new();
    let mut first_failure: Option<Failure> = None;

    // Namespace.
    let fixed = scenario.namespace.clone().or_else(|| ctx.namespace.clone());
    let ns = fixed
        .clone()
        .unwrap_or_else(|| namespace::namespace_name(name, &namespace::random_suffix()));
    report.namespace = ns.clone();
    let scoped_kubeconfig = ctx.work_dir.join(format!("{ns}.kubeconfig"));
    let env = OpEnv::new(
        ctx.client.clone(),
        ctx.resolver.clone(),
        ctx.hub.clone(),
        ns.clone(),
        scoped_kubeconfig.clone(),
    );
    let setup = setup(
        ctx,
        scenario,
        &env,
        &ns,
        fixed.is_some(),
        &scoped_kubeconfig,
    )
    .await;
    let (created_ns, mocks) = match setup {
        Ok(v) => v,
        Err(f) => {
            let attempt = Attempt {
                started: started_at,
                duration: t0.elapsed(),
                status: Status::Failed,
                steps: vec![],
                failure: Some(f),
            };
            report.status = Status::Failed;
            report.attempts = vec![attempt];
            ctx.console.scenario(&report);
            return report;
        }
    };
    let cx = ScenarioCx {
        ctx,
        scenario,
        name: name.to_string(),
        env,
        mocks,
        deadline: scenario.timeout.map(|t| Instant::now() + t),
        asserted: Mutex::new(Vec::new()),
        faults: crate::faults::FaultSession::start(&ctx.faults),
        other: ScenarioClusters::default(),
    };

    // Bindings: $namespace, $values, $mocks, then the scenario's own and the table row.
    let mut values = Value::Object(Default::default());
    if let Some(v) = &scenario.values {
        values = v.to_json();
    }
    super::eval::merge(&mut values, &ctx.values);
    // `$client` and `$config` only name the cluster for `x_k8s_*` functions, which use
    // the lookup attached to the scope: they are bound so Chainsaw expressions resolve.
    let base = Bindings::new()
        .with_cluster(ctx.lookup.clone())
        .with("client", Value::Null)
        .with("config", Value::Null)
        .with("namespace", Value::String(ns.clone()))
        .with("test", test_binding(scenario, ids))
        .with("values", values)
        .with("mocks", cx.mocks.bindings())
        .with("faults", cx.faults.bindings());
    let mut scope = match super::eval::bind_all(&scenario.bindings, &base)
        .and_then(|b| super::eval::bind_all(extra, &b))
    {
        Ok(b) => b,
        Err(f) => {
            first_failure = Some(f);
            base
        }
    };

    // Steps.
    let mut failed_step: Option<usize> = None;
    if first_failure.is_none() {
        for (i, step) in scenario.steps.iter().enumerate() {
            if step.skip {
                // Chainsaw's step `skip`: reported, not run (nor its cleanup).
                ctx.console.step_skipped(name, &step.name);
                steps_report.push(StepReport {
                    name: step.name.clone(),
                    status: Status::Skipped,
                    operations: vec![],
                });
                continue;
            }
            let before = created_counts(&cx).await;
            let (step_report, step_failure, next_scope) = run_step(&cx, step, i, &scope).await;
            if step.skip_delete == Some(true) {
                keep_created_since(&cx, &before).await;
            }
            scope = next_scope;
            steps_report.push(step_report);
            if let Some(f) = step_failure {
                first_failure.get_or_insert(f);
                failed_step = Some(i);
                break;
            }
        }
        let ran = steps_report.len();
        for step in scenario.steps.iter().skip(ran) {
            steps_report.push(StepReport {
                name: step.name.clone(),
                status: Status::Skipped,
                operations: vec![],
            });
        }
    }

    // Disruptions end with the steps (before cleanup, which may need the operator).
    let lifted = cx.faults.used().then(|| lift_report(&cx));

    // Evidence, while the objects still exist.
    if first_failure.is_some()
        && let Some(rd) = &ctx.report_dir
    {
        let dir = rd.path().join("evidence").join(evidence::safe_name(name));
        let mut objects = cx.env.created.lock().map(|c| c.clone()).unwrap_or_default();
        objects.extend(cx.asserted.lock().map(|a| a.clone()).unwrap_or_default());
        let failing = steps_report
            .iter()
            .flat_map(|s| s.operations.iter())
            .find(|o| o.status == Status::Failed);
        let mut logs: Vec<(String, String)> = ctx
            .process_logs
            .iter()
            .map(|(n, p)| (n.clone(), crate::cluster::process::log_tail(p, 200)))
            .collect();
        for op in steps_report.iter().flat_map(|s| s.operations.iter()) {
            if matches!(op.operation.as_str(), "script" | "command" | "proxy")
                && !op.output.is_empty()
            {
                logs.push((
                    format!(
                        "{}-{}-{}",
                        op.operation, op.location.line, op.location.column
                    ),
                    op.output.clone(),
                ));
            }
        }
        let input = EvidenceInput {
            objects,
            location: failing.map(|o| o.location.clone()),
            failure: first_failure.clone().unwrap_or_default(),
            logs,
        };
        match evidence::collect(&cx.env, &dir, &input).await {
            Ok(_) => {
                report.evidence = dir
                    .strip_prefix(rd.path())
                    .ok()
                    .map(|p| p.display().to_string());
            }
            Err(e) => tracing::warn!("evidence for {name}: {e}"),
        }
    }

    // Cleanup: step cleanup blocks in reverse, created objects in reverse, namespace.
    let ran_steps = failed_step.map(|i| i + 1).unwrap_or(scenario.steps.len());
    if let Some(d) = scenario.delay_before_cleanup
        && ctx.control.interrupt.reason().is_none()
    {
        tokio::time::sleep(d).await;
    }
    let mut cleanup_ops = Vec::new();
    if let Some(op) = lifted {
        ctx.console.operation(name, "cleanup", &op);
        cleanup_ops.push((usize::MAX, op));
    }
    for (i, step) in scenario
        .steps
        .iter()
        .enumerate()
        .take(ran_steps)
        .filter(|(_, s)| !s.skip)
        .rev()
    {
        let step_scope = scope.with("step", step_binding(i));
        for op in &step.cleanup {
            let r = exec::run_operation(&cx, step, op, "cleanup", &step_scope, None).await;
            if r.report.status == Status::Failed {
                first_failure.get_or_insert_with(|| r.report.failure.clone().unwrap_or_default());
            }
            cx.ctx.console.operation(name, &step.name, &r.report);
            cleanup_ops.push((i, r.report));
        }
    }
    let skip_delete = scenario.skip_delete.unwrap_or(ctx.skip_delete);
    if !skip_delete {
        let cleanup_timeout = resolve_timeout(
            TimeoutClass::Cleanup,
            None,
            &Timeouts::default(),
            &scenario.timeouts,
            &ctx.timeouts,
        );
        // The other clusters first (in reverse first-use order), then the given one.
        let mut envs: Vec<(OpEnv, Arc<WatchHub>, bool)> = cx
            .other
            .all()
            .await
            .into_iter()
            .rev()
            .map(|(_, u)| (u.env, u.conn.hub.clone(), u.created_namespace))
            .collect();
        envs.push((cx.env.clone(), ctx.hub.clone(), created_ns));
        for (env, hub, created_ns) in &envs {
            for op in delete_all(&cx, env, hub, *created_ns, cleanup_timeout).await {
                if op.status == Status::Failed {
                    first_failure.get_or_insert_with(|| op.failure.clone().unwrap_or_default());
                }
                ctx.console.operation(name, "cleanup", &op);
                cleanup_ops.push((usize::MAX, op));
            }
        }
    }
    cx.mocks.stop();
    let _ = std::fs::remove_file(&scoped_kubeconfig);
    // Watchers of the namespace on other clusters stop with the scenario, also where
    // it was not created here (a second name for the given API server, or it existed).
    for (_, u) in cx.other.all().await {
        u.conn.hub.release_namespace(&u.env.namespace);
        let _ = std::fs::remove_file(&u.env.kubeconfig);
    }

    // Cleanup operations belong to their step (object deletion to a last "cleanup" step).
    let mut tail = Vec::new();
    for (i, op) in cleanup_ops {
        match steps_report.get_mut(i) {
            Some(s) if i != usize::MAX => {
                if op.status == Status::Failed {
                    s.status = Status::Failed;
                }
                s.operations.push(op);
            }
            _ => tail.push(op),
        }
    }
    if !tail.is_empty() {
        let status = if tail.iter().any(|o| o.status == Status::Failed) {
            Status::Failed
        } else {
            Status::Passed
        };
        steps_report.push(StepReport {
            name: "cleanup".into(),
            status,
            operations: tail,
        });
    }

    let status = if first_failure.is_some() {
        Status::Failed
    } else {
        Status::Passed
    };
    report.status = status;
    report.attempts = vec![Attempt {
        started: started_at,
        duration: t0.elapsed(),
        status,
        steps: steps_report,
        failure: first_failure,
    }];
    ctx.console.scenario(&report);
    report
}

/// How many objects the scenario has created so far, per cluster (`""` is the main one).
async fn created_counts(cx: &ScenarioCx<'_>) -> Vec<(String, usize)> {
    let count = |env: &OpEnv| env.created.lock().map(|c| c.len()).unwrap_or(0);
    let mut out = vec![(String::new(), count(&cx.env))];
    for (name, u) in cx.other.all().await {
        out.push((name, count(&u.env)));
    }
    out
}

/// A step with `skipDelete: true`: what it created stays after the scenario (its objects
/// leave the cleanup list; the namespace, if the scenario made it, still goes).
async fn keep_created_since(cx: &ScenarioCx<'_>, before: &[(String, usize)]) {
    let since = |name: &str| {
        before
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .unwrap_or(0)
    };
    let keep = |env: &OpEnv, from: usize| {
        if let Ok(mut created) = env.created.lock() {
            created.truncate(from);
        }
    };
    keep(&cx.env, since(""));
    for (name, u) in cx.other.all().await {
        keep(&u.env, since(&name));
    }
}

/// Deletes what the scenario created through `env` (in reverse creation order), then
/// its namespace there when `created_ns`; one report per deletion.
async fn delete_all(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    hub: &WatchHub,
    created_ns: bool,
    cleanup_timeout: Duration,
) -> Vec<OperationReport> {
    let mut reports = Vec::new();
    let created: Vec<ObjectRef> = env.created.lock().map(|c| c.clone()).unwrap_or_default();
    // Every delete is sent (in reverse creation order) before any is waited for: an
    // object whose finalizer waits on a later one's deletion must not stall it.
    let mut requested = Vec::new();
    for r in created.iter().rev() {
        let t = Instant::now();
        let started = now_rfc3339();
        let pending = request_deletion(env, &delete_spec(cx, r)).await;
        requested.push((r, t, started, pending));
    }
    let waits = requested.into_iter().map(|(r, t, started, pending)| {
        let location = source(&cx.scenario.location);
        async move {
            let result = match pending {
                Ok(p) => p.wait(env, cleanup_timeout).await.map(|_| ()),
                Err(e) => Err(e),
            };
            cleanup_report(r, location, started, t.elapsed(), result)
        }
    });
    reports.extend(futures::future::join_all(waits).await);
    if created_ns {
        reports.push(delete_namespace(cx, env, hub, cleanup_timeout).await);
    }
    reports
}

/// Deletes the scenario's namespace through `env`: waits until it is gone when the
/// scenario or the run asks for Chainsaw's blocking teardown (a namespace that stays is
/// then a failure), else leaves the deletion to be followed in the background (a
/// namespace that stays is then a warning at the end of the run).
async fn delete_namespace(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    hub: &WatchHub,
    cleanup_timeout: Duration,
) -> OperationReport {
    let ns = &env.namespace;
    hub.release_namespace(ns);
    let t = Instant::now();
    let started = now_rfc3339();
    let blocking = cx
        .scenario
        .fast_namespace_deletion
        .map(|fast| !fast)
        .unwrap_or(cx.ctx.await_namespace_deletion);
    let propagation = cx
        .scenario
        .deletion_propagation_policy
        .map(exec::propagation)
        .or(Some(kube::api::PropagationPolicy::Background));
    let requested = namespace::request_deletion(&env.client, ns, propagation).await;
    let (result, output) = match requested {
        Err(e) => (Err(format!("namespace cleanup: {e}")), String::new()),
        Ok(uid) if blocking => (
            namespace::wait_gone(&env.client, ns, uid.as_deref(), cleanup_timeout)
                .await
                .map_err(|left| format!("namespace cleanup: {left}")),
            String::new(),
        ),
        Ok(uid) => {
            cx.ctx
                .control
                .teardown
                .follow(&env.client, &cx.name, ns, uid, cleanup_timeout);
            (
                Ok(()),
                "deletion requested; followed in the background until the end of the run"
                    .to_string(),
            )
        }
    };
    OperationReport {
        operation: "delete".into(),
        block: "cleanup".into(),
        location: source(&cx.scenario.location),
        object: Some(format!("v1/Namespace {ns}")),
        status: if result.is_ok() {
            Status::Passed
        } else {
            Status::Failed
        },
        started,
        duration: t.elapsed(),
        failure: result.err().map(|message| Failure {
            message,
            ..Default::default()
        }),
        output,
    }
}

/// Creates the namespace `ns` through `env` unless it exists; a fresh (not `fixed`)
/// name that is already taken is an error (without a position: callers add theirs).
/// Returns whether it was created.
async fn ensure_namespace(
    ctx: &RunContext,
    scenario: &Scenario,
    env: &OpEnv,
    ns: &str,
    fixed: bool,
) -> Result<bool, String> {
    let at = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    let exists = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(env.client.clone())
        .get_opt(ns)
        .await
        .map_err(|e| at("namespace", &e))?
        .is_some();
    if exists {
        return if fixed {
            Ok(false)
        } else {
            Err(at("namespace", &"a fresh namespace name is already taken"))
        };
    }
    // namespaceTemplate is rendered with $namespace (and $values) bound.
    let template = match &scenario.namespace_template {
        Some(node) => {
            let b = crate::expr::Bindings::new()
                .with("namespace", Value::String(ns.to_string()))
                .with("values", ctx.values.clone());
            Some(
                super::eval::value_with(
                    node,
                    scenario.namespace_template_compiler,
                    &Value::Null,
                    &b,
                )
                .map_err(|f| at("namespaceTemplate", &f.message))?,
            )
        }
        None => None,
    };
    namespace::create_from(env, ns, &ctx.run_id, template)
        .await
        .map_err(|e| at("namespace", &e))?;
    Ok(true)
}

/// Creates the namespace (unless fixed and present), the scoped kubeconfig, the mocks.
async fn setup(
    ctx: &RunContext,
    scenario: &Scenario,
    env: &OpEnv,
    ns: &str,
    fixed: bool,
    scoped_kubeconfig: &Path,
) -> Result<(bool, MockSet), Failure> {
    let at = |what: &str, e: &dyn std::fmt::Display| Failure {
        message: format!("{}: {what}: {e}", scenario.location),
        ..Default::default()
    };
    let created_ns = ensure_namespace(ctx, scenario, env, ns, fixed)
        .await
        .map_err(|e| Failure {
            message: format!("{}: {e}", scenario.location),
            ..Default::default()
        })?;
    crate::cluster::kubeconfig::write_with_namespace(&ctx.kubeconfig, scoped_kubeconfig, None, ns)
        .map_err(|e| at("kubeconfig", &e))?;
    let mut specs = Vec::new();
    for m in &scenario.mocks {
        let mut entry = m.config.to_json();
        if !entry.is_object() {
            entry = json!({});
        }
        entry["name"] = Value::String(m.name.clone());
        entry["type"] = Value::String(
            match m.kind {
                crate::scenario::MockKind::Otlp => "otlp",
                crate::scenario::MockKind::Webhook => "webhook",
            }
            .into(),
        );
        specs.push(MockConfig::from_json(&entry).map_err(|e| Failure {
            message: format!("{}: {e}", m.location),
            ..Default::default()
        })?);
    }
    let mocks = MockSet::start(&specs).await.map_err(|e| Failure {
        message: format!("{}: {e}", scenario.location),
        ..Default::default()
    })?;
    Ok((created_ns, mocks))
}

/// Lifts the scenario's disruptions; the report says what was injected.
fn lift_report(cx: &ScenarioCx<'_>) -> OperationReport {
    let started = now_rfc3339();
    let t = Instant::now();
    let summary = cx.faults.lift();
    OperationReport {
        operation: "disrupt".into(),
        block: "cleanup".into(),
        location: source(&cx.scenario.location),
        object: Some("lift every disruption".into()),
        status: Status::Passed,
        started,
        duration: t.elapsed(),
        failure: None,
        output: if summary.is_empty() {
            "nothing was injected".into()
        } else {
            format!("injected: {summary}")
        },
    }
}

fn delete_spec(cx: &ScenarioCx<'_>, r: &ObjectRef) -> DeleteSpec {
    DeleteSpec {
        api_version: r.api_version.clone(),
        kind: r.kind.clone(),
        name: Some(r.name.clone()),
        selector: None,
        namespace: r.namespace.clone(),
        propagation: cx
            .scenario
            .deletion_propagation_policy
            .map(exec::propagation),
    }
}

fn cleanup_report(
    r: &ObjectRef,
    location: SourceLocation,
    started: String,
    duration: Duration,
    result: Result<(), crate::ops::OpError>,
) -> OperationReport {
    OperationReport {
        operation: "delete".into(),
        block: "cleanup".into(),
        location,
        object: Some(r.to_string()),
        status: if result.is_ok() {
            Status::Passed
        } else {
            Status::Failed
        },
        started,
        duration,
        failure: result.err().map(|e| Failure {
            message: format!("cleanup of {r}: {e}"),
            ..Default::default()
        }),
        output: String::new(),
    }
}

/// `$step` of the step at `index` (0-based): `{id}`, numbered from 1 as in Chainsaw.
fn step_binding(index: usize) -> Value {
    serde_json::json!({"id": index + 1})
}

/// The report of `op`, stopped (or never started) because the run was interrupted.
fn interrupted(op: &crate::scenario::StepOperation, why: &str) -> OpOutcome {
    OpOutcome {
        report: OperationReport {
            operation: op.operation.name().to_string(),
            block: "try".into(),
            location: source(op.operation.location()),
            object: None,
            status: Status::Failed,
            started: now_rfc3339(),
            duration: Duration::ZERO,
            failure: Some(Failure {
                message: format!("interrupted ({why})"),
                ..Default::default()
            }),
            output: String::new(),
        },
        bindings: None,
    }
}

/// Chainsaw's `--pause-on-failure`: waits until ENTER is pressed (or stdin is closed),
/// one scenario at a time, so that the cluster can be looked at as the failure left it.
async fn pause(scenario: &str, step: &str) {
    use tokio::io::AsyncBufReadExt;
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    eprintln!("kanon: {scenario} | {step} failed; press ENTER to continue...");
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let _ = stdin.read_line(&mut line).await;
}

/// Runs the step at `index`; returns its report, its first failure, and the scope after it.
async fn run_step(
    cx: &ScenarioCx<'_>,
    step: &Step,
    index: usize,
    scope: &Bindings,
) -> (StepReport, Option<Failure>, Bindings) {
    let mut ops = Vec::new();
    let mut failure: Option<Failure> = None;
    let scope = &scope.with("step", step_binding(index));
    let mut b = match super::eval::bind_all(&step.bindings, scope) {
        Ok(b) => b,
        Err(f) => {
            return (
                StepReport {
                    name: step.name.clone(),
                    status: Status::Failed,
                    operations: vec![],
                },
                Some(f),
                scope.clone(),
            );
        }
    };
    let interrupt = &cx.ctx.control.interrupt;
    for op in &step.try_ {
        let OpOutcome { report, bindings } = tokio::select! {
            biased;
            why = interrupt.wait() => interrupted(op, &why),
            outcome = exec::run_operation(cx, step, op, "try", &b, cx.deadline) => outcome,
        };
        cx.ctx.console.operation(&cx.name, &step.name, &report);
        if let Some(nb) = bindings {
            b = nb;
        }
        let failed = report.status == Status::Failed;
        if failed {
            failure.get_or_insert_with(|| report.failure.clone().unwrap_or_default());
        }
        ops.push(report);
        if failed && interrupt.reason().is_none() && cx.ctx.control.pause_on_failure {
            pause(&cx.name, &step.name).await;
        }
        if failed && (!op.continue_on_error || interrupt.reason().is_some()) {
            break;
        }
    }
    // An interrupted run skips the diagnostics of `catch`; `finally` still undoes.
    if failure.is_some() && interrupt.reason().is_none() {
        for op in cx.scenario.catch.iter().chain(step.catch.iter()) {
            let r = exec::run_operation(cx, step, op, "catch", &b, None).await;
            cx.ctx.console.operation(&cx.name, &step.name, &r.report);
            ops.push(r.report);
        }
    }
    for op in &step.finally {
        let r = exec::run_operation(cx, step, op, "finally", &b, None).await;
        cx.ctx.console.operation(&cx.name, &step.name, &r.report);
        if r.report.status == Status::Failed {
            failure.get_or_insert_with(|| r.report.failure.clone().unwrap_or_default());
        }
        ops.push(r.report);
    }
    let status = if failure.is_some() {
        Status::Failed
    } else {
        Status::Passed
    };
    (
        StepReport {
            name: step.name.clone(),
            status,
            operations: ops,
        },
        failure,
        b,
    )
}
