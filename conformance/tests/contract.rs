//! The contract suite as plain `cargo test`: every scenario under `scenarios/` is its own
//! test case, run against the reference operator (started in-process) on one shared
//! local cluster. A failing scenario fails only its own case, with the diff in the output.
//!
//! The operator reaches the API server through kanon's fault proxy, so `disrupt`
//! scenarios can fail its writes, cut it off, or restart the API server. Those run alone
//! (`concurrent: false`): they take the write side of [`exclusive`], every other case
//! the read side.
//!
//! `cargo test --test contract -- <filter>` runs some; `--list` lists them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use kanon::cluster::LocalCluster;
use kanon::engine::lookup::KubeLookup;
use kanon::engine::runner::{RunContext, run_scenario};
use kanon::ops::OpEnv;
use kanon::report::console::{Console, Verbosity};
use kanon::report::model::Status;
use kanon::scenario::Scenario;
use libtest_mimic::{Arguments, Failed, Trial};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The runtime every scenario runs on, shared by libtest-mimic's threads.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The cluster, the CRDs and the reference operator, set up once for all cases.
fn context() -> Result<&'static RunContext, String> {
    static CTX: OnceLock<Result<RunContext, String>> = OnceLock::new();
    CTX.get_or_init(|| runtime().block_on(setup()))
        .as_ref()
        .map_err(Clone::clone)
}

async fn setup() -> Result<RunContext, String> {
    let cluster = LocalCluster::shared().await.map_err(|e| e.to_string())?;
    let client = cluster.client().await.map_err(|e| e.to_string())?;
    let admin = OpEnv::connect(client.clone(), "default", cluster.kubeconfig_path());
    let (resolver, hub) = (admin.resolver.clone(), admin.hub.clone());
    kanon::engine::crds::install(
        &admin,
        &[repo().join("fixtures/crds")],
        Duration::from_secs(60),
    )
    .await
    .map_err(|e| e.to_string())?;
    // Garbage collection of MCPServer children from the first scenario on.
    cluster
        .restart_controller_manager()
        .await
        .map_err(|e| e.to_string())?;
    // The operator runs for the whole process on a thread and runtime of its own, and
    // talks to the API server through the fault proxy (which lives on this runtime).
    let proxy = kanon::faults::FaultProxy::start(cluster.kube_config())
        .await
        .map_err(|e| e.to_string())?;
    let config = proxy.kube_config().map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("mcp-operator".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("operator runtime");
            rt.block_on(async move {
                let client = kube::Client::try_from(config).expect("operator client");
                let _ = mcp_operator::run(client, std::future::pending::<()>()).await;
            });
        })
        .map_err(|e| e.to_string())?;
    let work = std::env::temp_dir().join(format!("kanon-contract-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    Ok(RunContext {
        client,
        resolver,
        hub,
        lookup: Arc::new(
            KubeLookup::start(cluster.kube_config().clone()).map_err(|e| e.to_string())?,
        ),
        kubeconfig: cluster.kubeconfig_path().to_path_buf(),
        timeouts: Default::default(),
        clusters: Default::default(),
        // `$values` as `kanon test` has them without a values file: the catalogue's
        // documented defaults.
        values: kanon::report::conformance::Catalogue::load(&repo().join("scenarios/clauses.yaml"))
            .map_err(|e| e.to_string())?
            .default_values(),
        console: Arc::new(Console::new(
            Box::new(std::io::sink()),
            false,
            Verbosity::Quiet,
        )),
        run_id: "cargo-test".into(),
        work_dir: work,
        report_dir: None,
        skip_delete: false,
        namespace: None,
        process_logs: vec![],
        await_namespace_deletion: false,
        control: Default::default(),
        faults: kanon::faults::Capabilities {
            proxy: Some(Arc::new(proxy)),
            proxy_unavailable: None,
            apiserver: Some(Arc::new(Restarter(cluster))),
        },
    })
}

/// The shared cluster's API server, for `disrupt: {apiServer: {restart: {}}}`.
struct Restarter(&'static LocalCluster);

impl kanon::faults::ApiServerControl for Restarter {
    fn restart_apiserver(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        kanon::faults::ApiServerControl::restart_apiserver(self.0)
    }
}

/// Scenarios with `concurrent: false` hold the write side: they run alone.
fn exclusive() -> &'static RwLock<()> {
    static LOCK: RwLock<()> = RwLock::new(());
    &LOCK
}

/// Runs one scenario; a failure carries every failed operation with its diff.
fn run_case(scenario: &Scenario) -> Result<(), Failed> {
    let ctx = context().map_err(|e| Failed::from(format!("suite setup failed: {e}")))?;
    let lock = exclusive();
    let report = if scenario.concurrent == Some(false) {
        let _alone = lock.write().unwrap_or_else(|e| e.into_inner());
        runtime().block_on(run_scenario(ctx, scenario, &scenario.name, &[]))
    } else {
        let _shared = lock.read().unwrap_or_else(|e| e.into_inner());
        runtime().block_on(run_scenario(ctx, scenario, &scenario.name, &[]))
    };
    if report.status == Status::Skipped
        && let Some(reason) = &report.skip_reason
    {
        // libtest-mimic cannot mark a case skipped at run time: fail loudly rather
        // than pass silently, since this suite can perform every disruption.
        return Err(Failed::from(format!("skipped: {reason}")));
    }
    if report.status != Status::Failed {
        return Ok(());
    }
    let mut text = String::new();
    for step in report.attempts.iter().flat_map(|a| a.steps.iter()) {
        for op in step
            .operations
            .iter()
            .filter(|o| o.status == Status::Failed)
        {
            let f = op.failure.clone().unwrap_or_default();
            text.push_str(&format!(
                "{}: {} {} ({}): {}\n",
                op.location, step.name, op.operation, op.block, f.message
            ));
            for e in &f.errors {
                text.push_str(&format!("  {e}\n"));
            }
            if !f.diff.is_empty() {
                text.push_str(&f.diff);
                text.push('\n');
            }
        }
    }
    if text.is_empty()
        && let Some(f) = report.failure()
    {
        text = f.message.clone();
    }
    Err(Failed::from(text))
}

fn main() {
    let args = Arguments::from_args();
    let root = repo().join("scenarios");
    let mut trials = Vec::new();
    match kanon::scenario::load(&root) {
        Ok(scenarios) => {
            for s in scenarios {
                let name = format!("{}::{}", relative(&s), s.name);
                let scenario = s.clone();
                trials.push(Trial::test(name, move || run_case(&scenario)));
            }
        }
        Err(errors) => {
            let text = errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            trials.push(Trial::test("scenarios::load", move || {
                Err(Failed::from(text.clone()))
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// `telemetry/env-vars` for `scenarios/telemetry/env-vars/scenario.yaml`.
fn relative(s: &Scenario) -> String {
    let file = s.location.file.as_ref();
    let dir = file.parent().unwrap_or(file);
    dir.strip_prefix(repo().join("scenarios"))
        .unwrap_or(dir)
        .display()
        .to_string()
        .replace('/', "::")
}
