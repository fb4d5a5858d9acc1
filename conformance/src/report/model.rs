//! What a run produced, as data: the input of every report writer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Serializes a duration as fractional seconds.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Ok(Duration::from_secs_f64(secs.max(0.0)))
    }
}

/// How something ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It did what it should.
    Passed,
    /// It did not.
    Failed,
    /// It did not run (filtered out, fail-fast, earlier failure).
    Skipped,
    /// It failed at least once and then passed on a retry.
    Flaky,
}

impl Status {
    /// Passed or flaky.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Passed | Status::Flaky)
    }
}

/// Where in a scenario file something is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceLocation {
    /// File path as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Failure {
    /// One-line summary.
    pub message: String,
    /// Field-level errors (`spec.replicas: expected 2, got 1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Unified diff of expected vs actual, pruned to the asserted fields.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
}

/// One operation of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationReport {
    /// Operation name (`apply`, `assert`, ...).
    pub operation: String,
    /// Which block it ran in (`try`, `catch`, `finally`, `cleanup`).
    pub block: String,
    /// Where it is written.
    pub location: SourceLocation,
    /// The object it acted on, when one (`v1/ConfigMap ns/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// How it ended.
    pub status: Status,
    /// Start, RFC 3339.
    pub started: String,
    /// How long it took.
    #[serde(with = "seconds")]
    pub duration: Duration,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Text an operation collected (catch diagnostics, command output).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Step name.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// Its operations, in run order (try, catch, finally, cleanup).
    pub operations: Vec<OperationReport>,
}

/// One run of a scenario (the first, or a retry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Start, RFC 3339.
    pub started: String,
    /// How long it took.
    #[serde(with = "seconds")]
    pub duration: Duration,
    /// How it ended.
    pub status: Status,
    /// Its steps.
    pub steps: Vec<StepReport>,
    /// The first failure, for summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// One scenario, with every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// The scenario file.
    pub file: String,
    /// Contract clauses it checks.
    #[serde(default)]
    pub clauses: Vec<String>,
    /// Its labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The namespace it ran in.
    #[serde(default)]
    pub namespace: String,
    /// Final status: passed, failed, skipped, or flaky (passed after a retry).
    pub status: Status,
    /// Every attempt, first first.
    pub attempts: Vec<Attempt>,
    /// Folder with failure evidence, relative to the report dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Why it was skipped, when the run could not perform it (a `disrupt` it cannot do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// What went wrong without failing it (a namespace it made that did not go away,
    /// with what is left in it and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ScenarioReport {
    /// Wall time over all attempts.
    pub fn duration(&self) -> Duration {
        self.attempts.iter().map(|a| a.duration).sum()
    }

    /// The last attempt's first failure.
    pub fn failure(&self) -> Option<&Failure> {
        self.attempts.last().and_then(|a| a.failure.as_ref())
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// kanon version.
    pub kanon_version: String,
    /// Start, RFC 3339.
    pub started: String,
    /// Wall time.
    #[serde(with = "seconds")]
    pub duration: Duration,
    /// Every scenario, in file order.
    pub scenarios: Vec<ScenarioReport>,
    /// The catalogue's documented `$values` as this run had them (only those: other
    /// values may be secrets).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub values: std::collections::BTreeMap<String, serde_json::Value>,
    /// The signal that stopped the run early (`SIGINT`, `SIGTERM`): the report holds
    /// what ran until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// The shard of the suite this run was (`--shard-index` / `--shard-count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// Which part of a sharded suite a run covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Its index, from 0.
    pub index: usize,
    /// How many shards the suite was split into.
    pub count: usize,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Passed (including flaky).
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
    /// Of the passed, how many needed a retry.
    pub flaky: usize,
}

impl RunReport {
    /// Counts by status.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.scenarios {
            match s.status {
                Status::Passed => t.passed += 1,
                Status::Flaky => {
                    t.passed += 1;
                    t.flaky += 1
                }
                Status::Failed => t.failed += 1,
                Status::Skipped => t.skipped += 1,
            }
        }
        t
    }

    /// Whether every scenario passed (or was skipped) and the run was not interrupted.
    pub fn success(&self) -> bool {
        self.totals().failed == 0 && self.interrupted.is_none()
    }

    /// How many warnings its scenarios carry.
    pub fn warning_count(&self) -> usize {
        self.scenarios.iter().map(|s| s.warnings.len()).sum()
    }
}

/// The closing line of every run: `N passed, N failed, N skipped` (and flaky, if any).
pub fn summary_line(t: &Totals) -> String {
    let mut s = format!(
        "{} passed, {} failed, {} skipped",
        t.passed, t.failed, t.skipped
    );
    if t.flaky > 0 {
        s.push_str(&format!(" ({} flaky)", t.flaky));
    }
    s
}

/// Now, RFC 3339 in UTC.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
