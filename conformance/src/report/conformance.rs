//! The clause report: each contract clause → pass / fail / not covered, with the
//! scenarios behind it (`conformance.md`, `conformance.json`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{RunReport, Status};

/// One clause of a contract catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// Stable ID, e.g. `CEL-1`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Section of the contract, e.g. `2. Admission`.
    #[serde(default)]
    pub section: String,
    /// A remark shown with the clause (e.g. which documented `$values` it reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A `$values` entry an implementation may set (`--values` / `--set`) to rename what the
/// contract leaves open; scenarios read it as `$values.<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueDoc {
    /// Dotted path under `$values`, e.g. `serverImage`.
    pub name: String,
    /// Used when no values file or `--set` gives one.
    pub default: Value,
    /// What it names and what may be put there.
    pub description: String,
}

/// A clause catalogue file: `clauses: [{id, title, section}]` and the `values:` an
/// implementation may rename.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The contract's name, for headings.
    #[serde(default)]
    pub contract: String,
    /// The clauses, in contract order.
    pub clauses: Vec<Clause>,
    /// The `$values` the scenarios read, with their defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueDoc>,
}

/// Errors reading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The YAML is not a catalogue.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Parser message with line and column.
        message: String,
    },
    /// A value is documented twice or its name is not a dotted path.
    #[error("{path}: value `{name}`: {problem}")]
    Value {
        /// The file.
        path: String,
        /// The value's name.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// An ID appears twice.
    #[error("{path}: clause {id} is listed twice")]
    Duplicate {
        /// The file.
        path: String,
        /// The ID.
        id: String,
    },
}

impl Catalogue {
    /// Reads and checks a catalogue file.
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Io {
            path: p.clone(),
            source,
        })?;
        let cat: Catalogue = serde_saphyr::from_str(&text).map_err(|e| CatalogueError::Parse {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let mut seen = BTreeSet::new();
        for c in &cat.clauses {
            if !seen.insert(c.id.clone()) {
                return Err(CatalogueError::Duplicate {
                    path: p,
                    id: c.id.clone(),
                });
            }
        }
        let mut names = BTreeSet::new();
        for v in &cat.values {
            let problem = if !is_dotted_path(&v.name) {
                Some("not a dotted path of identifiers")
            } else if !names.insert(v.name.as_str()) {
                Some("documented twice")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(CatalogueError::Value {
                    path: p,
                    name: v.name.clone(),
                    problem,
                });
            }
        }
        Ok(cat)
    }

    /// Whether `id` is in the catalogue.
    pub fn contains(&self, id: &str) -> bool {
        self.clauses.iter().any(|c| c.id == id)
    }

    /// The documented values' defaults as one `$values` object (the lowest layer, under
    /// values files and `--set`).
    pub fn default_values(&self) -> Value {
        let mut out = Value::Object(Default::default());
        for v in &self.values {
            set_path(&mut out, &v.name, v.default.clone());
        }
        out
    }

    /// The documented values as `values` has them (after files and `--set`), by name;
    /// undocumented entries (which may be secrets) are left out.
    pub fn values_used(&self, values: &Value) -> BTreeMap<String, Value> {
        self.values
            .iter()
            .map(|v| {
                let used = v
                    .name
                    .split('.')
                    .try_fold(values, |cur, key| cur.get(key))
                    .cloned()
                    .unwrap_or(Value::Null);
                (v.name.clone(), used)
            })
            .collect()
    }
}

fn is_dotted_path(name: &str) -> bool {
    name.split('.').all(|part| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Sets `value` at the dotted `path` inside `root`, creating objects on the way.
fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut cur = root;
    let mut parts = path.split('.').peekable();
    while let Some(key) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let Value::Object(map) = cur else { return };
        if parts.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        cur = map.entry(key.to_string()).or_insert(Value::Null);
    }
}

/// A clause's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every scenario naming it passed.
    Pass,
    /// A scenario naming it failed.
    Fail,
    /// No scenario that ran names it.
    NotCovered,
}

/// One row of the clause report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClauseResult {
    /// The clause.
    #[serde(flatten)]
    pub clause: Clause,
    /// Its verdict.
    pub verdict: Verdict,
    /// Scenarios that name it, with their status.
    pub scenarios: Vec<ScenarioRef>,
}

/// A scenario behind a clause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRef {
    /// Scenario name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Its status.
    pub status: Status,
    /// Its first failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Its evidence folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Why it was skipped, when the run could not perform it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Its warnings (a namespace it made that did not go away).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The whole clause report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformanceReport {
    /// The contract's name.
    pub contract: String,
    /// Counts of verdicts.
    pub passed: usize,
    /// Clauses failing.
    pub failed: usize,
    /// Clauses no scenario covered.
    pub not_covered: usize,
    /// Every clause, in catalogue order.
    pub clauses: Vec<ClauseResult>,
    /// Clause IDs scenarios named that the catalogue lacks.
    pub unknown_clauses: Vec<String>,
    /// Each documented `$values` entry with its default and what this run used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueUse>,
    /// The signal that stopped the run early: the verdicts cover what ran until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// Every scenario's warnings, whether or not it names a clause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ScenarioWarning>,
}

impl ConformanceReport {
    /// The catalogue this report was built against, as far as it holds it (the values'
    /// descriptions are not kept): what merging shards' reports uses when no catalogue
    /// file is at hand.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue {
            contract: self.contract.clone(),
            clauses: self.clauses.iter().map(|c| c.clause.clone()).collect(),
            values: self
                .values
                .iter()
                .map(|v| ValueDoc {
                    name: v.name.clone(),
                    default: v.default.clone(),
                    description: String::new(),
                })
                .collect(),
        }
    }
}

/// A warning of one scenario of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioWarning {
    /// The scenario.
    pub scenario: String,
    /// Its file.
    pub file: String,
    /// What went wrong.
    pub warning: String,
}

/// A documented `$values` entry in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueUse {
    /// Its name.
    pub name: String,
    /// The catalogue's default.
    pub default: Value,
    /// What the run used.
    pub used: Value,
}

/// Builds the clause report of `run` against `catalogue`.
pub fn build(catalogue: &Catalogue, run: &RunReport) -> ConformanceReport {
    let mut clauses = Vec::new();
    for clause in &catalogue.clauses {
        let scenarios: Vec<ScenarioRef> = run
            .scenarios
            .iter()
            .filter(|s| s.clauses.iter().any(|c| c == &clause.id))
            .map(|s| ScenarioRef {
                name: s.name.clone(),
                file: s.file.clone(),
                status: s.status,
                failure: s.failure().map(|f| f.message.clone()),
                evidence: s.evidence.clone(),
                skip_reason: s.skip_reason.clone(),
                warnings: s.warnings.clone(),
            })
            .collect();
        let ran: Vec<&ScenarioRef> = scenarios
            .iter()
            .filter(|s| s.status != Status::Skipped)
            .collect();
        let verdict = if ran.is_empty() {
            Verdict::NotCovered
        } else if ran.iter().any(|s| s.status == Status::Failed) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        clauses.push(ClauseResult {
            clause: clause.clone(),
            verdict,
            scenarios,
        });
    }
    let unknown: BTreeSet<String> = run
        .scenarios
        .iter()
        .flat_map(|s| s.clauses.iter())
        .filter(|c| !catalogue.contains(c))
        .cloned()
        .collect();
    let count = |v: Verdict| clauses.iter().filter(|c| c.verdict == v).count();
    ConformanceReport {
        contract: catalogue.contract.clone(),
        passed: count(Verdict::Pass),
        failed: count(Verdict::Fail),
        not_covered: count(Verdict::NotCovered),
        clauses,
        unknown_clauses: unknown.into_iter().collect(),
        values: catalogue
            .values
            .iter()
            .map(|v| ValueUse {
                name: v.name.clone(),
                default: v.default.clone(),
                used: run.values.get(&v.name).cloned().unwrap_or(Value::Null),
            })
            .collect(),
        interrupted: run.interrupted.clone(),
        warnings: run
            .scenarios
            .iter()
            .flat_map(|s| {
                s.warnings.iter().map(|w| ScenarioWarning {
                    scenario: s.name.clone(),
                    file: s.file.clone(),
                    warning: w.clone(),
                })
            })
            .collect(),
    }
}

fn inline_json(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the clause report as Markdown.
pub fn render_markdown(r: &ConformanceReport) -> String {
    let mut out = String::new();
    let title = if r.contract.is_empty() {
        "Conformance".to_string()
    } else {
        format!("Conformance: {}", r.contract)
    };
    out.push_str(&format!("# {title}\n\n"));
    out.push_str(&format!(
        "{} clauses: {} pass, {} fail, {} not covered.\n\n",
        r.clauses.len(),
        r.passed,
        r.failed,
        r.not_covered
    ));
    if let Some(why) = &r.interrupted {
        out.push_str(&format!(
            "**The run was interrupted ({why})**: these verdicts cover what ran until then.\n\n"
        ));
    }
    out.push_str("| Clause | Title | Result | Scenarios |\n|---|---|---|---|\n");
    for c in &r.clauses {
        let verdict = match c.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "**FAIL**",
            Verdict::NotCovered => "not covered",
        };
        let scenarios = c
            .scenarios
            .iter()
            .map(|s| {
                let mark = match s.status {
                    Status::Passed => "",
                    Status::Flaky => " (flaky)",
                    Status::Failed => " (failed)",
                    Status::Skipped => " (skipped)",
                };
                match (&s.status, &s.skip_reason) {
                    (Status::Skipped, Some(r)) => {
                        format!("`{}` (skipped: {})", md_escape(&s.name), md_escape(r))
                    }
                    _ => format!("`{}`{mark}", md_escape(&s.name)),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| {} | {} | {verdict} | {scenarios} |\n",
            c.clause.id,
            md_escape(&c.clause.title)
        ));
    }
    let failing: Vec<&ClauseResult> = r
        .clauses
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .collect();
    if !failing.is_empty() {
        out.push_str("\n## Failures\n");
        for c in failing {
            for s in c.scenarios.iter().filter(|s| s.status == Status::Failed) {
                out.push_str(&format!(
                    "\n- **{}** `{}` ({}): {}{}\n",
                    c.clause.id,
                    s.name,
                    s.file,
                    md_escape(s.failure.as_deref().unwrap_or("failed")),
                    s.evidence
                        .as_deref()
                        .map(|e| format!(" — evidence in `{e}`"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    if !r.warnings.is_empty() {
        out.push_str("\n## Warnings\n");
        for w in &r.warnings {
            out.push_str(&format!(
                "\n- `{}` ({}): {}\n",
                w.scenario,
                w.file,
                md_escape(&w.warning)
            ));
        }
    }
    if !r.values.is_empty() {
        out.push_str("\n## Values\n\n| Value | Default | This run |\n|---|---|---|\n");
        for v in &r.values {
            let used = if v.used == v.default {
                "default".to_string()
            } else {
                format!("**`{}`**", md_escape(&inline_json(&v.used)))
            };
            out.push_str(&format!(
                "| `{}` | `{}` | {used} |\n",
                v.name,
                md_escape(&inline_json(&v.default))
            ));
        }
    }
    if !r.unknown_clauses.is_empty() {
        out.push_str(&format!(
            "\nScenarios name clauses the catalogue does not have: {}\n",
            r.unknown_clauses.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Attempt, Failure, ScenarioReport};
    use serde_json::json;
    use std::time::Duration;

    fn scenario(name: &str, clauses: &[&str], status: Status) -> ScenarioReport {
        ScenarioReport {
            name: name.into(),
            file: format!("scenarios/{name}/scenario.yaml"),
            clauses: clauses.iter().map(|c| c.to_string()).collect(),
            labels: Default::default(),
            namespace: "ns".into(),
            status,
            attempts: vec![Attempt {
                started: "2026-01-01T00:00:00Z".into(),
                duration: Duration::from_secs(1),
                status,
                steps: vec![],
                failure: (status == Status::Failed).then(|| Failure {
                    message: "assert failed".into(),
                    ..Default::default()
                }),
            }],
            evidence: None,
            skip_reason: None,
            warnings: Vec::new(),
        }
    }

    fn catalogue() -> Catalogue {
        Catalogue {
            contract: "MCP".into(),
            clauses: ["CEL-1", "CEL-2", "CFG-1", "TEL-1"]
                .iter()
                .map(|id| Clause {
                    id: id.to_string(),
                    title: format!("title of {id}"),
                    section: String::new(),
                    note: None,
                })
                .collect(),
            values: vec![],
        }
    }

    #[test]
    fn verdicts_follow_the_scenarios() {
        let run = RunReport {
            kanon_version: "0".into(),
            started: "t".into(),
            duration: Duration::ZERO,
            scenarios: vec![
                scenario("a", &["CEL-1", "CFG-1"], Status::Passed),
                scenario("b", &["CFG-1"], Status::Failed),
                scenario("c", &["CEL-2"], Status::Skipped),
                scenario("d", &["TEL-1", "XYZ-9"], Status::Flaky),
            ],
            values: Default::default(),
            interrupted: None,
            shard: None,
        };
        let r = build(&catalogue(), &run);
        let v: Vec<(&str, Verdict)> = r
            .clauses
            .iter()
            .map(|c| (c.clause.id.as_str(), c.verdict))
            .collect();
        assert_eq!(
            v,
            [
                ("CEL-1", Verdict::Pass),
                ("CEL-2", Verdict::NotCovered),
                ("CFG-1", Verdict::Fail),
                ("TEL-1", Verdict::Pass)
            ]
        );
        assert_eq!((r.passed, r.failed, r.not_covered), (2, 1, 1));
        assert_eq!(r.unknown_clauses, ["XYZ-9"]);
        let md = render_markdown(&r);
        assert!(
            md.contains("| CFG-1 | title of CFG-1 | **FAIL** | `a`, `b` (failed) |"),
            "{md}"
        );
        assert!(
            md.contains("| TEL-1 | title of TEL-1 | pass | `d` (flaky) |"),
            "{md}"
        );
        assert!(md.contains("XYZ-9"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["clauses"][2]["verdict"], "fail");
        assert_eq!(json["clauses"][1]["verdict"], "not-covered");
    }

    #[test]
    fn catalogue_loads_and_rejects_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.yaml");
        std::fs::write(
            &ok,
            "contract: MCP\nclauses:\n- id: CEL-1\n  title: t\n  section: '2'\n",
        )
        .unwrap();
        assert_eq!(Catalogue::load(&ok).unwrap().clauses.len(), 1);
        let dup = dir.path().join("dup.yaml");
        std::fs::write(&dup, "clauses:\n- {id: A, title: t}\n- {id: A, title: u}\n").unwrap();
        assert!(matches!(
            Catalogue::load(&dup),
            Err(CatalogueError::Duplicate { .. })
        ));
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "clauses:\n- id: A\n  titel: t\n").unwrap();
        let err = Catalogue::load(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.yaml") && err.contains("titel"), "{err}");
    }

    fn with_values() -> Catalogue {
        Catalogue {
            contract: "c".into(),
            clauses: vec![],
            values: vec![
                ValueDoc {
                    name: "serverImage".into(),
                    default: json!("img:1"),
                    description: "d".into(),
                },
                ValueDoc {
                    name: "names.container".into(),
                    default: json!("toolhive"),
                    description: "d".into(),
                },
            ],
        }
    }

    #[test]
    fn documented_values_give_nested_defaults() {
        assert_eq!(
            with_values().default_values(),
            json!({"serverImage": "img:1", "names": {"container": "toolhive"}})
        );
    }

    #[test]
    fn only_documented_values_reach_the_report() {
        let used = with_values().values_used(&json!({
            "serverImage": "mine:2",
            "token": "s3cret",
            "names": {"container": "toolhive"}
        }));
        assert_eq!(used.len(), 2);
        assert_eq!(used["serverImage"], json!("mine:2"));
        assert!(!serde_json::to_string(&used).unwrap().contains("s3cret"));
        let run = RunReport {
            kanon_version: "0".into(),
            started: "t".into(),
            duration: Duration::ZERO,
            scenarios: vec![],
            values: used,
            interrupted: None,
            shard: None,
        };
        let md = render_markdown(&build(&with_values(), &run));
        assert!(
            md.contains("| `serverImage` | `img:1` | **`mine:2`** |"),
            "{md}"
        );
        assert!(
            md.contains("| `names.container` | `toolhive` | default |"),
            "{md}"
        );
    }

    #[rstest::rstest]
    #[case(
        "values:\n- {name: a, default: 1, description: d}\n- {name: a, default: 2, description: d}\n",
        "documented twice"
    )]
    #[case(
        "values:\n- {name: 'a..b', default: 1, description: d}\n",
        "dotted path"
    )]
    #[case("values:\n- {name: '1a', default: 1, description: d}\n", "dotted path")]
    fn bad_value_docs_are_rejected(#[case] tail: &str, #[case] problem: &str) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.yaml");
        std::fs::write(&f, format!("clauses: []\n{tail}")).unwrap();
        let err = Catalogue::load(&f).unwrap_err().to_string();
        assert!(err.contains(problem), "{err}");
    }
}

#[cfg(test)]
mod catalogue_file_tests {
    use super::*;

    /// The contract suite's catalogue parses and covers every clause of sections 2 to 4.
    #[test]
    fn the_contract_catalogue_is_complete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/clauses.yaml");
        let cat = Catalogue::load(&path).unwrap();
        let ids: Vec<&str> = cat.clauses.iter().map(|c| c.id.as_str()).collect();
        let mut expected: Vec<String> = Vec::new();
        for (prefix, n) in [
            ("CEL", 8),
            ("CFG", 7),
            ("SRV", 4),
            ("TEL", 9),
            ("WH", 6),
            ("REC", 4),
        ] {
            expected.extend((1..=n).map(|i| format!("{prefix}-{i}")));
        }
        for id in &expected {
            assert!(ids.contains(&id.as_str()), "{id} missing from clauses.yaml");
        }
    }
}
