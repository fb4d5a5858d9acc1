//! Measures the engine's waiting against a local cluster:
//! - assertion latency: from the write that makes an assertion true to the assertion
//!   passing (watch-driven; Chainsaw's floor is its poll interval);
//! - per-operation cost of a trivial apply followed by an assert that already holds.
//!
//! Run with `ci/bench-engine.sh [ITERATIONS]`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kanon::cluster::LocalCluster;
use kanon::ops::apply::{WriteOptions, apply};
use kanon::ops::{OpEnv, assert as assertion};
use serde_json::{Value, json};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(label: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{label}: n={} p50 {:.2} ms  p90 {:.2} ms  max {:.2} ms",
        v.len(),
        percentile(&v, 0.5).as_secs_f64() * 1000.0,
        percentile(&v, 0.9).as_secs_f64() * 1000.0,
        v.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}

fn matches(want: &str) -> impl FnMut(&Value) -> Result<(), String> + '_ {
    move |o: &Value| {
        if o["data"]["state"] == want {
            Ok(())
        } else {
            Err(format!("state {}", o["data"]["state"]))
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let cluster = LocalCluster::start().await?;
    let client = cluster.client().await?;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}});
    let env = OpEnv::connect(client.clone(), "bench", cluster.kubeconfig_path());
    apply(&env, ns, WriteOptions::default()).await?;
    let cm = |state: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target"},
            "data": {"state": state}})
    };
    apply(&env, cm("init"), WriteOptions::default()).await?;

    // Assertion latency: the assertion is already waiting when the write happens.
    let mut latency = Vec::with_capacity(n);
    for i in 0..n {
        let want = format!("v{i}");
        let tree = cm(&want);
        let writer_env = env.clone();
        let written = Arc::new(Mutex::new(None));
        let w = written.clone();
        let writer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            let t = Instant::now();
            apply(&writer_env, cm(&format!("v{i}")), WriteOptions::default())
                .await
                .ok();
            *w.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
        });
        let passed =
            assertion::assert(&env, &tree, Duration::from_secs(10), matches(&want)).await?;
        let seen = Instant::now();
        writer.await?;
        if passed.is_err() {
            anyhow::bail!("assertion {i} did not pass");
        }
        if let Some(t) = *written.lock().unwrap_or_else(|p| p.into_inner()) {
            latency.push(seen.saturating_duration_since(t));
        }
    }
    report(
        "write-to-assert-pass latency (includes the write's own round trip)",
        latency,
    );

    // Per-operation cost of a trivial apply + assert that holds at once.
    let (mut applies, mut asserts) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let want = format!("w{i}");
        let t = Instant::now();
        apply(&env, cm(&want), WriteOptions::default()).await?;
        applies.push(t.elapsed());
        let t = Instant::now();
        let tree = cm(&want);
        let r = assertion::assert(&env, &tree, Duration::from_secs(10), matches(&want)).await?;
        asserts.push(t.elapsed());
        if r.is_err() {
            anyhow::bail!("assert {i} failed");
        }
    }
    report("apply (server-side apply round trip)", applies);
    report("assert that already holds", asserts);
    Ok(())
}
