//! The suite file (`kanon.yaml`): the setup of every `kanon test` run where it is found
//! (its CRDs, operator, catalogue, reports), and the scenarios run when no paths are given.
//!
//! ```yaml
//! apiVersion: kanon.dev/v1alpha1
//! kind: Suite
//! metadata:
//!   name: mcp-contract
//! spec:
//!   scenarios: [scenarios]              # files or folders
//!   catalogue: scenarios/clauses.yaml   # clause catalogue for the conformance report
//!   crds: [fixtures/crds]               # applied before anything runs
//!   operator:                           # started with KUBECONFIG pointing at the cluster
//!     command: [cargo, run, --quiet, -p, mcp-operator, --, run]
//!     env: {RUST_LOG: info}
//!   reportDir: target/kanon-report
//!   values: [values.yaml]               # $values
//!   parallel: 2
//!   timeouts: {assert: 30s}
//! ```
//!
//! Relative paths are relative to the suite file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::scenario::{ParseError, Timeouts, parse_duration};

/// The suite file name `kanon test` looks for in the current directory.
pub const SUITE_FILE: &str = "kanon.yaml";

/// A suite file (`kanon.yaml`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSuite {
    /// Always `kanon.dev/v1alpha1`.
    #[schemars(extend("const" = "kanon.dev/v1alpha1"))]
    api_version: String,
    /// Always `Suite`.
    #[schemars(extend("const" = "Suite"))]
    kind: String,
    /// The suite's name, shown in reports.
    #[serde(default)]
    metadata: RawMetadata,
    /// What `kanon test` runs: scenarios, CRDs, the operator, reports.
    spec: RawSpec,
}

/// The suite's metadata.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    /// The suite's name, shown in reports. Default: empty.
    #[serde(default)]
    name: String,
}

/// What a suite runs. Every relative path is relative to the suite file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    /// Scenario files or folders, relative to this file; folders are searched
    /// recursively for `scenario.yaml` and `chainsaw-test.yaml`. Default: none.
    #[serde(default)]
    #[schemars(extend("examples" = [["scenarios"]]))]
    scenarios: Vec<String>,
    /// The clause catalogue (a YAML list of clause IDs and titles) for the conformance
    /// report and for `kanon lint`'s clause check. Default: none (no conformance report).
    #[serde(default)]
    #[schemars(extend("examples" = ["scenarios/clauses.yaml"]))]
    catalogue: Option<String>,
    /// CRD files or folders applied (and waited for) before any scenario runs, like
    /// `--crds`. Default: none.
    #[serde(default)]
    crds: Vec<String>,
    /// The operator under test, started out-of-cluster with `KUBECONFIG` pointing at the
    /// test cluster and stopped at the end, like `--operator-cmd`. Default: none (the
    /// operator already runs in the cluster, or there is none).
    #[serde(default)]
    operator: Option<RawOperator>,
    /// Folder for `junit.xml`, `report.json`, `conformance.md` / `.json` and failure
    /// evidence, like `--report-dir`. Default: no report files.
    #[serde(default)]
    #[schemars(extend("examples" = ["target/kanon-report"]))]
    report_dir: Option<String>,
    /// YAML files merged into `$values`, in order, like `--values`; `--set` overrides
    /// them. Default: none.
    #[serde(default)]
    values: Vec<String>,
    /// How many scenarios run at once, like `--parallel`. Default: the number of cores.
    #[serde(default)]
    #[schemars(range(min = 1))]
    parallel: Option<usize>,
    /// Run-wide default timeouts by operation class (Go durations such as `45s`);
    /// scenarios, steps and operations override them. Default: Chainsaw's (apply 5s,
    /// assert 30s, error 30s, delete 15s, cleanup 30s, exec 5s).
    #[serde(default)]
    #[schemars(with = "crate::scenario::RawTimeouts")]
    timeouts: BTreeMap<String, String>,
}

/// The operator to start out-of-cluster for the run.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    /// Program and arguments (no shell); a program path with a slash is relative to
    /// this file, a bare name is looked up on PATH.
    #[schemars(length(min = 1), extend("examples" = [["target/debug/mcp-operator", "run"]]))]
    command: Vec<String>,
    /// Extra environment variables for the operator (besides `KUBECONFIG`), e.g.
    /// `RUST_LOG: info`. Default: none.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// How kanon tells that the operator is ready before the first scenario runs, like
    /// `--operator-ready`. Default: none (scenarios start at once; their timeouts absorb
    /// a slow start).
    #[serde(default)]
    ready: Option<RawReady>,
}

/// `operator.ready`: exactly one of `log` and `http`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawReady {
    /// A regular expression; ready once a line of the operator's output matches it.
    #[serde(default)]
    #[schemars(extend("examples" = ["starting controllers"]))]
    log: Option<String>,
    /// A plain-HTTP URL; ready once a GET answers 2xx (e.g. a health endpoint on a
    /// fixed loopback port).
    #[serde(default)]
    #[schemars(extend("examples" = ["http://127.0.0.1:8081/healthz"]))]
    http: Option<String>,
    /// How long to wait (a duration such as `60s`); the run fails with the operator's
    /// last output after that. Default: `60s`.
    #[serde(default)]
    #[schemars(with = "Option<crate::scenario::DurationText>")]
    timeout: Option<String>,
}

/// How long kanon waits for the operator to be ready unless told otherwise.
pub const DEFAULT_READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The operator a suite starts.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorCommand {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// The readiness probe and how long it may take.
    pub ready: Option<(super::operator::Readiness, std::time::Duration)>,
}

/// A loaded suite, paths resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// The suite's name.
    pub name: String,
    /// Scenario files and folders.
    pub scenarios: Vec<PathBuf>,
    /// The clause catalogue.
    pub catalogue: Option<PathBuf>,
    /// CRD files and folders.
    pub crds: Vec<PathBuf>,
    /// The operator to start.
    pub operator: Option<OperatorCommand>,
    /// Where reports go.
    pub report_dir: Option<PathBuf>,
    /// `$values` files.
    pub values: Vec<PathBuf>,
    /// Scenarios at once.
    pub parallel: Option<usize>,
    /// Run-level timeouts.
    pub timeouts: Timeouts,
}

fn set_timeout(t: &mut Timeouts, class: &str, d: Duration) -> Result<(), String> {
    let slot = match class {
        "apply" => &mut t.apply,
        "assert" => &mut t.assert,
        "error" => &mut t.error,
        "delete" => &mut t.delete,
        "cleanup" => &mut t.cleanup,
        "exec" => &mut t.exec,
        other => {
            return Err(format!(
                "unknown timeout class {other:?} (apply, assert, error, delete, cleanup, exec)"
            ));
        }
    };
    *slot = Some(d);
    Ok(())
}

/// The JSON Schema of the suite file, pretty-printed with a trailing newline.
pub fn suite_schema() -> String {
    let mut schema = schemars::schema_for!(RawSuite);
    schema.insert(
        "title".into(),
        serde_json::Value::String("kanon Suite".into()),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn parse_ready(r: RawReady) -> Result<(super::operator::Readiness, std::time::Duration), String> {
    use super::operator::Readiness;
    let probe = match (r.log, r.http) {
        (Some(log), None) => Readiness::log_line(&log)?,
        (None, Some(url)) => Readiness::http(&url)?,
        _ => return Err("give exactly one of log and http".into()),
    };
    let timeout = match r.timeout {
        Some(t) => parse_duration(&t).map_err(|e| format!("timeout: {e}"))?,
        None => DEFAULT_READY_TIMEOUT,
    };
    Ok((probe, timeout))
}

impl Suite {
    /// Reads and checks a suite file.
    pub fn load(path: &Path) -> Result<Self, ParseError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ParseError::file(path, format!("cannot read the suite file: {e}")))?;
        let raw: RawSuite =
            serde_saphyr::from_str(&text).map_err(|e| ParseError::from_saphyr(path, &e))?;
        if raw.api_version != crate::scenario::KANON_API_VERSION || raw.kind != "Suite" {
            return Err(ParseError::file(
                path,
                format!(
                    "expected apiVersion {} and kind Suite, found {} {}",
                    crate::scenario::KANON_API_VERSION,
                    raw.api_version,
                    raw.kind
                ),
            ));
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &String| base.join(p);
        let mut timeouts = Timeouts::default();
        for (class, text) in &raw.spec.timeouts {
            let d = parse_duration(text)
                .map_err(|e| ParseError::file(path, format!("timeouts.{class}: {e}")))?;
            set_timeout(&mut timeouts, class, d)
                .map_err(|e| ParseError::file(path, format!("timeouts: {e}")))?;
        }
        let operator = match raw.spec.operator {
            Some(o) if o.command.is_empty() => {
                return Err(ParseError::file(path, "operator.command is empty"));
            }
            Some(mut o) => {
                // A relative program path (one with a slash) is relative to the suite.
                if let Some(program) = o.command.first_mut()
                    && program.contains('/')
                    && Path::new(program.as_str()).is_relative()
                {
                    *program = base.join(&*program).display().to_string();
                }
                let ready = match o.ready {
                    None => None,
                    Some(r) => Some(
                        parse_ready(r)
                            .map_err(|e| ParseError::file(path, format!("operator.ready: {e}")))?,
                    ),
                };
                Some(OperatorCommand {
                    command: o.command,
                    env: o.env.into_iter().collect(),
                    ready,
                })
            }
            None => None,
        };
        Ok(Self {
            name: raw.metadata.name,
            scenarios: raw.spec.scenarios.iter().map(resolve).collect(),
            catalogue: raw.spec.catalogue.as_ref().map(resolve),
            crds: raw.spec.crds.iter().map(resolve).collect(),
            operator,
            report_dir: raw.spec.report_dir.as_ref().map(resolve),
            values: raw.spec.values.iter().map(resolve).collect(),
            parallel: raw.spec.parallel,
            timeouts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kanon.yaml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn a_suite_loads_with_paths_relative_to_it() {
        let (dir, p) = write(
            "apiVersion: kanon.dev/v1alpha1
kind: Suite
metadata: {name: s}
spec:
  scenarios: [scenarios]
  crds: [fixtures/crds]
  catalogue: scenarios/clauses.yaml
  operator:
    command: [op, run]
    env: {A: b}
  reportDir: out
  parallel: 3
  timeouts: {assert: 45s}
",
        );
        let s = Suite::load(&p).unwrap();
        assert_eq!(s.scenarios, [dir.path().join("scenarios")]);
        assert_eq!(s.report_dir, Some(dir.path().join("out")));
        assert_eq!(
            s.operator.unwrap().env,
            [("A".to_string(), "b".to_string())]
        );
        assert_eq!(s.timeouts.assert, Some(Duration::from_secs(45)));
        assert_eq!(s.parallel, Some(3));
    }

    #[test]
    fn mistakes_are_positioned() {
        let (_d, p) =
            write("apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  scenario: [x]\n");
        let e = Suite::load(&p).unwrap_err().to_string();
        assert!(e.contains("kanon.yaml:4:"), "{e}");
        assert!(e.contains("scenario"), "{e}");
        let (_d, p) = write(
            "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  timeouts: {assert: soon}\n",
        );
        assert!(
            Suite::load(&p)
                .unwrap_err()
                .to_string()
                .contains("timeouts.assert")
        );
        let (_d, p) = write("apiVersion: v1\nkind: ConfigMap\nspec: {}\n");
        assert!(
            Suite::load(&p)
                .unwrap_err()
                .to_string()
                .contains("kind Suite")
        );
    }

    #[rstest::rstest]
    #[case(
        "{log: 'starting controllers', timeout: 20s}",
        Ok(Duration::from_secs(20))
    )]
    #[case("{http: 'http://127.0.0.1:8081/healthz'}", Ok(DEFAULT_READY_TIMEOUT))]
    #[case("{}", Err("exactly one of log and http"))]
    #[case("{log: a, http: 'http://x/'}", Err("exactly one of log and http"))]
    #[case("{log: '(unclosed'}", Err("log pattern"))]
    #[case("{log: a, timeout: soon}", Err("timeout"))]
    fn operator_readiness(#[case] ready: &str, #[case] expected: Result<Duration, &str>) {
        let (_d, p) = write(&format!(
            "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nmetadata: {{name: s}}\nspec:\n  operator:\n    command: [op]\n    ready: {ready}\n"
        ));
        match (Suite::load(&p), expected) {
            (Ok(s), Ok(timeout)) => assert_eq!(s.operator.unwrap().ready.unwrap().1, timeout),
            (Err(e), Err(needle)) => {
                let e = e.to_string();
                assert!(e.contains("operator.ready") && e.contains(needle), "{e}");
            }
            (got, want) => panic!("{ready}: got {got:?}, want {want:?}"),
        }
    }
}
