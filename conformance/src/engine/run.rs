//! A whole run, as `kanon test` does it: load, filter and shard scenarios (a file that
//! does not load is a failed test of its own; a wrong run-level input, a positioned
//! error before anything touches a cluster), make or find the cluster, install CRDs,
//! start the operator, run the scenarios under the scheduling policy, wait for the
//! namespaces they made to go, write the reports (also when interrupted), tear down
//! what kanon made.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::interrupt::Interrupt;
use super::load_failure::LoadFailure;
use super::lookup::KubeLookup;
use super::operator::OperatorProcess;
use super::runner::{RunContext, RunControl, TestIds, run_numbered_scenario};
use super::schedule::{Job, Policy, run_all_until};
use super::shard::Shard;
use super::suite::OperatorCommand;
use crate::cluster::{Cluster, ClusterKind, LocalOptions};
use crate::faults::{ApiServerControl, Capabilities, FaultError, FaultProxy};
use crate::k8s::selector::LabelSelector;
use crate::ops::OpEnv;
use crate::report::ReportDir;
use crate::report::conformance::Catalogue;
use crate::report::console::{Console, Verbosity};
use crate::report::model::{RunReport, ScenarioReport, now_rfc3339, summary_line};
use crate::scenario::{ParseError, Scenario, Timeouts};

/// Everything `kanon test` can be told.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Scenario files and folders.
    pub paths: Vec<PathBuf>,
    /// Provider (default: existing with a kubeconfig, else local).
    pub cluster: Option<ClusterKind>,
    /// Kubeconfig of an existing cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Its context.
    pub context: Option<String>,
    /// CRD files and folders to install first.
    pub crds: Vec<PathBuf>,
    /// The operator to start out-of-cluster.
    pub operator: Option<OperatorCommand>,
    /// Where reports go.
    pub report_dir: Option<PathBuf>,
    /// The clause catalogue for the conformance report.
    pub catalogue: Option<PathBuf>,
    /// `$values` files.
    pub values_files: Vec<PathBuf>,
    /// `--set path=value` overrides.
    pub set: Vec<String>,
    /// `--set-string path=value` overrides (the value always a string).
    pub set_string: Vec<String>,
    /// Scheduling.
    pub policy: Policy,
    /// Only scenarios whose labels match this selector.
    pub selector: Option<String>,
    /// Only scenarios whose name matches.
    pub include: Option<String>,
    /// Not scenarios whose name matches.
    pub exclude: Option<String>,
    /// Failures and the summary only.
    pub quiet: bool,
    /// Run-level timeouts.
    pub timeouts: Timeouts,
    /// Keep what scenarios create.
    pub skip_delete: bool,
    /// Run every scenario in this namespace.
    pub namespace: Option<String>,
    /// Defaults for every scenario loaded (a Chainsaw configuration's).
    pub load: crate::scenario::LoadOptions,
    /// One more report file (a Chainsaw configuration's `reportFormat`, `reportPath`,
    /// `reportName`), written at the end of the run.
    pub report_file: Option<crate::report::ReportFile>,
    /// A scenario file that does not load stops the whole run before any cluster is
    /// touched (`--strict-load`); by default it is a failed test of its own.
    pub strict_load: bool,
    /// Run only this shard of the scenarios.
    pub shard: Option<Shard>,
    /// Wait at the end of each scenario until its namespace is gone (Chainsaw's
    /// blocking teardown) instead of following the deletion in the background.
    pub await_namespace_deletion: bool,
    /// Pause after a failed operation until ENTER is pressed.
    pub pause_on_failure: bool,
    /// Colour on the console: `None` when stdout is a terminal and `NO_COLOR` is unset.
    pub colour: Option<bool>,
    /// Stops the run early, which still reports what ran.
    pub interrupt: Interrupt,
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Scenario or input files are wrong (exit code 2).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Input(Vec<ParseError>),
    /// Anything else (exit code 1).
    #[error("{0}")]
    Setup(String),
}

/// Reads `--values` files and applies `--set` and then `--set-string` overrides into
/// one `$values` object.
pub fn load_values(
    files: &[PathBuf],
    set: &[String],
    set_string: &[String],
) -> Result<Value, RunError> {
    let mut values = Value::Object(Default::default());
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| {
            RunError::Input(vec![ParseError::file(
                f,
                format!("cannot read values: {e}"),
            )])
        })?;
        let v: Value = serde_saphyr::from_str(&text)
            .map_err(|e| RunError::Input(vec![ParseError::from_saphyr(f, &e)]))?;
        super::eval::merge(&mut values, &v);
    }
    for (flag, list, as_string) in [("--set", set, false), ("--set-string", set_string, true)] {
        for s in list {
            let overlay = set_overlay(s, as_string)
                .map_err(|e| RunError::Input(vec![ParseError::file(Path::new(flag), e)]))?;
            super::eval::merge(&mut values, &overlay);
        }
    }
    Ok(values)
}

/// One `--set` (or, `as_string`, `--set-string`) argument as an object to merge into
/// `$values`: `a.b=1` is `{a: {b: 1}}` (with `as_string`, `{a: {b: "1"}}`).
fn set_overlay(arg: &str, as_string: bool) -> Result<Value, String> {
    let (path, raw) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg:?}: expected path=value"))?;
    let mut overlay = if as_string {
        Value::String(raw.to_string())
    } else {
        serde_saphyr::from_str(raw).unwrap_or(Value::String(raw.to_string()))
    };
    for key in path.rsplit('.') {
        let mut m = serde_json::Map::new();
        m.insert(key.to_string(), overlay);
        overlay = Value::Object(m);
    }
    Ok(overlay)
}

/// What a run will do, decided before any cluster is touched.
#[derive(Debug, Default)]
pub struct Plan {
    /// The scenario runs, in discovery order (after filters and sharding).
    pub jobs: Vec<Job<ScenarioJob>>,
    /// The sources that did not load (after filters and sharding), each with the name
    /// it is reported under.
    pub broken: Vec<(String, LoadFailure)>,
}

/// Loads every scenario of `paths` and applies the filters.
///
/// A scenario source (file or conventional folder) that does not load becomes a failed
/// test in [`Plan::broken`], unless `strict_load` asks for today's all-or-nothing
/// behaviour (then every error, positioned, and nothing runs). Paths that do not exist
/// and wrong filters are errors of the run (exit code 2).
pub fn plan(opts: &RunOptions) -> Result<Plan, RunError> {
    let mut scenarios = Vec::new();
    let mut failures = Vec::new();
    let mut errors = Vec::new();
    for p in &opts.paths {
        if !p.exists() {
            errors.push(ParseError::file(p, "no such file or folder"));
            continue;
        }
        for source in crate::scenario::load_each(p, &opts.load) {
            match source.loaded {
                Ok(s) => scenarios.extend(s),
                Err(e) if opts.strict_load => errors.extend(e),
                Err(e) => failures.push(LoadFailure::new(&source.path, source.conventional, e)),
            }
        }
    }
    if !errors.is_empty() {
        return Err(RunError::Input(errors));
    }
    let bad = |what: &str, e: String| RunError::Input(vec![ParseError::file(Path::new(what), e)]);
    let selector = LabelSelector::parse(opts.selector.as_deref().unwrap_or(""))
        .map_err(|e| bad("--selector", e.to_string()))?;
    let include = opts
        .include
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| bad("--include", e.to_string()))?;
    let exclude = opts
        .exclude
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| bad("--exclude", e.to_string()))?;
    let by_name = |name: &str| {
        include.as_ref().is_none_or(|r| r.is_match(name))
            && exclude.as_ref().is_none_or(|r| !r.is_match(name))
    };
    let scenarios: Vec<Arc<Scenario>> = scenarios
        .into_iter()
        .filter(|s| selector.matches(&s.labels) && by_name(&s.name))
        .map(Arc::new)
        .collect();
    let mut jobs = jobs(&scenarios);
    // A broken source keeps the name its scenario would have had, made unique.
    let mut used: std::collections::HashSet<String> = jobs.iter().map(|j| j.name.clone()).collect();
    let mut broken = Vec::new();
    for f in failures {
        if !by_name(&f.name) || (f.labels_known && !selector.matches(&f.labels)) {
            continue;
        }
        let mut name = f.name.clone();
        let mut n = 1;
        while !used.insert(name.clone()) {
            n += 1;
            name = format!("{}#{n}", f.name);
        }
        broken.push((name, f));
    }
    if let Some(shard) = &opts.shard {
        let names: Vec<&str> = jobs
            .iter()
            .map(|j| j.name.as_str())
            .chain(broken.iter().map(|(n, _)| n.as_str()))
            .collect();
        let mut keep = shard.keeps(&names).into_iter();
        jobs.retain(|_| keep.next().unwrap_or(false));
        broken.retain(|_| keep.next().unwrap_or(false));
    }
    Ok(Plan { jobs, broken })
}

/// One scenario run: the scenario, its numbers for `$test`, its table row.
pub type ScenarioJob = (Arc<Scenario>, TestIds, Option<usize>);

/// The jobs of a run: one per scenario, or one per row of a table-driven scenario.
pub fn jobs(scenarios: &[Arc<Scenario>]) -> Vec<Job<ScenarioJob>> {
    let mut out = Vec::new();
    // Chainsaw files may share a name: later ones run as `name#2`, `name#3`... so that
    // reports and evidence folders stay apart.
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (test, s) in scenarios.iter().enumerate() {
        let count = seen.entry(s.name.as_str()).or_insert(0);
        *count += 1;
        let base = match *count {
            1 => s.name.clone(),
            n => format!("{}#{n}", s.name),
        };
        let rows: Vec<Option<usize>> = if s.binding_sets.is_empty() {
            vec![None]
        } else {
            (0..s.binding_sets.len()).map(Some).collect()
        };
        for row in rows {
            out.push(Job {
                item: (
                    s.clone(),
                    TestIds {
                        test: test + 1,
                        row: row.map_or(1, |r| r + 1),
                    },
                    row,
                ),
                name: match row {
                    Some(i) => format!("{base}[{i}]"),
                    None => base.clone(),
                },
                file: s.location.file.display().to_string(),
                clauses: s.clauses.iter().map(|c| c.id.clone()).collect(),
                concurrent: s.concurrent.unwrap_or(true),
            });
        }
    }
    out
}

/// Starts the fault proxy in front of the API server of `config` and writes the
/// operator's kubeconfig for it to `kubeconfig`.
async fn start_proxy(config: &kube::Config, kubeconfig: &Path) -> Result<FaultProxy, FaultError> {
    let proxy = FaultProxy::start(config).await?;
    proxy.write_kubeconfig(kubeconfig)?;
    Ok(proxy)
}

/// Runs `opts` to the end; returns the report (its `success()` is the exit status).
pub async fn run(opts: RunOptions) -> Result<RunReport, RunError> {
    let started = now_rfc3339();
    let t0 = Instant::now();
    // Inputs first: nothing touches a cluster when a run-level input is wrong.
    let plan = plan(&opts)?;
    if let Some(op) = &opts.operator {
        super::operator::check_program(&op.command)
            .map_err(|e| RunError::Setup(format!("operator: {e}")))?;
    }
    let catalogue = opts
        .catalogue
        .as_deref()
        .map(Catalogue::load)
        .transpose()
        .map_err(|e| RunError::Input(vec![ParseError::file(Path::new(""), e.to_string())]))?;
    // The catalogue's documented defaults are the lowest layer of `$values`.
    let mut values = catalogue
        .as_ref()
        .map(Catalogue::default_values)
        .unwrap_or_else(|| Value::Object(Default::default()));
    super::eval::merge(
        &mut values,
        &load_values(&opts.values_files, &opts.set, &opts.set_string)?,
    );
    let values_used = catalogue
        .as_ref()
        .map(|c| c.values_used(&values))
        .unwrap_or_default();
    let report_dir = opts
        .report_dir
        .as_deref()
        .map(ReportDir::prepare)
        .transpose()
        .map_err(|e| RunError::Setup(e.to_string()))?;
    if let Some(f) = &opts.report_file {
        f.prepare().map_err(|e| RunError::Setup(e.to_string()))?;
    }
    let verbosity = if opts.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let console = Arc::new(match opts.colour {
        Some(colour) => Console::new(Box::new(std::io::stdout()), colour, verbosity),
        None => Console::stdout(verbosity),
    });
    if let Some(shard) = &opts.shard {
        console.line_raw(&format!(
            "kanon: {shard}: {} scenario run(s) of the suite",
            plan.jobs.len() + plan.broken.len()
        ));
    }

    // Files that did not load are failed tests, reported first; the others run.
    let mut scenarios: Vec<ScenarioReport> = plan
        .broken
        .iter()
        .map(|(name, f)| {
            let r = f.report(name);
            console.scenario(&r);
            r
        })
        .collect();
    if !plan.jobs.is_empty() {
        let run = run_on_cluster(&opts, plan.jobs, values, report_dir.clone(), &console).await?;
        scenarios.extend(run);
    }

    let report = RunReport {
        kanon_version: env!("CARGO_PKG_VERSION").to_string(),
        started,
        duration: t0.elapsed(),
        scenarios,
        values: values_used,
        interrupted: opts.interrupt.reason(),
        shard: opts.shard.map(|s| s.info()),
    };
    if let Some(rd) = &report_dir {
        rd.write_all(&report, catalogue.as_ref())
            .map_err(|e| RunError::Setup(e.to_string()))?;
    }
    if let Some(f) = &opts.report_file {
        f.write(&report)
            .map_err(|e| RunError::Setup(e.to_string()))?;
    }
    for s in &report.scenarios {
        for w in &s.warnings {
            console.line_raw(&format!("kanon: warning: {} ({}): {w}", s.name, s.file));
        }
    }
    if let Some(why) = &report.interrupted {
        console.line_raw(&format!(
            "kanon: interrupted ({why}); the reports hold what ran until then"
        ));
    }
    console.summary(&report.totals());
    tracing::debug!(summary = summary_line(&report.totals()), "run done");
    Ok(report)
}

/// Makes or finds the cluster, installs CRDs, starts the operator, runs `jobs`, waits
/// for the namespaces they made to go (their leftovers become warnings of the
/// scenarios that made them) and tears down what it made; returns the jobs' reports.
async fn run_on_cluster(
    opts: &RunOptions,
    jobs: Vec<Job<ScenarioJob>>,
    values: Value,
    report_dir: Option<ReportDir>,
    console: &Arc<Console>,
) -> Result<Vec<ScenarioReport>, RunError> {
    let local = LocalOptions {
        signal_teardown: false,
        ..LocalOptions::default()
    };
    let cluster = Cluster::provision(
        opts.cluster,
        opts.kubeconfig.as_deref(),
        opts.context.as_deref(),
        local,
    )
    .await
    .map_err(|e| RunError::Setup(format!("cluster: {e}")))?;
    let client = cluster
        .client()
        .await
        .map_err(|e| RunError::Setup(format!("cluster: {e}")))?;
    let work = tempfile::Builder::new()
        .prefix("kanon-run-")
        .tempdir()
        .map_err(|e| RunError::Setup(format!("temp dir: {e}")))?;
    let admin = OpEnv::connect(client.clone(), "default", cluster.kubeconfig_path());
    let (resolver, hub) = (admin.resolver.clone(), admin.hub.clone());
    if !opts.crds.is_empty() {
        let names = super::crds::install(&admin, &opts.crds, std::time::Duration::from_secs(60))
            .await
            .map_err(|e| RunError::Setup(format!("CRDs: {e}")))?;
        tracing::info!(crds = names.len(), "CRDs installed");
        cluster
            .crds_installed()
            .await
            .map_err(|e| RunError::Setup(format!("cluster: {e}")))?;
    }
    let log_dir = report_dir
        .as_ref()
        .map(|r| r.path().to_path_buf())
        .unwrap_or_else(|| work.path().to_path_buf());
    let kube_config =
        crate::cluster::kubeconfig::load(cluster.kubeconfig_path(), opts.context.as_deref())
            .await
            .map_err(|e| RunError::Setup(e.to_string()))?;
    let cluster = Arc::new(cluster);
    let mut faults = Capabilities::default();
    if matches!(cluster.as_ref(), Cluster::Local(_)) {
        faults.apiserver = Some(cluster.clone() as Arc<dyn ApiServerControl>);
    }
    let mut process_logs = Vec::new();
    let mut operator = match &opts.operator {
        Some(op) => {
            let log = log_dir.join("operator.log");
            process_logs.push(("operator".to_string(), log.clone()));
            // The operator talks to the API server through the fault proxy, so
            // scenarios can disrupt its traffic; without a proxy it talks directly and
            // those scenarios are skipped.
            let proxied = work.path().join("operator-kubeconfig");
            let kubeconfig = match start_proxy(&kube_config, &proxied).await {
                Ok(proxy) => {
                    faults.proxy = Some(Arc::new(proxy));
                    proxied.as_path()
                }
                Err(e) => {
                    console.line_raw(&format!(
                        "kanon: the operator talks to the API server directly, operatorApi disruptions are skipped: {e}"
                    ));
                    faults.proxy_unavailable = Some(e.to_string());
                    cluster.kubeconfig_path()
                }
            };
            let mut process = OperatorProcess::start(&op.command, &op.env, kubeconfig, &log)
                .map_err(|e| RunError::Setup(format!("operator: {e}")))?;
            if let Some((probe, timeout)) = &op.ready {
                let t = Instant::now();
                process
                    .wait_ready(probe, *timeout)
                    .await
                    .map_err(|e| RunError::Setup(format!("operator: {e}")))?;
                console.line_raw(&format!(
                    "kanon: the operator is ready ({}, after {:.1}s)",
                    probe.describe(),
                    t.elapsed().as_secs_f64()
                ));
            }
            Some(process)
        }
        None => None,
    };
    let lookup = Arc::new(
        KubeLookup::start(kube_config)
            .map_err(|e| RunError::Setup(format!("lookup thread: {e}")))?,
    );
    let ctx = Arc::new(RunContext {
        client,
        resolver,
        hub,
        lookup,
        kubeconfig: cluster.kubeconfig_path().to_path_buf(),
        timeouts: opts.timeouts,
        values,
        console: console.clone(),
        run_id: super::namespace::random_suffix(),
        work_dir: work.path().to_path_buf(),
        report_dir,
        skip_delete: opts.skip_delete,
        namespace: opts.namespace.clone(),
        process_logs,
        await_namespace_deletion: opts.await_namespace_deletion,
        faults,
        clusters: Default::default(),
        control: RunControl {
            interrupt: opts.interrupt.clone(),
            teardown: Default::default(),
            pause_on_failure: opts.pause_on_failure,
        },
    });

    let run_ctx = ctx.clone();
    let mut reports = run_all_until(
        jobs,
        opts.policy,
        opts.interrupt.clone(),
        move |(scenario, ids, row), name| {
            let ctx = run_ctx.clone();
            async move {
                let extra = row
                    .and_then(|i| scenario.binding_sets.get(i).cloned())
                    .unwrap_or_default();
                run_numbered_scenario(&ctx, &scenario, &name, &extra, ids).await
            }
        },
    )
    .await;

    // The run ends when every namespace it made is gone, or says what is left (before
    // the operator stops: their content may wait on its finalizers).
    let teardown = &ctx.control.teardown;
    let waiting = teardown.pending();
    if waiting > 0 && opts.interrupt.reason().is_none() {
        console.line_raw(&format!(
            "kanon: waiting for the deletion of {waiting} namespace(s)"
        ));
    }
    let leftovers = tokio::select! {
        l = teardown.finish() => l,
        _ = opts.interrupt.wait() => {
            teardown.abandon();
            Vec::new()
        }
    };
    super::teardown::attach(&mut reports, &leftovers);

    if let Some(op) = operator.as_mut()
        && let Some(status) = op.exited()
    {
        console.line_raw(&format!(
            "kanon: the operator exited during the run ({status}); last lines:\n{}",
            op.log_tail(20)
        ));
    }
    drop(operator);
    // Watchers stop before the cluster goes, so its teardown is not reported as
    // connection errors.
    drop(ctx);
    drop(admin);
    tokio::task::yield_now().await;
    drop(cluster);
    Ok(reports)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chainsaw(name: &str, rows: usize) -> Arc<Scenario> {
        let table = if rows == 0 {
            String::new()
        } else {
            format!(
                "  scenarios:\n{}",
                "  - bindings: [{name: x, value: 1}]\n".repeat(rows)
            )
        };
        let text = format!(
            "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: {name}\nspec:\n{table}  steps:\n  - try:\n    - sleep: {{duration: 1ms}}\n"
        );
        Arc::new(
            crate::scenario::parse_str(Path::new("t.yaml"), &text)
                .unwrap()
                .remove(0),
        )
    }

    #[test]
    fn jobs_number_tests_and_rows_and_tell_equal_names_apart() {
        let jobs = jobs(&[chainsaw("a", 0), chainsaw("b", 2), chainsaw("a", 0)]);
        let seen: Vec<(String, TestIds)> =
            jobs.iter().map(|j| (j.name.clone(), j.item.1)).collect();
        let ids = |test, row| TestIds { test, row };
        assert_eq!(
            seen,
            [
                ("a".to_string(), ids(1, 1)),
                ("b[0]".to_string(), ids(2, 1)),
                ("b[1]".to_string(), ids(2, 2)),
                ("a#2".to_string(), ids(3, 1)),
            ]
        );
    }
}
