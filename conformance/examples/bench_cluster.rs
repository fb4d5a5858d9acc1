//! Measures the local control plane: cold start (cached binaries) to API-ready and to
//! the first Deployment Available, teardown time, and resident memory.
//!
//! Run with `ci/bench-cluster.sh [ROUNDS]`; prints one line per round and a summary.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kanon::cluster::LocalCluster;
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    // Make sure binaries are built before timing anything.
    drop(LocalCluster::start().await?);

    let (mut api, mut avail, mut down, mut rss) = (vec![], vec![], vec![], vec![]);
    for round in 1..=rounds {
        let t0 = Instant::now();
        let cluster = LocalCluster::start().await?;
        let api_ready = cluster.timings().api_ready;
        let client = cluster.client().await?;
        let deployments: Api<Deployment> = Api::namespaced(client, "default");
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "bench"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bench"}},
                "template": {"metadata": {"labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.invalid/c:1"}]}}}
        }))?;
        deployments.create(&PostParams::default(), &d).await?;
        tokio::time::timeout(
            Duration::from_secs(60),
            await_condition(deployments, "bench", |d: Option<&Deployment>| {
                d.and_then(|d| d.status.as_ref())
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c.type_ == "Available" && c.status == "True")
                    })
            }),
        )
        .await??;
        let available = t0.elapsed();
        let mem: u64 = cluster.pids().iter().map(|(_, p)| rss_kib(*p)).sum();
        let teardown = cluster.teardown();
        println!(
            "round {round}: api-ready {:.2}s  deployment-available {:.2}s  teardown {:.2}s  control-plane RSS {} MiB",
            api_ready.as_secs_f64(),
            available.as_secs_f64(),
            teardown.as_secs_f64(),
            mem / 1024
        );
        api.push(api_ready);
        avail.push(available);
        down.push(teardown);
        rss.push(mem);
    }
    println!(
        "median of {rounds}: api-ready {:.2}s (target 5s)  deployment-available {:.2}s (target 10s)  teardown {:.2}s (target 2s)  max RSS {} MiB (target 1024)",
        median(api).as_secs_f64(),
        median(avail).as_secs_f64(),
        median(down).as_secs_f64(),
        rss.iter().max().copied().unwrap_or(0) / 1024
    );
    Ok(())
}
