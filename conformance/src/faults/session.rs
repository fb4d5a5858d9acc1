//! One scenario's faults: the disruptions it starts, the counters since it started
//! (bound as `$faults`), and lifting whatever is still in force when it ends (also when
//! it fails, times out, or its future is dropped).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::plan::FaultCounts;
use super::{Capabilities, FaultProxy};
use crate::scenario::DisruptTarget;

/// `409, 500`: status codes for a report line.
fn codes(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// See the module docs.
#[derive(Debug)]
pub struct FaultSession {
    caps: Capabilities,
    baseline: FaultCounts,
    restarts: AtomicU64,
    used: AtomicBool,
}

impl FaultSession {
    /// A session over `caps`, counting from now.
    pub fn start(caps: &Capabilities) -> Self {
        Self {
            baseline: caps.proxy.as_ref().map(|p| p.counts()).unwrap_or_default(),
            caps: caps.clone(),
            restarts: AtomicU64::new(0),
            used: AtomicBool::new(false),
        }
    }

    fn proxy(&self) -> Result<&FaultProxy, String> {
        match &self.caps.proxy {
            Some(p) => {
                self.used.store(true, Ordering::SeqCst);
                Ok(p)
            }
            None => Err(self
                .caps
                .missing(DisruptTarget::OperatorApi)
                .unwrap_or_default()),
        }
    }

    /// Fails a `ratio` of the operator's writes (of `resources`; empty: all) with
    /// `statuses` for `duration`; returns a description for the report.
    pub fn fail_writes(
        &self,
        resources: &[String],
        statuses: &[u16],
        ratio: f64,
        duration: Duration,
    ) -> Result<String, String> {
        self.proxy()?
            .fail_writes(resources, statuses, ratio, duration);
        let of = if resources.is_empty() {
            String::new()
        } else {
            format!(" of {}", resources.join(", "))
        };
        Ok(format!(
            "failing {:.0}% of the operator's writes{of} with {} for {duration:?}",
            ratio * 100.0,
            codes(statuses)
        ))
    }

    /// Fails the operator's reads of named objects of `resources` with `statuses` for
    /// `duration`; returns a description for the report.
    pub fn fail_reads(
        &self,
        resources: &[String],
        statuses: &[u16],
        duration: Duration,
    ) -> Result<String, String> {
        self.proxy()?.fail_reads(resources, statuses, duration);
        Ok(format!(
            "failing the operator's reads of named {} with {} for {duration:?}",
            resources.join(", "),
            codes(statuses)
        ))
    }

    /// Cuts the operator off the API server for `duration`; returns a description.
    pub fn outage(&self, duration: Duration) -> Result<String, String> {
        self.proxy()?.outage(duration);
        Ok(format!(
            "operator cut off the API server for {duration:?} (open connections closed, new ones refused)"
        ))
    }

    /// Restarts the API server and waits until it is ready; returns a description.
    pub async fn restart_apiserver(&self) -> Result<String, String> {
        let Some(c) = &self.caps.apiserver else {
            return Err(self
                .caps
                .missing(DisruptTarget::ApiServer)
                .unwrap_or_default());
        };
        let t = std::time::Instant::now();
        c.restart_apiserver().await?;
        self.restarts.fetch_add(1, Ordering::SeqCst);
        Ok(format!(
            "API server restarted, ready again after {:.1}s",
            t.elapsed().as_secs_f64()
        ))
    }

    /// The proxy's counters since the session started.
    pub fn counts(&self) -> FaultCounts {
        self.caps
            .proxy
            .as_ref()
            .map(|p| p.counts().since(&self.baseline))
            .unwrap_or_default()
    }

    /// `$faults`: `{operatorApi: {requests, writes, failedWrites, failedByStatus,
    /// failedReads, outages, connectionsCut, connectionsRefused}, apiServer: {restarts}}`, counted
    /// since the scenario started.
    pub fn bindings(&self) -> Value {
        json!({
            "operatorApi": self.counts().to_json(),
            "apiServer": {"restarts": self.restarts.load(Ordering::SeqCst)},
        })
    }

    /// Whether the scenario disrupted anything.
    pub fn used(&self) -> bool {
        self.used.load(Ordering::SeqCst) || self.restarts.load(Ordering::SeqCst) > 0
    }

    /// Ends every fault still in force; returns what was injected, for the report.
    pub fn lift(&self) -> String {
        if let Some(p) = &self.caps.proxy
            && self.used.load(Ordering::SeqCst)
        {
            p.lift();
        }
        let mut parts = Vec::new();
        let s = self.counts().summary();
        if !s.is_empty() {
            parts.push(format!("operator API: {s}"));
        }
        let r = self.restarts.load(Ordering::SeqCst);
        if r > 0 {
            parts.push(format!(
                "API server restarted {r} time{}",
                if r == 1 { "" } else { "s" }
            ));
        }
        parts.join("; ")
    }
}

impl Drop for FaultSession {
    fn drop(&mut self) {
        if let Some(p) = &self.caps.proxy
            && self.used.load(Ordering::SeqCst)
        {
            p.lift();
        }
    }
}
