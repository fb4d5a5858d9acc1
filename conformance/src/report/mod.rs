//! Reports: the console as a run goes, and at the end `junit.xml`, `report.json`,
//! `conformance.md` / `conformance.json` (clause by clause) in a report directory;
//! [`merge`] joins the reports of a sharded suite's shards.

pub mod conformance;
pub mod console;
pub mod evidence;
pub mod junit;
pub mod merge;
pub mod model;

use std::path::{Path, PathBuf};

pub use model::{RunReport, ScenarioReport, Status, summary_line};

/// Errors writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report dir cannot be created or written.
    #[error("report directory {}: {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A report file cannot be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A report directory, checked writable before anything runs.
#[derive(Debug, Clone)]
pub struct ReportDir {
    path: PathBuf,
}

impl ReportDir {
    /// Creates `path` if needed and proves it writable (a probe file is written and
    /// removed), so a bad `--report-dir` fails before any scenario runs.
    pub fn prepare(path: &Path) -> Result<Self, ReportError> {
        let dir_err = |source| ReportError::Dir {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(dir_err)?;
        let probe = path.join(".kanon-write-probe");
        std::fs::write(&probe, b"").map_err(dir_err)?;
        std::fs::remove_file(&probe).map_err(dir_err)?;
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf, ReportError> {
        let p = self.path.join(name);
        std::fs::write(&p, text).map_err(|source| ReportError::Write {
            path: p.clone(),
            source,
        })?;
        Ok(p)
    }

    /// Writes `junit.xml`, `report.json` and, given a catalogue, `conformance.md` and
    /// `conformance.json`. Returns the files written.
    pub fn write_all(
        &self,
        run: &RunReport,
        catalogue: Option<&conformance::Catalogue>,
    ) -> Result<Vec<PathBuf>, ReportError> {
        let io = |name: &str| {
            let p = self.path.join(name);
            move |e: std::io::Error| ReportError::Write { path: p, source: e }
        };
        let mut files = vec![
            self.write("junit.xml", &junit::render(run).map_err(io("junit.xml"))?)?,
            self.write(
                "report.json",
                &serde_json::to_string_pretty(run)
                    .map_err(|e| io("report.json")(std::io::Error::other(e)))?,
            )?,
        ];
        if let Some(cat) = catalogue {
            let c = conformance::build(cat, run);
            files.push(self.write("conformance.md", &conformance::render_markdown(&c))?);
            files.push(
                self.write(
                    "conformance.json",
                    &serde_json::to_string_pretty(&c)
                        .map_err(|e| io("conformance.json")(std::io::Error::other(e)))?,
                )?,
            );
        }
        Ok(files)
    }
}

/// The format of a single report file (Chainsaw's `reportFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// kanon's `report.json` content.
    Json,
    /// kanon's `junit.xml` content (one testcase per scenario).
    JUnit,
}

impl ReportFormat {
    /// Chainsaw's format name (`JSON`, `XML`, `JUNIT-TEST`, `JUNIT-STEP`,
    /// `JUNIT-OPERATION`) as kanon writes it, with a warning when kanon writes another
    /// shape than Chainsaw would.
    pub fn from_chainsaw(name: &str) -> Result<(Self, Option<String>), String> {
        match name {
            "JSON" => Ok((ReportFormat::Json, None)),
            "XML" | "JUNIT-TEST" => Ok((ReportFormat::JUnit, None)),
            "JUNIT-STEP" | "JUNIT-OPERATION" => Ok((
                ReportFormat::JUnit,
                Some(format!(
                    "report format {name} is not supported by kanon, JUNIT-TEST written instead: kanon's JUnit report has one testcase per scenario"
                )),
            )),
            other => Err(format!(
                "unknown report format {other:?}: expected JSON, XML, JUNIT-TEST, JUNIT-STEP or JUNIT-OPERATION"
            )),
        }
    }

    /// The extension Chainsaw gives the file: `json` or `xml`.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::JUnit => "xml",
        }
    }
}

/// Chainsaw's report settings (`reportFormat`, `reportPath`, `reportName`, or the
/// `--report-*` flags), before they name a file: a flag replaces one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    /// The format (default JSON).
    pub format: ReportFormat,
    /// The folder (none: the current one).
    pub dir: Option<PathBuf>,
    /// The name (default `chainsaw-report`).
    pub name: String,
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self {
            format: ReportFormat::Json,
            dir: None,
            name: "chainsaw-report".into(),
        }
    }
}

impl ReportSpec {
    /// The file these settings name.
    pub fn file(&self) -> ReportFile {
        ReportFile::chainsaw(self.format, self.dir.as_deref(), &self.name)
    }
}

/// One report file at a chosen path, as Chainsaw's `reportFormat`, `reportPath` and
/// `reportName` ask for: the run in kanon's JSON or JUnit form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// Its format.
    pub format: ReportFormat,
    /// Where it goes.
    pub path: PathBuf,
}

impl ReportFile {
    /// The file Chainsaw would write for `name` in folder `dir` (none: the current
    /// folder): `name` itself when it has an extension, else `name.json` / `name.xml`.
    pub fn chainsaw(format: ReportFormat, dir: Option<&Path>, name: &str) -> Self {
        let file = if Path::new(name).extension().is_some() {
            name.to_string()
        } else {
            format!("{name}.{}", format.extension())
        };
        Self {
            format,
            path: dir
                .map(|d| d.join(&file))
                .unwrap_or_else(|| PathBuf::from(file)),
        }
    }

    /// Creates the file's folder and proves it writable, so a bad path fails before any
    /// scenario runs.
    pub fn prepare(&self) -> Result<(), ReportError> {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => ReportDir::prepare(dir).map(|_| ()),
            _ => ReportDir::prepare(Path::new(".")).map(|_| ()),
        }
    }

    /// Writes the run; returns the file's path.
    pub fn write(&self, run: &RunReport) -> Result<PathBuf, ReportError> {
        let err = |e: std::io::Error| ReportError::Write {
            path: self.path.clone(),
            source: e,
        };
        let text = match self.format {
            ReportFormat::Json => {
                serde_json::to_string_pretty(run).map_err(|e| err(std::io::Error::other(e)))?
            }
            ReportFormat::JUnit => junit::render(run).map_err(err)?,
        };
        std::fs::write(&self.path, text).map_err(err)?;
        Ok(self.path.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Attempt, Failure, StepReport};
    use quick_xml::Reader;
    use quick_xml::events::Event;
    use std::time::Duration;

    fn attempt(status: Status, message: &str) -> Attempt {
        Attempt {
            started: "2026-11-23T07:00:00Z".into(),
            duration: Duration::from_millis(1250),
            status,
            steps: vec![StepReport {
                name: "create <server> & check".into(),
                status,
                operations: vec![],
            }],
            failure: (status == Status::Failed).then(|| Failure {
                message: message.into(),
                errors: vec!["spec.x: expected \"a\", got \"b\"".into()],
                diff: "--- expected\n+++ actual\n-x: a\n+x: b ]]> tricky".into(),
            }),
        }
    }

    fn run() -> RunReport {
        let mk = |name: &str, status: Status, attempts: Vec<Attempt>| ScenarioReport {
            name: name.into(),
            file: format!("scenarios/{name}.yaml"),
            clauses: vec!["CEL-1".into()],
            labels: Default::default(),
            namespace: format!("kanon-{name}"),
            status,
            attempts,
            evidence: None,
            skip_reason: None,
            warnings: Vec::new(),
        };
        RunReport {
            kanon_version: "0.1.0".into(),
            started: "2026-11-23T07:00:00Z".into(),
            duration: Duration::from_secs(3),
            values: Default::default(),
            interrupted: None,
            shard: None,
            scenarios: vec![
                mk("ok", Status::Passed, vec![attempt(Status::Passed, "")]),
                mk(
                    "bad",
                    Status::Failed,
                    vec![attempt(Status::Failed, "assert <failed> & \"why\"")],
                ),
                mk(
                    "wobbly",
                    Status::Flaky,
                    vec![
                        attempt(Status::Failed, "first try"),
                        attempt(Status::Passed, ""),
                    ],
                ),
                mk("later", Status::Skipped, vec![]),
            ],
        }
    }

    /// Parses JUnit XML back into (testcase name, child element names, failure message, failure text).
    fn parse_junit(xml: &str) -> Vec<(String, Vec<String>, Option<String>, String)> {
        let mut reader = Reader::from_str(xml);
        let mut cases = Vec::new();
        let mut current: Option<(String, Vec<String>, Option<String>, String)> = None;
        let mut in_failure = false;
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                    let name = e
                        .try_get_attribute("name")
                        .unwrap()
                        .unwrap()
                        .unescape_value()
                        .unwrap()
                        .to_string();
                    current = Some((name, vec![], None, String::new()));
                }
                Event::Start(e) | Event::Empty(e) => {
                    if let Some(c) = current.as_mut() {
                        let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                        if tag == "failure" {
                            in_failure = true;
                            c.2 = Some(
                                e.try_get_attribute("message")
                                    .unwrap()
                                    .unwrap()
                                    .unescape_value()
                                    .unwrap()
                                    .to_string(),
                            );
                        }
                        c.1.push(tag);
                    }
                }
                Event::CData(t) if in_failure => {
                    if let Some(c) = current.as_mut() {
                        c.3.push_str(std::str::from_utf8(&t.into_inner()).unwrap());
                    }
                }
                Event::End(e) if e.name().as_ref() == b"failure" => in_failure = false,
                Event::End(e) if e.name().as_ref() == b"testcase" => {
                    cases.extend(current.take());
                }
                Event::Eof => break,
                _ => {}
            }
        }
        cases
    }

    #[test]
    fn a_single_report_file_is_named_as_chainsaw_names_it_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let f = ReportFile::chainsaw(ReportFormat::JUnit, Some(&dir.path().join("sub")), "r");
        assert_eq!(f.path, dir.path().join("sub/r.xml"));
        assert_eq!(
            ReportFile::chainsaw(ReportFormat::Json, None, "out.txt").path,
            PathBuf::from("out.txt"),
            "a name with an extension is kept"
        );
        f.prepare().unwrap();
        f.write(&run()).unwrap();
        let xml = std::fs::read_to_string(&f.path).unwrap();
        assert_eq!(parse_junit(&xml).len(), 4);
        let j = ReportFile::chainsaw(ReportFormat::Json, Some(dir.path()), "r");
        j.write(&run()).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&j.path).unwrap()).unwrap();
        assert_eq!(v["scenarios"].as_array().unwrap().len(), 4);
        // A file where the folder should be: an error before anything runs.
        let blocked = ReportFile::chainsaw(ReportFormat::Json, Some(&j.path), "x");
        assert!(blocked.prepare().is_err());
    }

    #[test]
    fn junit_parses_back_with_one_case_per_scenario() {
        let xml = junit::render(&run()).unwrap();
        assert!(
            xml.contains("tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        let cases = parse_junit(&xml);
        let names: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["ok", "bad", "wobbly", "later"]);
        let bad = &cases[1];
        assert_eq!(bad.2.as_deref(), Some("assert <failed> & \"why\""));
        assert!(
            bad.3.contains("+x: b ]]> tricky"),
            "diff survives CDATA: {}",
            bad.3
        );
        assert!(bad.3.contains("spec.x: expected"));
        assert!(cases[2].1.contains(&"flakyFailure".to_string()));
        assert!(cases[3].1.contains(&"skipped".to_string()));
        assert!(cases[0].1.contains(&"property".to_string()));
        assert!(
            xml.contains("name=\"step.1\" value=\"create &lt;server&gt; &amp; check: passed\""),
            "{xml}"
        );
    }

    #[test]
    fn json_report_round_trips_and_counts() {
        let r = run();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["scenarios"][1]["status"], "failed");
        assert_eq!(json["scenarios"][2]["status"], "flaky");
        assert_eq!(
            json["scenarios"][2]["attempts"].as_array().unwrap().len(),
            2
        );
        assert_eq!(json["scenarios"][0]["attempts"][0]["duration"], 1.25);
        let back: RunReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.totals(), r.totals());
        assert_eq!(
            summary_line(&r.totals()),
            "2 passed, 1 failed, 1 skipped (1 flaky)"
        );
    }

    #[test]
    fn report_dir_is_checked_before_use_and_gets_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ReportDir::prepare(&dir.path().join("nested/reports")).unwrap();
        let cat = conformance::Catalogue {
            contract: "c".into(),
            clauses: vec![conformance::Clause {
                id: "CEL-1".into(),
                title: "t".into(),
                section: String::new(),
                note: None,
            }],
            values: vec![],
        };
        let files = rd.write_all(&run(), Some(&cat)).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "junit.xml",
                "report.json",
                "conformance.md",
                "conformance.json"
            ]
        );
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let err = ReportDir::prepare(&blocker.join("sub")).unwrap_err();
        assert!(err.to_string().contains("report directory"), "{err}");
    }
}
