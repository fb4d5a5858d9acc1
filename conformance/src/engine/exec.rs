//! Interpreting one operation of the model with [`crate::ops`]: templating, timeouts,
//! `expect` / `check` / `outputs`, mock assertions, and the operation's report.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::eval::{self, failure};
use super::runner::{ScenarioCx, source};
use crate::assert::{self, Tree};
use crate::expr::{Bindings, Compiler};
use crate::k8s::selector::LabelSelector;
use crate::mocks::recorder::Recorder;
use crate::ops::apply::{self, ApplyMode, WriteOptions};
use crate::ops::command::{self, ProcessSpec};
use crate::ops::delete::{self as delete_op, DeleteSpec};
use crate::ops::diagnostics::{self, Lookup};
use crate::ops::jsonpath::JsonPath;
use crate::ops::proxy as proxy_op;
use crate::ops::wait::{self as wait_op, WaitSpec};
use crate::ops::{ObjectRef, OpEnv, OpError, assert as assert_op, patch as patch_op};
use crate::report::model::{Failure, OperationReport, Status, now_rfc3339};
use crate::scenario::{
    CheckOp, ClusterDef, CommandOp, DeleteTarget, Expectation, Flavor, ObjectSelector, Operation,
    PropagationPolicy, ProxyOp, ResourceOp, ScriptOp, Step, StepOperation, WaitFor, find_cluster,
    selected_cluster,
};

/// What an operation hands on to the operations after it: `scope` plus what it bound on
/// top of its own `local` scope (outputs, `->name` tree bindings). Its own `bindings:`
/// stay local to it, as in Chainsaw.
fn export(scope: &Bindings, local: &Bindings, bound: &Bindings) -> Bindings {
    bound
        .added_since(local)
        .into_iter()
        .fold(scope.clone(), |acc, (name, value)| acc.with(name, value))
}

/// An operation's report and, when it bound something (`outputs`, `->name`), the scope
/// that follows it.
pub(crate) struct OpOutcome {
    pub report: OperationReport,
    pub bindings: Option<Bindings>,
}

/// The model's propagation policy in kube's terms.
pub fn propagation(p: PropagationPolicy) -> kube::api::PropagationPolicy {
    match p {
        PropagationPolicy::Orphan => kube::api::PropagationPolicy::Orphan,
        PropagationPolicy::Background => kube::api::PropagationPolicy::Background,
        PropagationPolicy::Foreground => kube::api::PropagationPolicy::Foreground,
    }
}

struct Done {
    object: Option<String>,
    bindings: Option<Bindings>,
    output: String,
}

impl Done {
    fn object(o: Option<String>) -> Self {
        Self {
            object: o,
            bindings: None,
            output: String::new(),
        }
    }
}

/// Runs `op` of `step` in `block` with `scope`; `deadline` (the scenario's) caps its
/// timeout in `try` blocks.
pub(crate) async fn run_operation(
    cx: &ScenarioCx<'_>,
    step: &Step,
    op: &StepOperation,
    block: &str,
    scope: &Bindings,
    deadline: Option<Instant>,
) -> OpOutcome {
    let started = now_rfc3339();
    let t0 = Instant::now();
    let mut timeout = cx.timeout(op, step, block);
    let mut capped = false;
    if let Some(d) = deadline {
        let left = d.saturating_duration_since(Instant::now());
        if left < timeout {
            // Whole milliseconds: the remaining time shows in messages.
            timeout = Duration::from_millis(left.as_millis() as u64);
            capped = true;
        }
    }
    let id = operation_id(cx, step, op, block);
    let scope = cx
        .refresh_mocks(scope)
        .with("operation", operation_binding(id, 1));
    let result = if capped && timeout.is_zero() {
        Err((None, failure("the scenario's timeout has passed")))
    } else {
        let site = Site {
            step,
            compiler: op.compiler,
            clusters: &op.clusters,
            operation_id: id,
        };
        dispatch(cx, site, &op.operation, &scope, timeout).await
    };
    let (status, object, failure, output, bindings) = match result {
        Ok(d) => (Status::Passed, d.object, None, d.output, d.bindings),
        Err((object, mut f)) => {
            if capped {
                f.message = format!("{} (scenario timeout)", f.message);
            }
            (Status::Failed, object, Some(f), String::new(), None)
        }
    };
    OpOutcome {
        report: OperationReport {
            operation: op.operation.name().to_string(),
            block: block.to_string(),
            location: source(op.operation.location()),
            object,
            status,
            started,
            duration: t0.elapsed(),
            failure,
            output,
        },
        bindings,
    }
}

type OpResult = Result<Done, (Option<String>, Failure)>;

/// The number of `op` in its block (from 1), as Chainsaw counts for `$operation.id`: a
/// `catch` block is the scenario's catch followed by the step's.
fn operation_id(cx: &ScenarioCx<'_>, step: &Step, op: &StepOperation, block: &str) -> usize {
    let list: Vec<&StepOperation> = match block {
        "try" => step.try_.iter().collect(),
        "catch" => cx.scenario.catch.iter().chain(&step.catch).collect(),
        "finally" => step.finally.iter().collect(),
        "cleanup" => step.cleanup.iter().collect(),
        _ => Vec::new(),
    };
    list.iter()
        .position(|o| std::ptr::eq(*o, op))
        .map_or(1, |i| i + 1)
}

/// `$operation`: `{id, resourceId}`, the operation's number in its block and the number
/// of the resource it is working on in its file (both from 1).
fn operation_binding(id: usize, resource_id: usize) -> Value {
    serde_json::json!({"id": id, "resourceId": resource_id})
}

/// Where an operation sits: its step, the language of its unprefixed `(expr)`s, and
/// the clusters it declares.
#[derive(Clone, Copy)]
struct Site<'a> {
    step: &'a Step,
    compiler: Compiler,
    clusters: &'a [ClusterDef],
    /// The operation's number in its block (`$operation.id`).
    operation_id: usize,
}

async fn dispatch(
    cx: &ScenarioCx<'_>,
    site: Site<'_>,
    op: &Operation,
    scope: &Bindings,
    timeout: Duration,
) -> OpResult {
    // The cluster the operation runs against: its own, its step's or its scenario's
    // (innermost wins); `x_k8s_*` functions follow it.
    let (step, compiler) = (site.step, site.compiler);
    let selected = selected_cluster(
        op.cluster(),
        step.cluster.as_deref(),
        cx.scenario.cluster.as_deref(),
    );
    // A name written `(expr)` is evaluated now; the empty name is the default cluster.
    let selected = selected
        .map(|name| eval::name_of(name, compiler, scope, "cluster"))
        .transpose()
        .map_err(|f| (None, f))?
        .filter(|name| !name.is_empty());
    let selected = selected.as_deref();
    // The name means the innermost declaration of it: operation, step, scenario.
    let def = match selected {
        None => None,
        Some(name) => Some(
            find_cluster(name, site.clusters, &step.clusters, &cx.scenario.clusters).ok_or_else(
                || {
                    (
                        None,
                        failure(format!(
                            "{}: unknown cluster {name:?}: declare it under `clusters`",
                            op.location()
                        )),
                    )
                },
            )?,
        ),
    };
    let other = cx.other_cluster(def).await.map_err(|f| (None, f))?;
    // (Always re-attached: outputs of an operation on another cluster carry its lookup.)
    let (env, lookup) = match &other {
        Some(u) => (&u.env, u.conn.lookup.clone()),
        None => (&cx.env, cx.ctx.lookup.clone()),
    };
    let scope = &scope.with_cluster(lookup);
    match op {
        Operation::Apply(r) => resource_op(cx, env, site, "apply", r, scope, timeout).await,
        Operation::Create(r) => resource_op(cx, env, site, "create", r, scope, timeout).await,
        Operation::Update(r) => resource_op(cx, env, site, "update", r, scope, timeout).await,
        Operation::Patch(r) => resource_op(cx, env, site, "patch", r, scope, timeout).await,
        Operation::Assert(c) => {
            check_op(cx, env, c, (scope, compiler), timeout, CheckKind::Assert).await
        }
        Operation::Error(c) => {
            check_op(cx, env, c, (scope, compiler), timeout, CheckKind::Error).await
        }
        Operation::Consistently(c) => {
            check_op(
                cx,
                env,
                &c.check,
                (scope, compiler),
                timeout,
                CheckKind::Consistently(c.duration),
            )
            .await
        }
        Operation::Delete(d) => delete(cx, env, site, d, scope, timeout).await,
        Operation::Wait(w) => wait(env, w, (scope, compiler), timeout).await,
        Operation::Sleep(s) => {
            if s.duration > timeout {
                tokio::time::sleep(timeout).await;
                return Err((None, failure(format!("sleep {:?} cut short", s.duration))));
            }
            tokio::time::sleep(s.duration).await;
            Ok(Done::object(None))
        }
        Operation::Disrupt(d) => disrupt(cx, d, timeout).await,
        Operation::Command(c) => command(cx, env, c, (scope, compiler), timeout).await,
        Operation::Script(s) => script(cx, env, s, (scope, compiler), timeout).await,
        Operation::Get(g) => {
            let o = render_selector(&g.object, scope, compiler).map_err(|f| (None, f))?;
            diag(env, &o, timeout, DiagKind::Get).await
        }
        Operation::Describe(d) => {
            let o = render_selector(&d.object, scope, compiler).map_err(|f| (None, f))?;
            diag(env, &o, timeout, DiagKind::Describe).await
        }
        Operation::Events(e) => {
            let o = render_selector(&e.object, scope, compiler).map_err(|f| (None, f))?;
            diag(env, &o, timeout, DiagKind::Events).await
        }
        Operation::PodLogs(p) => {
            let o = render_selector(&p.object, scope, compiler).map_err(|f| (None, f))?;
            let container =
                optional_text(p.container.as_deref(), scope, compiler).map_err(|f| (None, f))?;
            let text = tokio::time::timeout(
                timeout,
                diagnostics::pod_logs(
                    env,
                    o.name.as_deref(),
                    o.selector.as_deref(),
                    container.as_deref(),
                    p.tail.unwrap_or(if o.name.is_some() { 1000 } else { 10 }),
                ),
            )
            .await;
            match text {
                Ok(Ok(t)) => Ok(Done {
                    object: o.name.clone(),
                    bindings: None,
                    output: t,
                }),
                Ok(Err(e)) => Err((None, failure(e.to_string()))),
                Err(_) => Err((None, failure(format!("podLogs: not within {timeout:?}")))),
            }
        }
        Operation::Proxy(p) => proxy(env, p, (scope, compiler), timeout).await,
    }
}

/// Starts a disruption (see [`crate::scenario::Disruption`]); its description goes to
/// the operation's output.
async fn disrupt(
    cx: &ScenarioCx<'_>,
    d: &crate::scenario::DisruptOp,
    timeout: Duration,
) -> OpResult {
    use crate::scenario::Disruption;
    let faults = &cx.faults;
    let (object, result) = match &d.disruption {
        Disruption::FailWrites {
            resources,
            statuses,
            ratio,
            duration,
        } => (
            "operator API",
            faults.fail_writes(resources, statuses, *ratio, *duration),
        ),
        Disruption::FailReads {
            resources,
            statuses,
            duration,
        } => (
            "operator API",
            faults.fail_reads(resources, statuses, *duration),
        ),
        Disruption::Outage { duration } => ("operator API", faults.outage(*duration)),
        Disruption::RestartApiServer => (
            "API server",
            match tokio::time::timeout(timeout, faults.restart_apiserver()).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "the API server was not ready again within {timeout:?}"
                )),
            },
        ),
    };
    match result {
        Ok(text) => Ok(Done {
            object: Some(object.to_string()),
            bindings: None,
            output: text,
        }),
        Err(e) => Err((Some(object.to_string()), failure(e))),
    }
}

fn describe(v: &Value) -> Option<String> {
    let (av, kind, name, ns) = crate::ops::identity(v).ok()?;
    Some(match (ns, name) {
        (Some(ns), Some(n)) => format!("{av}/{kind} {ns}/{n}"),
        (None, Some(n)) => format!("{av}/{kind} {n}"),
        _ => format!("{av}/{kind}"),
    })
}

fn template_on(cx: &ScenarioCx<'_>, step: &Step, op: Option<bool>) -> bool {
    op.or(step.template)
        .or(cx.scenario.template)
        .unwrap_or(true)
}

/// Applies `expect` to an outcome: with no expectations an error fails the operation;
/// with expectations, the applicable checks decide (so an expected rejection passes).
fn expectations(
    expect: &[Expectation],
    outcome: &Value,
    error: Option<&str>,
    (scope, compiler): (&Bindings, Compiler),
) -> Result<(), Failure> {
    if expect.is_empty() {
        return match error {
            Some(e) => Err(failure(e.to_string())),
            None => Ok(()),
        };
    }
    let b = scope.with(
        "error",
        error
            .map(|e| Value::String(e.to_string()))
            .unwrap_or(Value::Null),
    );
    let mut applied = false;
    for e in expect {
        if let Some(m) = &e.match_
            && eval::check(m, compiler, outcome, &b).is_err()
        {
            continue;
        }
        applied = true;
        eval::check(&e.check, compiler, outcome, &b).map_err(|mut f| {
            f.message = format!(
                "{}: expectation failed{}",
                e.location,
                error
                    .map(|e| format!(" (operation error: {e})"))
                    .unwrap_or_default()
            );
            f
        })?;
    }
    match (applied, error) {
        (false, Some(e)) => Err(failure(e.to_string())),
        _ => Ok(()),
    }
}

fn op_error_text(e: &OpError) -> String {
    match e {
        OpError::Api {
            source: kube::Error::Api(status),
            ..
        } => status.message.clone(),
        other => other.to_string(),
    }
}

async fn resource_op(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    site: Site<'_>,
    action: &str,
    r: &ResourceOp,
    scope: &Bindings,
    timeout: Duration,
) -> OpResult {
    let b = eval::bind_all(&r.bindings, scope).map_err(|f| (None, f))?;
    let template = template_on(cx, site.step, r.template);
    let opts = WriteOptions {
        mode: if cx.flavor() == Flavor::Chainsaw {
            ApplyMode::Merge
        } else {
            ApplyMode::ServerSide
        },
        dry_run: r.dry_run.unwrap_or(false),
    };
    let mut b_out = b.clone();
    let mut objects = Vec::new();
    for (i, m) in r.resources.iter().enumerate() {
        let operation = operation_binding(site.operation_id, i + 1);
        let b = b.with("operation", operation.clone());
        b_out = b_out.with("operation", operation);
        let mut obj = eval::render(m, &b, template, site.compiler).map_err(|f| (None, f))?;
        if let (Some(grace), "apply" | "create" | "update") =
            (cx.scenario.force_termination_grace_period, action)
        {
            apply::force_termination_grace_period(&mut obj, grace.as_secs() as i64);
        }
        let object = describe(&obj);
        objects.extend(object.clone());
        let call = async {
            match action {
                "apply" => apply::apply(env, obj.clone(), opts).await,
                "create" => apply::create(env, obj.clone(), opts).await,
                "update" => apply::update(env, obj.clone(), opts).await,
                _ => {
                    patch_op::patch(env, obj.clone(), r.subresource.as_deref(), opts.dry_run).await
                }
            }
        };
        let (result, warnings) =
            crate::k8s::warnings::capture(tokio::time::timeout(timeout, call)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(OpError::Timeout {
                what: format!("{action} {}", object.clone().unwrap_or_default()),
                timeout,
                last: None,
            }),
        };
        let (outcome, error) = match result {
            Ok(stored) => (stored, None),
            Err(e) => (obj.clone(), Some(op_error_text(&e))),
        };
        // `$warnings`: what the API server warned about this write (Chainsaw's binding).
        let warnings = serde_json::to_value(&warnings).unwrap_or_default();
        let b = b.with("warnings", warnings.clone());
        b_out = b_out.with("warnings", warnings);
        expectations(&r.expect, &outcome, error.as_deref(), (&b, site.compiler))
            .map_err(|f| (object.clone(), f))?;
        if error.is_none() {
            b_out = eval::bind_outputs(&r.outputs, &outcome, &b_out)
                .map_err(|f| (object.clone(), f))?;
        }
    }
    Ok(Done {
        object: (!objects.is_empty()).then(|| objects.join(", ")),
        bindings: (!r.outputs.is_empty()).then(|| export(scope, &b, &b_out)),
        output: String::new(),
    })
}

#[derive(Clone, Copy)]
enum CheckKind {
    Assert,
    Error,
    Consistently(Duration),
}

/// The tree's identity fields, evaluated when they are expressions, for picking
/// candidates: `{apiVersion, kind, metadata: {name?, namespace?}}`.
fn selection(tree_json: &Value, b: &Bindings, compiler: Compiler) -> Result<Value, Failure> {
    let eval_field = |v: Option<&Value>| -> Result<Option<Value>, Failure> {
        match v {
            Some(Value::String(s)) if s.starts_with('(') && s.ends_with(')') => {
                let inner = &s[1..s.len() - 1];
                crate::expr::eval_prefixed(inner, compiler, &Value::Null, b)
                    .map(Some)
                    .map_err(|e| failure(format!("({inner}): {e}")))
            }
            Some(v) => Ok(Some(v.clone())),
            None => Ok(None),
        }
    };
    let mut sel = json!({
        "apiVersion": eval_field(tree_json.get("apiVersion"))?,
        "kind": eval_field(tree_json.get("kind"))?,
        "metadata": {},
    });
    for f in ["name", "namespace"] {
        if let Some(v) = eval_field(tree_json.pointer(&format!("/metadata/{f}")))?
            && v.is_string()
        {
            sel["metadata"][f] = v;
        }
    }
    Ok(sel)
}

fn closest_failure(
    kind: &str,
    what: &str,
    candidates: Vec<(String, assert::Mismatch)>,
    timeout: Duration,
) -> Failure {
    match candidates.into_iter().min_by_key(|(_, m)| m.errors.len()) {
        None => failure(format!("no {kind} {what} found within {timeout:?}")),
        Some((name, m)) => Failure {
            message: format!("{kind} {name} does not match within {timeout:?}"),
            errors: m.errors.iter().map(|e| e.to_string()).collect(),
            diff: m.diff,
        },
    }
}

async fn check_op(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    c: &CheckOp,
    (scope, compiler): (&Bindings, Compiler),
    timeout: Duration,
    kind: CheckKind,
) -> OpResult {
    let local = eval::bind_all(&c.bindings, scope).map_err(|f| (None, f))?;
    let mut b = local.clone();
    let mut objects = Vec::new();
    for m in &c.trees {
        let t = eval::tree_with(&m.node, compiler).map_err(|f| (None, f))?;
        if let Some(mock) = &c.mock {
            let rec = cx
                .mocks
                .recorder(mock)
                .map_err(|e| (None, failure(format!("{}: {e}", c.location))))?
                .clone();
            objects.push(format!("mock {mock}"));
            b = mock_check(&rec, &t, &b, timeout, kind)
                .await
                .map_err(|f| (Some(format!("mock {mock}")), f))?;
            continue;
        }
        let sel = selection(&m.to_json(), &b, compiler).map_err(|f| (None, f))?;
        let object = describe(&sel);
        objects.extend(object.clone());
        let kind_name = sel["kind"].as_str().unwrap_or("object").to_string();
        let what = sel
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("matching the tree")
            .to_string();
        // `$mocks` and `$faults` as they are at each re-check, not when the operation began.
        let check = |actual: &Value| assert::check(&t, actual, &cx.refresh_mocks(&b));
        let err = |e: OpError| (object.clone(), failure(e.to_string()));
        match kind {
            CheckKind::Assert => {
                let r = assert_op::assert(env, &sel, timeout, check)
                    .await
                    .map_err(err)?;
                match r {
                    Ok(matched) => {
                        note(cx, env, &sel, &matched.name);
                        b = matched.value.bind(&b);
                    }
                    Err(unmatched) => {
                        if let Some((n, _)) = unmatched.candidates.first() {
                            note(cx, env, &sel, n);
                        }
                        return Err((
                            object,
                            closest_failure(&kind_name, &what, unmatched.candidates, timeout),
                        ));
                    }
                }
            }
            CheckKind::Error => {
                let r = assert_op::error(env, &sel, timeout, check)
                    .await
                    .map_err(err)?;
                if let Err(matched) = r {
                    note(cx, env, &sel, &matched.name);
                    return Err((
                        object,
                        failure(format!(
                            "{kind_name} {} still matches the error tree after {timeout:?}",
                            matched.name
                        )),
                    ));
                }
            }
            CheckKind::Consistently(duration) => {
                let r = assert_op::consistently(env, &sel, duration, timeout, check)
                    .await
                    .map_err(err)?;
                if let Err(unmatched) = r {
                    let mut f = closest_failure(&kind_name, &what, unmatched.candidates, duration);
                    f.message = format!("stopped holding before {duration:?}: {}", f.message);
                    return Err((object, f));
                }
            }
        }
    }
    Ok(Done {
        object: (!objects.is_empty()).then(|| objects.join(", ")),
        bindings: Some(export(scope, &local, &b)),
        output: String::new(),
    })
}

fn note(cx: &ScenarioCx<'_>, env: &OpEnv, sel: &Value, name: &str) {
    if let Ok((api_version, kind, _, ns)) = crate::ops::identity(sel) {
        cx.note_asserted(ObjectRef {
            api_version,
            kind,
            namespace: ns.or_else(|| Some(env.namespace.clone())),
            name: name.to_string(),
        });
    }
}

/// Assertions on a mock's records, re-evaluated on every new record.
async fn mock_check(
    rec: &Arc<Recorder>,
    t: &Tree,
    b: &Bindings,
    timeout: Duration,
    kind: CheckKind,
) -> Result<Bindings, Failure> {
    let mut ticks = rec.subscribe();
    let start = Instant::now();
    let (window, hold) = match kind {
        CheckKind::Consistently(d) => (d, true),
        _ => (timeout, false),
    };
    let until = start + window;
    loop {
        ticks.borrow_and_update();
        let records = rec.records();
        let found = assert::find_match(t, &records, b);
        match (kind, found) {
            (CheckKind::Assert, Ok((_, outcome))) => return Ok(outcome.bind(b)),
            (CheckKind::Error, Err(_)) => return Ok(b.clone()),
            (CheckKind::Consistently(_), Err(no)) => {
                let mut f = failure(format!("stopped holding after {:?}: {no}", start.elapsed()));
                if let Some((_, m)) = no.closest {
                    f.errors = m.errors.iter().map(|e| e.to_string()).collect();
                    f.diff = m.diff;
                }
                return Err(f);
            }
            (_, found) => {
                let timed_out = tokio::select! {
                    changed = ticks.changed() => changed.is_err(),
                    _ = tokio::time::sleep_until(until) => true,
                };
                if timed_out {
                    if hold {
                        return Ok(b.clone());
                    }
                    return Err(match (kind, found) {
                        (CheckKind::Error, Ok((i, _))) => failure(format!(
                            "record {i} still matches the error tree after {timeout:?}"
                        )),
                        (_, Err(no)) => {
                            let mut f = failure(format!(
                                "no record matched within {timeout:?} ({} recorded)",
                                records.len()
                            ));
                            if let Some((_, m)) = no.closest {
                                f.errors = m.errors.iter().map(|e| e.to_string()).collect();
                                f.diff = m.diff;
                            }
                            f
                        }
                        _ => failure("mock assertion failed"),
                    });
                }
            }
        }
    }
}

async fn delete(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    site: Site<'_>,
    d: &crate::scenario::DeleteOp,
    scope: &Bindings,
    timeout: Duration,
) -> OpResult {
    let (step, compiler) = (site.step, site.compiler);
    let b = eval::bind_all(&d.bindings, scope).map_err(|f| (None, f))?;
    let propagation = d
        .propagation
        .or(step.deletion_propagation_policy)
        .or(cx.scenario.deletion_propagation_policy)
        .map(propagation);
    let specs: Vec<DeleteSpec> = match &d.target {
        DeleteTarget::Ref(r) => {
            let template = template_on(cx, step, d.template);
            let r = render_ref(r, &b, template, compiler)
                .map_err(|f| (None, failure(format!("{}: {}", r.location, f.message))))?;
            let selector = (!r.labels.is_empty()).then(|| {
                r.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            });
            vec![DeleteSpec {
                api_version: r.api_version,
                kind: r.kind,
                name: r.name,
                selector,
                namespace: r.namespace,
                propagation: propagation.clone(),
            }]
        }
        DeleteTarget::Resources(ms) => {
            let template = template_on(cx, step, d.template);
            let mut out = Vec::new();
            for m in ms {
                let obj = eval::render(m, &b, template, compiler).map_err(|f| (None, f))?;
                let (api_version, kind, name, namespace) =
                    crate::ops::identity(&obj).map_err(|e| (None, failure(e.to_string())))?;
                out.push(DeleteSpec {
                    api_version,
                    kind,
                    name,
                    selector: None,
                    namespace,
                    propagation: propagation.clone(),
                });
            }
            out
        }
    };
    let mut objects = Vec::new();
    for spec in &specs {
        let object = Some(format!(
            "{}/{} {}",
            spec.api_version,
            spec.kind,
            spec.name
                .as_deref()
                .or(spec.selector.as_deref())
                .unwrap_or("")
        ));
        objects.extend(object.clone());
        let result = delete_op::delete(env, spec, timeout).await;
        let error = result.err().map(|e| op_error_text(&e));
        let outcome = json!({"apiVersion": spec.api_version, "kind": spec.kind,
            "metadata": {"name": spec.name, "namespace": spec.namespace}});
        expectations(&d.expect, &outcome, error.as_deref(), (&b, compiler))
            .map_err(|f| (object, f))?;
    }
    Ok(Done::object(Some(objects.join(", "))))
}

/// A `delete` `ref` with its `(expr)` fields evaluated (unless templating is off), as
/// Chainsaw templates the reference like any resource.
fn render_ref(
    r: &crate::scenario::ObjectReference,
    b: &Bindings,
    template: bool,
    compiler: Compiler,
) -> Result<crate::scenario::ObjectReference, Failure> {
    if !template {
        return Ok(r.clone());
    }
    let text = |s: &str| text_arg(s, b, compiler);
    let opt = |v: &Option<String>| v.as_deref().map(text).transpose();
    Ok(crate::scenario::ObjectReference {
        location: r.location.clone(),
        api_version: text(&r.api_version)?,
        kind: text(&r.kind)?,
        namespace: opt(&r.namespace)?,
        name: opt(&r.name)?,
        labels: r
            .labels
            .iter()
            .map(|(k, v)| Ok((text(k)?, text(v)?)))
            .collect::<Result<_, Failure>>()?,
    })
}

/// The apiVersion and kind an object selector names: given directly, or resolved from
/// its `resource` (plural, singular or short name, `kubectl` style) through discovery.
async fn require_kind(env: &OpEnv, o: &ObjectSelector) -> Result<(String, String), Failure> {
    match (&o.api_version, &o.kind, &o.resource) {
        (Some(a), Some(k), _) => Ok((a.clone(), k.clone())),
        (_, _, Some(r)) => {
            let resolved = env
                .resolver
                .resolve_resource(r)
                .await
                .map_err(|e| failure(format!("resource {r:?}: {e}")))?;
            Ok((resolved.resource.api_version, resolved.resource.kind))
        }
        (None, Some(k), None) => Err(failure(format!("kind {k:?} needs an apiVersion"))),
        _ => Err(failure("apiVersion and kind (or resource) are required")),
    }
}

/// An object selector with its `(expr)` fields (namespace, name, label selector)
/// evaluated, as Chainsaw evaluates them; an empty result means the field is unset.
fn render_selector(
    o: &ObjectSelector,
    b: &Bindings,
    compiler: Compiler,
) -> Result<ObjectSelector, Failure> {
    Ok(ObjectSelector {
        namespace: optional_text(o.namespace.as_deref(), b, compiler)?,
        name: optional_text(o.name.as_deref(), b, compiler)?,
        selector: optional_text(o.selector.as_deref(), b, compiler)?,
        ..o.clone()
    })
}

/// An optional string field that may be an `(expr)`: its text, none when unset or
/// empty.
fn optional_text(
    s: Option<&str>,
    b: &Bindings,
    compiler: Compiler,
) -> Result<Option<String>, Failure> {
    Ok(s.map(|s| text_arg(s, b, compiler))
        .transpose()?
        .filter(|s| !s.is_empty()))
}

async fn wait(
    env: &OpEnv,
    w: &crate::scenario::WaitOp,
    (scope, compiler): (&Bindings, Compiler),
    timeout: Duration,
) -> OpResult {
    let object = render_selector(&w.object, scope, compiler).map_err(|f| (None, f))?;
    let text = |s: &str| text_arg(s, scope, compiler).map_err(|f| (None, f));
    let (api_version, kind) = require_kind(env, &object).await.map_err(|f| (None, f))?;
    let selector = LabelSelector::parse(object.selector.as_deref().unwrap_or(""))
        .map_err(|e| (None, failure(e.to_string())))?;
    let for_ = match &w.for_ {
        WaitFor::Deletion => wait_op::WaitFor::Deletion,
        WaitFor::Creation => wait_op::WaitFor::Creation,
        WaitFor::Condition { name, value } => wait_op::WaitFor::Condition {
            name: text(name)?,
            value: value.as_deref().map(text).transpose()?,
        },
        WaitFor::JsonPath { path, value } => wait_op::WaitFor::JsonPath {
            path: JsonPath::parse(&text(path)?).map_err(|e| (None, failure(e.to_string())))?,
            value: value.as_deref().map(text).transpose()?,
        },
    };
    let w = &crate::scenario::WaitOp {
        object,
        ..w.clone()
    };
    let spec = WaitSpec {
        api_version: api_version.clone(),
        kind: kind.clone(),
        name: w.object.name.clone(),
        selector,
        namespace: w.object.namespace.clone(),
        for_,
    };
    let object = Some(format!(
        "{api_version}/{kind} {}",
        w.object
            .name
            .as_deref()
            .or(w.object.selector.as_deref())
            .unwrap_or("(all)")
    ));
    wait_op::wait(env, &spec, timeout)
        .await
        .map(|_| Done::object(object.clone()))
        .map_err(|e| (object, failure(e.to_string())))
}

fn env_vars(
    list: &[crate::scenario::Binding],
    b: &Bindings,
) -> Result<Vec<(String, String)>, Failure> {
    list.iter()
        .map(|e| {
            let v = eval::value_with(&e.value, e.compiler, &Value::Null, b)?;
            Ok((
                eval::name_of(&e.name, e.compiler, b, "env")?,
                match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            ))
        })
        .collect()
}

/// A string field: the value of its `(expr)` (unprefixed in `compiler`) as text, or the
/// string itself.
fn text_arg(s: &str, b: &Bindings, compiler: Compiler) -> Result<String, Failure> {
    if crate::assert::syntax::is_expression(s) {
        let v = crate::expr::eval_prefixed(&s[1..s.len() - 1], compiler, &Value::Null, b)
            .map_err(|e| failure(format!("{s}: {e}")))?;
        Ok(match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
    } else {
        Ok(s.to_string())
    }
}

/// A process's working directory: `dir` under the scenario's folder, else that folder.
fn work_dir(cx: &ScenarioCx<'_>, dir: Option<&str>) -> std::path::PathBuf {
    match dir {
        Some(d) => cx.dir().join(d),
        None => cx.dir(),
    }
}

async fn process(
    env: &OpEnv,
    spec: ProcessSpec,
    check: Option<(&crate::scenario::Node, Compiler)>,
    outputs: &[crate::scenario::Output],
    skip_log_output: bool,
    (scope, b): (&Bindings, &Bindings),
) -> OpResult {
    let out = command::run(env, &spec)
        .await
        .map_err(|e| (None, failure(e.to_string())))?;
    let log = if skip_log_output {
        String::new()
    } else {
        format!("$ {}\n{}{}", spec.args.join(" "), out.stdout, out.stderr)
    };
    outcome(&out, ("exit 0", log), check, outputs, (scope, b))
}

/// Judges what a process (or a proxied request) printed: `check` when given (else an
/// error fails), then `outputs`, with `$stdout`, `$stderr` and `$error` bound.
fn outcome(
    out: &command::ProcessOutput,
    (ok, log): (&str, String),
    check: Option<(&crate::scenario::Node, Compiler)>,
    outputs: &[crate::scenario::Output],
    (scope, b): (&Bindings, &Bindings),
) -> OpResult {
    let b = b
        .with("stdout", Value::String(out.stdout.clone()))
        .with("stderr", Value::String(out.stderr.clone()))
        .with(
            "error",
            out.error.clone().map(Value::String).unwrap_or(Value::Null),
        );
    match check {
        Some((node, compiler)) => {
            eval::check(node, compiler, &out.bindings(), &b).map_err(|mut f| {
                f.message = format!(
                    "check failed ({}); stdout: {:?}; stderr: {:?}",
                    out.error.as_deref().unwrap_or(ok),
                    out.stdout.trim(),
                    out.stderr.trim()
                );
                (None, f)
            })?;
        }
        None => {
            if let Some(e) = &out.error {
                let stderr = out.stderr.trim();
                return Err((
                    None,
                    failure(if stderr.is_empty() || e.contains(stderr) {
                        e.clone()
                    } else {
                        format!("{e}; stderr: {stderr}")
                    }),
                ));
            }
        }
    }
    let bound = eval::bind_outputs(outputs, &out.bindings(), &b).map_err(|f| (None, f))?;
    Ok(Done {
        object: None,
        bindings: (!outputs.is_empty()).then(|| export(scope, &b, &bound)),
        output: log,
    })
}

/// `proxy`: the object's `(expr)` fields evaluated, the GET sent, the answer judged
/// like a command's output (`$stdout` is the body).
async fn proxy(
    env: &OpEnv,
    p: &ProxyOp,
    (scope, compiler): (&Bindings, Compiler),
    timeout: Duration,
) -> OpResult {
    let text = |s: &str| text_arg(s, scope, compiler).map_err(|f| (None, f));
    let opt = |s: Option<&str>| optional_text(s, scope, compiler).map_err(|f| (None, f));
    let spec = proxy_op::ProxySpec {
        api_version: p.api_version.clone(),
        kind: p.kind.clone(),
        namespace: opt(p.namespace.as_deref())?,
        name: text(&p.name)?,
        port: opt(p.port.as_deref())?,
        path: opt(p.path.as_deref())?,
    };
    let object = Some(format!(
        "{}/{} {}{}",
        spec.api_version,
        spec.kind,
        spec.name,
        spec.port
            .as_deref()
            .map(|p| format!(":{p}"))
            .unwrap_or_default()
    ));
    let answer = proxy_op::proxy(env, &spec, timeout)
        .await
        .map_err(|e| (object.clone(), failure(e.to_string())))?;
    let out = command::ProcessOutput {
        stdout: answer.body.clone(),
        stderr: answer.message.clone(),
        exit_code: Some(if answer.error.is_some() { 1 } else { 0 }),
        error: answer.error.clone(),
        duration: Duration::ZERO,
    };
    let log = format!("GET {}\n{}{}", answer.url, out.stdout, out.stderr);
    outcome(
        &out,
        ("2xx answer", log),
        p.check.as_ref().map(|n| (n, compiler)),
        &p.outputs,
        (scope, scope),
    )
    .map(|mut d| {
        d.object = object.clone();
        d
    })
    .map_err(|(_, f)| (object, f))
}

async fn command(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    c: &CommandOp,
    (scope, compiler): (&Bindings, Compiler),
    timeout: Duration,
) -> OpResult {
    let b = eval::bind_all(&c.bindings, scope).map_err(|f| (None, f))?;
    let args = c
        .args
        .iter()
        .map(|a| text_arg(a, &b, compiler))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|f| (None, f))?;
    let spec = ProcessSpec {
        program: c.entrypoint.clone(),
        args,
        env: env_vars(&c.env, &b).map_err(|f| (None, f))?,
        work_dir: Some(work_dir(cx, c.work_dir.as_deref())),
        timeout,
    };
    process(
        env,
        spec,
        c.check.as_ref().map(|n| (n, compiler)),
        &c.outputs,
        c.skip_log_output,
        (scope, &b),
    )
    .await
}

async fn script(
    cx: &ScenarioCx<'_>,
    env: &OpEnv,
    s: &ScriptOp,
    (scope, compiler): (&Bindings, Compiler),
    timeout: Duration,
) -> OpResult {
    let b = eval::bind_all(&s.bindings, scope).map_err(|f| (None, f))?;
    let mut spec = ProcessSpec::script(&s.content, timeout);
    spec.env = env_vars(&s.env, &b).map_err(|f| (None, f))?;
    spec.work_dir = Some(work_dir(cx, s.work_dir.as_deref()));
    process(
        env,
        spec,
        s.check.as_ref().map(|n| (n, compiler)),
        &s.outputs,
        s.skip_log_output,
        (scope, &b),
    )
    .await
}

enum DiagKind {
    Get,
    Describe,
    Events,
}

async fn diag(env: &OpEnv, o: &ObjectSelector, timeout: Duration, kind: DiagKind) -> OpResult {
    let call = async {
        match kind {
            DiagKind::Events => diagnostics::events(env, o.namespace.as_deref())
                .await
                .map_err(|e| failure(e.to_string())),
            DiagKind::Get | DiagKind::Describe => {
                let (api_version, kind_name) = require_kind(env, o).await?;
                let l = Lookup {
                    api_version,
                    kind: kind_name,
                    name: o.name.clone(),
                    selector: o.selector.clone(),
                    namespace: o.namespace.clone(),
                };
                let r = if matches!(kind, DiagKind::Get) {
                    diagnostics::get(env, &l).await
                } else {
                    diagnostics::describe(env, &l).await
                };
                r.map_err(|e| failure(e.to_string()))
            }
        }
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(text)) => Ok(Done {
            object: o.name.clone(),
            bindings: None,
            output: text,
        }),
        Ok(Err(f)) => Err((None, f)),
        Err(_) => Err((None, failure(format!("not within {timeout:?}")))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::scenario::{Location, ObjectReference};
    use std::path::PathBuf;

    fn reference() -> ObjectReference {
        ObjectReference {
            location: Location::new(&Arc::new(PathBuf::from("s.yaml")), 4, 9),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("($other)".into()),
            name: Some("(concat('cm-', $suffix))".into()),
            labels: [("app".to_string(), "($app)".to_string())].into(),
        }
    }

    fn scope() -> Bindings {
        Bindings::new()
            .with("other", json!("ns-2"))
            .with("suffix", json!("x"))
            .with("app", json!("web"))
    }

    #[test]
    fn delete_refs_are_templated() {
        let r = render_ref(&reference(), &scope(), true, Compiler::Jp).unwrap();
        assert_eq!(r.namespace.as_deref(), Some("ns-2"));
        assert_eq!(r.name.as_deref(), Some("cm-x"));
        assert_eq!(r.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(r.kind, "ConfigMap");
    }

    #[test]
    fn delete_refs_stay_literal_without_templating() {
        let r = render_ref(&reference(), &scope(), false, Compiler::Jp).unwrap();
        assert_eq!(r.namespace.as_deref(), Some("($other)"));
    }

    #[test]
    fn an_undefined_binding_in_a_ref_is_an_error() {
        let err = render_ref(&reference(), &Bindings::new(), true, Compiler::Jp).unwrap_err();
        assert!(err.message.contains("$other"), "{err:?}");
    }

    #[test]
    fn selector_fields_are_evaluated_in_the_operations_language() {
        let o = ObjectSelector {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
            namespace: Some("($other)".into()),
            name: Some("(concat('cm-', $suffix))".into()),
            selector: Some("app=web".into()),
            ..Default::default()
        };
        let r = render_selector(&o, &scope(), Compiler::Jp).unwrap();
        assert_eq!(r.namespace.as_deref(), Some("ns-2"));
        assert_eq!(r.name.as_deref(), Some("cm-x"));
        assert_eq!(r.selector.as_deref(), Some("app=web"), "plain text stays");
        assert_eq!(r.kind.as_deref(), Some("ConfigMap"));
        let cel = ObjectSelector {
            name: Some("('cm-' + bindings.resolve('suffix'))".into()),
            ..Default::default()
        };
        let r = render_selector(&cel, &scope(), Compiler::Cel).unwrap();
        assert_eq!(r.name.as_deref(), Some("cm-x"));
        let err = render_selector(&o, &Bindings::new(), Compiler::Jp).unwrap_err();
        assert!(err.message.contains("$other"), "{err:?}");
    }

    #[test]
    fn an_empty_expression_result_leaves_a_field_unset() {
        let b = scope().with("none", json!(""));
        assert_eq!(
            optional_text(Some("($none)"), &b, Compiler::Jp).unwrap(),
            None
        );
        assert_eq!(optional_text(None, &b, Compiler::Jp).unwrap(), None);
        assert_eq!(
            optional_text(Some("($app)"), &b, Compiler::Jp).unwrap(),
            Some("web".into())
        );
    }

    #[test]
    fn an_operations_own_bindings_stay_local_and_its_outputs_go_on() {
        let scope = Bindings::new().with("x", json!(1));
        let local = scope.with("x", json!(2)).with("y", json!(3));
        let bound = local.with("out", json!(4)).with("x", json!(5));
        let next = export(&scope, &local, &bound);
        assert_eq!(next.get("out"), Some(&json!(4)));
        assert_eq!(next.get("y"), None, "an operation binding does not leak");
        assert_eq!(
            next.get("x"),
            Some(&json!(5)),
            "an output may replace a binding"
        );
        let quiet = export(&scope, &local, &local);
        assert_eq!(quiet.get("x"), Some(&json!(1)), "the outer value is back");
    }
}
