//! Scale benchmark: N MCPServers (default 1,000) in one namespace sharing one
//! MCPTelemetryConfig, on a local control plane, against the release operator binary run
//! as its own process.
//!
//! Prints: time until every server is reconciled from cold, time from a config spec edit
//! until every Deployment carries the new checksum, the operator's peak RSS, and reconcile
//! p50 / p99 (from the operator's `/metrics` histogram) for the cold start, for the edit
//! cascade, and for single-server edits made one at a time on the otherwise quiet cluster.
//! Run through `ci/bench-operator.sh`; `BENCH_SERVERS` and `BENCH_CONCURRENCY` (the
//! operator's `--concurrency`) vary the load.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kanon::cluster::LocalCluster;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use mcp_operator::api::{MCPServer, MCPTelemetryConfig};
use mcp_operator::resources::CHECKSUM_ANNOTATION;
use serde::de::DeserializeOwned;
use serde_json::json;

const NAMESPACE: &str = "bench";
const DEADLINE: Duration = Duration::from_secs(600);
/// Servers edited one at a time for the unloaded reconcile latency.
const QUIET_EDITS: usize = 50;

/// A watch cache plus a signal on every change.
struct Cache<K: Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    changed: tokio::sync::watch::Receiver<()>,
}

fn cache<K>(api: Api<K>) -> Cache<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let (tx, changed) = tokio::sync::watch::channel(());
    let events = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    );
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            if event.is_ok() {
                let _ = tx.send(());
            }
        }
    });
    Cache { store, changed }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Cache<K> {
    /// Wait until `pred` holds over the cached objects; the time since `start`.
    async fn until(
        &mut self,
        start: Instant,
        what: &str,
        pred: impl Fn(&[Arc<K>]) -> bool,
    ) -> Duration {
        let waited = tokio::time::timeout(DEADLINE, async {
            loop {
                if pred(&self.store.state()) {
                    return start.elapsed();
                }
                self.changed.changed().await.expect("cache task alive");
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("{what}: not within {DEADLINE:?}"))
    }
}

fn checksum(d: &Deployment) -> Option<&str> {
    d.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(CHECKSUM_ANNOTATION)
        .map(String::as_str)
}

struct OperatorProcess {
    child: Child,
    metrics_port: u16,
}

impl OperatorProcess {
    fn start(binary: &PathBuf, kubeconfig: &std::path::Path, metrics_port: u16) -> Self {
        let child = Command::new(binary)
            .args([
                "run",
                "--metrics-bind=127.0.0.1",
                &format!("--metrics-port={metrics_port}"),
            ])
            .envs(
                std::env::var("BENCH_CONCURRENCY")
                    .ok()
                    .map(|c| ("MCP_OPERATOR_CONCURRENCY", c)),
            )
            .env("KUBECONFIG", kubeconfig)
            .env(
                "RUST_LOG",
                std::env::var("BENCH_OPERATOR_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("operator starts");
        OperatorProcess {
            child,
            metrics_port,
        }
    }

    /// Peak resident set size in MiB (`VmHWM`).
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    async fn metrics(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.metrics_port))
            .await
            .expect("metrics port");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("request");
        let mut body = String::new();
        stream.read_to_string(&mut body).await.expect("response");
        body
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Series selector of the operator's `mcpserver` reconcile histogram.
const RECONCILES: (&str, &[&str]) = (
    "mcp_operator_reconcile_duration_seconds",
    &["controller=\"mcpserver\""],
);

/// Quantile `q` of the `mcpserver` reconcile histogram, interpolated within its bucket.
fn quantile(metrics: &str, q: f64) -> Option<f64> {
    quantile_of(&buckets(metrics, RECONCILES), q)
}

/// Quantile `q` of the reconciles that finished between two scrapes.
fn quantile_between(before: &str, after: &str, q: f64) -> Option<f64> {
    quantile_of(&bucket_delta(before, after, RECONCILES), q)
}

/// The observations of a histogram made between two scrapes.
fn bucket_delta(before: &str, after: &str, series: (&str, &[&str])) -> Vec<(f64, f64)> {
    let before = buckets(before, series);
    buckets(after, series)
        .into_iter()
        .map(|(le, count)| {
            let old = before
                .iter()
                .find(|(l, _)| *l == le)
                .map(|(_, c)| *c)
                .unwrap_or(0.0);
            (le, count - old)
        })
        .collect()
}

/// A histogram's cumulative buckets (upper bound, count), summed over every series of
/// `name` whose labels include all of `labels` (e.g. `verb="APPLY"`).
fn buckets(metrics: &str, (name, labels): (&str, &[&str])) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{");
    let mut sums: Vec<(f64, f64)> = Vec::new();
    for (le, count) in metrics
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let count: f64 = l.rsplit(' ').next()?.trim().parse().ok()?;
            Some((le, count))
        })
    {
        match sums.iter_mut().find(|(l, _)| *l == le) {
            Some((_, sum)) => *sum += count,
            None => sums.push((le, count)),
        }
    }
    sums.sort_by(|a, b| a.0.total_cmp(&b.0));
    sums
}

/// Seconds as milliseconds for printing; NaN when there was nothing to measure.
fn millis(seconds: Option<f64>) -> f64 {
    seconds.map_or(f64::NAN, |s| s * 1000.0)
}

fn quantile_of(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let target = q * total;
    let mut previous = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= target {
            if le.is_infinite() {
                return Some(previous.0);
            }
            let within = if count > previous.1 {
                (target - previous.1) / (count - previous.1)
            } else {
                1.0
            };
            return Some(previous.0 + (le - previous.0) * within);
        }
        previous = (le, count);
    }
    None
}

fn reconcile_count(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("mcp_operator_reconcile_duration_seconds_count{"))
        .find(|l| l.contains("controller=\"mcpserver\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The API server's `/metrics` text.
async fn apiserver_metrics(client: &Client) -> String {
    let request = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("request");
    client.request_text(request).await.unwrap_or_default()
}

/// The API server's own latency (p50, p99 in ms) for the operator's writes of one kind
/// between two scrapes: what a reconcile waits for, minus the network and the client.
fn print_server_latencies(before: &str, after: &str) {
    for (resource, subresource) in [
        ("configmaps", ""),
        ("deployments", ""),
        ("mcpservers", "status"),
    ] {
        let resource_label = format!("resource=\"{resource}\"");
        let subresource_label = format!("subresource=\"{subresource}\"");
        let labels = ["verb=\"APPLY\"", &resource_label, &subresource_label];
        let delta = bucket_delta(
            before,
            after,
            ("apiserver_request_duration_seconds", &labels),
        );
        let ms = |q| millis(quantile_of(&delta, q));
        let name = match subresource {
            "" => resource.to_string(),
            sub => format!("{resource}/{sub}"),
        };
        println!(
            "  API server latency of APPLY {name}: p50 {:.1} ms, p99 {:.1} ms",
            ms(0.5),
            ms(0.99)
        );
    }
}

/// The API server's request counters by (verb, resource, subresource).
fn apiserver_requests(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let label = |name: &str| {
            line.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let key = format!(
            "{} {}{}",
            label("verb"),
            label("resource"),
            match label("subresource").as_str() {
                "" => String::new(),
                sub => format!("/{sub}"),
            }
        );
        *counts.entry(key).or_insert(0.0) += value;
    }
    counts
}

/// Print the API requests made between two counter snapshots, busiest first.
fn print_requests(
    what: &str,
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    elapsed: Duration,
) {
    let mut delta: Vec<(&String, f64)> = after
        .iter()
        .map(|(k, v)| (k, v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(k, v)| *v >= 1.0 && !k.starts_with("WATCH"))
        .collect();
    delta.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = delta.iter().map(|(_, v)| v).sum();
    println!(
        "API requests during {what}: {total:.0} ({:.0}/s)",
        total / elapsed.as_secs_f64()
    );
    for (key, count) in delta.iter().take(12) {
        println!("  {count:>7.0}  {key}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The figures swing twofold on a two-core machine that is building something at the same
/// time: say so up front instead of printing them as if they were comparable.
fn warn_if_busy() {
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if load > 0.5 * cores as f64 {
        eprintln!(
            "WARNING: 1-minute load average is {load:.2} on {cores} cores before the bench starts; \
             the figures below are not comparable with an idle run"
        );
    }
}

async fn timed<F: Future>(f: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let servers: usize = std::env::var("BENCH_SERVERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let binary = PathBuf::from(
        std::env::var("MCP_OPERATOR_BIN")
            .expect("MCP_OPERATOR_BIN: path of the release mcp-operator binary"),
    );

    warn_if_busy();
    println!(
        "{servers} MCPServers, operator concurrency {}",
        std::env::var("BENCH_CONCURRENCY")
            .unwrap_or_else(|_| mcp_operator::DEFAULT_CONCURRENCY.to_string())
    );

    let (cluster, startup) = timed(LocalCluster::start()).await;
    let cluster = cluster.expect("local cluster");
    println!("cluster started in {:.1}s", startup.as_secs_f64());
    let client: Client = cluster.client().await.expect("client");

    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    for crd in mcp_operator::api::crds() {
        let name = crd.metadata.name.clone().expect("name");
        crds.patch(
            &name,
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("CRD");
        kube::runtime::wait::await_condition(
            crds.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        )
        .await
        .expect("established");
    }
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).expect("ns");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");

    let configs: Api<MCPTelemetryConfig> = Api::namespaced(client.clone(), NAMESPACE);
    let server_api: Api<MCPServer> = Api::namespaced(client.clone(), NAMESPACE);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let config: MCPTelemetryConfig = serde_json::from_value(json!({
        "metadata": {"name": "shared"},
        "spec": {"openTelemetry": {"enabled": true, "endpoint": "collector:4318", "tracing": {"enabled": true, "samplingRate": "0.05"}}}
    }))
    .expect("config");
    configs
        .create(&PostParams::default(), &config)
        .await
        .expect("config created");

    // Cold: the servers exist before the operator starts.
    let (_, created) = timed(
        stream::iter(0..servers)
            .map(|i| {
                let api = server_api.clone();
                async move {
                    let server: MCPServer = serde_json::from_value(json!({
                        "metadata": {"name": format!("server-{i:04}")},
                        "spec": {"image": "ghcr.io/example/mcp:1", "telemetryConfigRef": {"name": "shared"}}
                    }))
                    .expect("server");
                    api.create(&PostParams::default(), &server).await.map(|_| ())
                }
            })
            .buffer_unordered(32)
            .try_collect::<Vec<()>>(),
    )
    .await;
    println!(
        "created {servers} MCPServers in {:.1}s (operator not running)",
        created.as_secs_f64()
    );

    let mut deployment_cache = cache(deployments);
    let mut server_cache = cache(server_api.clone());
    let port = free_port();
    let requests_cold = apiserver_requests(&apiserver_metrics(&client).await);
    let start = Instant::now();
    let operator = OperatorProcess::start(&binary, cluster.kubeconfig_path(), port);
    let all_deployed = deployment_cache
        .until(start, "all Deployments created", |ds| {
            ds.len() == servers && ds.iter().all(|d| checksum(d).is_some())
        })
        .await;
    let all_reconciled = server_cache
        .until(start, "all servers reconciled", |ss| {
            ss.len() == servers
                && ss.iter().all(|s| {
                    s.status.as_ref().is_some_and(|st| {
                        st.telemetry_config_hash.is_some()
                            && st.observed_generation == s.metadata.generation
                    })
                })
        })
        .await;
    println!(
        "cold start: all {servers} Deployments in {:.2}s, all statuses reconciled in {:.2}s",
        all_deployed.as_secs_f64(),
        all_reconciled.as_secs_f64()
    );
    print_requests(
        "the cold start",
        &requests_cold,
        &apiserver_requests(&apiserver_metrics(&client).await),
        all_reconciled,
    );

    // Steady state before the edit: the rollouts of the cold start finish (the Deployment
    // controller works through 1,000 Deployments at its own client rate limit), so the
    // edit cascade is measured on its own rather than mixed with Pending -> Ready updates.
    let steady = server_cache
        .until(start, "all servers Ready", |ss| {
            ss.len() == servers
                && ss.iter().all(|s| {
                    s.status
                        .as_ref()
                        .and_then(|st| st.phase)
                        .is_some_and(|p| p == mcp_operator::api::Phase::Ready)
                })
        })
        .await;
    println!(
        "steady state (every server Ready) {:.1}s after the operator started",
        steady.as_secs_f64()
    );

    // Quiet edits: servers edited one at a time, each waited for until its status records
    // the new generation, so a reconcile's duration is its own work plus API round trips
    // that do not queue behind 999 others. The cascade below is the loaded case.
    let quiet_edits = QUIET_EDITS.min(servers);
    let metrics_quiet = operator.metrics().await;
    let server_before_quiet = apiserver_metrics(&client).await;
    let quiet_start = Instant::now();
    for i in 0..quiet_edits {
        let name = format!("server-{i:04}");
        let edited = server_api
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"spec": {"telemetryConfigRef": {"serviceName": format!("quiet-{i}")}}}),
                ),
            )
            .await
            .expect("server edit");
        let generation = edited.metadata.generation;
        server_cache
            .until(quiet_start, "quiet edit reconciled", |ss| {
                ss.iter().any(|s| {
                    s.metadata.name.as_deref() == Some(name.as_str())
                        && s.metadata.generation == generation
                        && s.status
                            .as_ref()
                            .is_some_and(|st| st.observed_generation == generation)
                })
            })
            .await;
    }
    let metrics_after_quiet = operator.metrics().await;
    let quiet = |q: f64| millis(quantile_between(&metrics_quiet, &metrics_after_quiet, q));
    println!(
        "{quiet_edits} single-server edits one at a time: {:.0} reconciles, p50 {:.1} ms, p99 {:.1} ms",
        reconcile_count(&metrics_after_quiet) - reconcile_count(&metrics_quiet),
        quiet(0.5),
        quiet(0.99)
    );
    print_server_latencies(&server_before_quiet, &apiserver_metrics(&client).await);

    // Edit: one spec change of the shared config must reach every Deployment. Each
    // Deployment's checksum differs (the runconfig names its server), so each is compared
    // with its own value from before the edit.
    let before: std::collections::HashMap<String, String> = deployment_cache
        .store
        .state()
        .iter()
        .filter_map(|d| Some((d.metadata.name.clone()?, checksum(d)?.to_string())))
        .collect();
    assert_eq!(before.len(), servers, "every Deployment has a checksum");
    let metrics_before = operator.metrics().await;
    let reconciles_before = reconcile_count(&metrics_before);
    let server_before_edit = apiserver_metrics(&client).await;
    let requests_edit = apiserver_requests(&server_before_edit);
    let start = Instant::now();
    configs
        .patch(
            "shared",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"openTelemetry": {"tracing": {"samplingRate": "0.5"}}}})),
        )
        .await
        .expect("edit");
    let rolled = deployment_cache
        .until(start, "all Deployments rolled", |ds| {
            ds.len() == servers
                && ds.iter().all(|d| {
                    let old = d.metadata.name.as_ref().and_then(|n| before.get(n));
                    checksum(d).is_some_and(|c| Some(c) != old.map(String::as_str))
                })
        })
        .await;
    println!(
        "config edit to all {servers} Deployments rolled: {:.2}s",
        rolled.as_secs_f64()
    );
    let server_after_edit = apiserver_metrics(&client).await;
    print_requests(
        "the edit cascade",
        &requests_edit,
        &apiserver_requests(&server_after_edit),
        rolled,
    );
    print_server_latencies(&server_before_edit, &server_after_edit);

    let metrics = operator.metrics().await;
    println!(
        "reconciles after the edit: {:.0}; total mcpserver reconciles: {:.0}",
        reconcile_count(&metrics) - reconciles_before,
        reconcile_count(&metrics)
    );
    println!("operator peak RSS: {:.1} MiB", operator.peak_rss_mib());
    let ms = |q: f64| millis(quantile(&metrics, q));
    println!(
        "mcpserver reconcile p50: {:.1} ms, p99: {:.1} ms (whole run, cold start included; histogram estimate)",
        ms(0.5),
        ms(0.99)
    );
    let edit = |q: f64| millis(quantile_between(&metrics_before, &metrics, q));
    println!(
        "mcpserver reconcile p50: {:.1} ms, p99: {:.1} ms (the edit cascade only)",
        edit(0.5),
        edit(0.99)
    );
    drop(operator);
}
