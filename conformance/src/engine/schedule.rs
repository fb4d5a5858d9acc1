//! Scheduling scenarios: parallelism, `concurrent: false`, fail-fast, retries, repeats.
//!
//! Generic over how one scenario runs, so the policy is tested without a cluster:
//! - at most `parallel` scenarios run at once;
//! - a scenario with `concurrent: false` runs alone (it waits for the running ones to
//!   finish, and nothing starts beside it);
//! - with `fail_fast`, once a scenario has failed no new one starts (the rest are
//!   reported as skipped);
//! - a failed scenario is run again up to `retries` times; one that passes on a retry is
//!   `flaky`, and every attempt is kept;
//! - `repeat` runs each scenario that many times in sequence (each run reported as its
//!   own scenario, `name#2`, `name#3`, ...);
//! - once the run is interrupted, nothing new starts and what did not start is reported
//!   skipped, with the reason.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{RwLock, Semaphore};

use super::interrupt::Interrupt;
use crate::report::model::{ScenarioReport, Status};

/// How to schedule a run.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Most scenarios at once (at least 1).
    pub parallel: usize,
    /// Stop starting scenarios after the first failure.
    pub fail_fast: bool,
    /// Extra attempts for a failed scenario.
    pub retries: usize,
    /// Runs of each scenario (at least 1).
    pub repeat: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            parallel: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            fail_fast: false,
            retries: 0,
            repeat: 1,
        }
    }
}

/// One schedulable scenario.
#[derive(Debug, Clone)]
pub struct Job<S> {
    /// What the runner needs to run it.
    pub item: S,
    /// Its name, for reports of skipped runs.
    pub name: String,
    /// Its file, for reports of skipped runs.
    pub file: String,
    /// Its clauses, for reports of skipped runs.
    pub clauses: Vec<String>,
    /// `false` when it must run alone.
    pub concurrent: bool,
}

fn skipped<S>(job: &Job<S>, name: String) -> ScenarioReport {
    ScenarioReport {
        name,
        file: job.file.clone(),
        clauses: job.clauses.clone(),
        labels: Default::default(),
        namespace: String::new(),
        status: Status::Skipped,
        attempts: Vec::new(),
        evidence: None,
        skip_reason: None,
        warnings: Vec::new(),
    }
}

/// Merges the attempts of one scenario into one report: passed, failed, or flaky.
pub fn merge_attempts(mut reports: Vec<ScenarioReport>) -> Option<ScenarioReport> {
    let last = reports.pop()?;
    let mut merged = last.clone();
    let mut attempts: Vec<_> = reports.iter().flat_map(|r| r.attempts.clone()).collect();
    attempts.extend(last.attempts);
    let failed_before = reports.iter().any(|r| r.status == Status::Failed);
    merged.status = match last.status {
        Status::Passed if failed_before => Status::Flaky,
        s => s,
    };
    if merged.evidence.is_none() {
        merged.evidence = reports.iter().rev().find_map(|r| r.evidence.clone());
    }
    merged.attempts = attempts;
    Some(merged)
}

/// Runs every job under `policy` with `run(item, run_name)`; returns one report per
/// job run, in job order (repeats next to each other).
pub async fn run_all<S, F, Fut>(jobs: Vec<Job<S>>, policy: Policy, run: F) -> Vec<ScenarioReport>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ScenarioReport> + Send + 'static,
{
    run_all_until(jobs, policy, Interrupt::new(), run).await
}

/// [`run_all`] that `interrupt` can stop: from then on no scenario starts (nor is
/// retried), and those that did not start are reported skipped, saying why. Running
/// scenarios are left to end by themselves (the runner stops their `try` blocks).
pub async fn run_all_until<S, F, Fut>(
    jobs: Vec<Job<S>>,
    policy: Policy,
    interrupt: Interrupt,
    run: F,
) -> Vec<ScenarioReport>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ScenarioReport> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(policy.parallel.max(1)));
    let exclusive = Arc::new(RwLock::new(()));
    let failed = Arc::new(AtomicBool::new(false));
    let run = Arc::new(run);
    let mut handles = Vec::new();
    for job in jobs {
        for n in 1..=policy.repeat.max(1) {
            let name = if n == 1 {
                job.name.clone()
            } else {
                format!("{}#{n}", job.name)
            };
            let (slots, exclusive, failed, run, job, interrupt) = (
                slots.clone(),
                exclusive.clone(),
                failed.clone(),
                run.clone(),
                job.clone(),
                interrupt.clone(),
            );
            handles.push(tokio::spawn(async move {
                let not_started = |job: &Job<S>, name: String| {
                    let mut r = skipped(job, name);
                    r.skip_reason = interrupt
                        .reason()
                        .map(|why| format!("not started: the run was interrupted ({why})"));
                    r
                };
                let turn_and_slot = async {
                    // A lone scenario takes the write side: it waits for the running
                    // ones and keeps new ones out.
                    let turn = if job.concurrent {
                        Err(exclusive.read_owned().await)
                    } else {
                        Ok(exclusive.write_owned().await)
                    };
                    (turn, slots.acquire_owned().await)
                };
                let (_turn, slot) = tokio::select! {
                    got = turn_and_slot => got,
                    _ = interrupt.wait() => return not_started(&job, name),
                };
                let Ok(_slot) = slot else {
                    return skipped(&job, name);
                };
                if interrupt.reason().is_some() {
                    return not_started(&job, name);
                }
                if policy.fail_fast && failed.load(Ordering::SeqCst) {
                    return skipped(&job, name);
                }
                let mut reports = Vec::new();
                for _ in 0..=policy.retries {
                    let report = run(job.item.clone(), name.clone()).await;
                    let passed = report.status.is_success() || report.status == Status::Skipped;
                    reports.push(report);
                    if passed || interrupt.reason().is_some() {
                        break;
                    }
                }
                let merged = merge_attempts(reports).unwrap_or_else(|| skipped(&job, name));
                if merged.status == Status::Failed {
                    failed.store(true, Ordering::SeqCst);
                }
                merged
            }));
        }
    }
    let mut out = Vec::new();
    for h in handles {
        match h.await {
            Ok(r) => out.push(r),
            Err(e) => tracing::error!("a scenario task ended abnormally: {e}"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Attempt;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn report(name: &str, status: Status) -> ScenarioReport {
        ScenarioReport {
            name: name.into(),
            file: "f".into(),
            clauses: vec![],
            labels: Default::default(),
            namespace: "ns".into(),
            status,
            attempts: vec![Attempt {
                started: "t".into(),
                duration: Duration::from_millis(1),
                status,
                steps: vec![],
                failure: None,
            }],
            evidence: None,
            skip_reason: None,
            warnings: Vec::new(),
        }
    }

    fn job(name: &str, concurrent: bool) -> Job<String> {
        Job {
            item: name.to_string(),
            name: name.into(),
            file: format!("{name}.yaml"),
            clauses: vec![],
            concurrent,
        }
    }

    /// A run function that records the peak number of scenarios running at once and
    /// whether a lone scenario ever overlapped another.
    #[derive(Default)]
    struct Probe {
        running: AtomicUsize,
        peak: AtomicUsize,
        overlap_with_lone: AtomicBool,
        lone_running: AtomicBool,
    }

    #[tokio::test]
    async fn parallelism_is_bounded_and_lone_scenarios_run_alone() {
        let probe = Arc::new(Probe::default());
        let jobs: Vec<Job<String>> = (0..8).map(|i| job(&format!("s{i}"), i != 3)).collect();
        let p = probe.clone();
        let reports = run_all(
            jobs,
            Policy {
                parallel: 3,
                ..Policy::default()
            },
            move |item, name| {
                let p = p.clone();
                async move {
                    let now = p.running.fetch_add(1, Ordering::SeqCst) + 1;
                    p.peak.fetch_max(now, Ordering::SeqCst);
                    let lone = item == "s3";
                    if lone {
                        p.lone_running.store(true, Ordering::SeqCst);
                        if now > 1 {
                            p.overlap_with_lone.store(true, Ordering::SeqCst);
                        }
                    } else if p.lone_running.load(Ordering::SeqCst) {
                        p.overlap_with_lone.store(true, Ordering::SeqCst);
                    }
                    tokio::task::yield_now().await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if lone {
                        p.lone_running.store(false, Ordering::SeqCst);
                    }
                    p.running.fetch_sub(1, Ordering::SeqCst);
                    report(&name, Status::Passed)
                }
            },
        )
        .await;
        assert_eq!(reports.len(), 8);
        assert!(probe.peak.load(Ordering::SeqCst) <= 3);
        assert!(probe.peak.load(Ordering::SeqCst) >= 2, "ran in parallel");
        assert!(!probe.overlap_with_lone.load(Ordering::SeqCst));
        let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]);
    }

    #[tokio::test]
    async fn retries_keep_every_attempt_and_mark_flaky() {
        let calls: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let c = calls.clone();
        let reports = run_all(
            vec![job("wobbly", true), job("broken", true), job("fine", true)],
            Policy {
                parallel: 1,
                retries: 2,
                ..Policy::default()
            },
            move |item, name| {
                let c = c.clone();
                async move {
                    let n = {
                        let mut m = c.lock().unwrap();
                        let n = m.entry(item.clone()).or_insert(0);
                        *n += 1;
                        *n
                    };
                    let status = match item.as_str() {
                        "wobbly" if n < 2 => Status::Failed,
                        "broken" => Status::Failed,
                        _ => Status::Passed,
                    };
                    report(&name, status)
                }
            },
        )
        .await;
        let by: HashMap<&str, &ScenarioReport> =
            reports.iter().map(|r| (r.name.as_str(), r)).collect();
        assert_eq!(by["wobbly"].status, Status::Flaky);
        assert_eq!(by["wobbly"].attempts.len(), 2);
        assert_eq!(by["broken"].status, Status::Failed);
        assert_eq!(by["broken"].attempts.len(), 3, "1 + 2 retries");
        assert_eq!(by["fine"].attempts.len(), 1);
    }

    #[tokio::test]
    async fn fail_fast_skips_what_has_not_started_and_repeat_names_runs() {
        let reports = run_all(
            vec![job("first", true), job("second", true), job("third", true)],
            Policy {
                parallel: 1,
                fail_fast: true,
                ..Policy::default()
            },
            |item, name| async move {
                report(
                    &name,
                    if item == "first" {
                        Status::Failed
                    } else {
                        Status::Passed
                    },
                )
            },
        )
        .await;
        let statuses: Vec<Status> = reports.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [Status::Failed, Status::Skipped, Status::Skipped]);

        let reports = run_all(
            vec![job("r", true)],
            Policy {
                parallel: 2,
                repeat: 3,
                ..Policy::default()
            },
            |_, name| async move { report(&name, Status::Passed) },
        )
        .await;
        let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r", "r#2", "r#3"]);
    }

    #[tokio::test]
    async fn an_interrupt_lets_the_running_scenario_end_and_starts_nothing_more() {
        let interrupt = Interrupt::new();
        let i = interrupt.clone();
        let reports = run_all_until(
            vec![
                job("running", true),
                job("queued", true),
                job("later", false),
            ],
            Policy {
                parallel: 1,
                retries: 2,
                ..Policy::default()
            },
            interrupt,
            move |item, name| {
                let i = i.clone();
                async move {
                    assert_eq!(item, "running", "nothing starts after the interrupt");
                    i.trigger("SIGINT");
                    report(&name, Status::Failed)
                }
            },
        )
        .await;
        let got: Vec<(&str, Status, usize)> = reports
            .iter()
            .map(|r| (r.name.as_str(), r.status, r.attempts.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("running", Status::Failed, 1),
                ("queued", Status::Skipped, 0),
                ("later", Status::Skipped, 0)
            ],
            "no retry after the interrupt"
        );
        assert_eq!(
            reports[1].skip_reason.as_deref(),
            Some("not started: the run was interrupted (SIGINT)")
        );
    }
}
