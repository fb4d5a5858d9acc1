//! A scenario source that does not load is a failed test of its own, not a failed run:
//! it is named as its scenario would have been, filtered and sharded like the others,
//! and reported failed with every positioned error (console, JUnit, JSON) and with the
//! clauses it names, while the other scenarios run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::report::model::{Attempt, Failure, ScenarioReport, Status, now_rfc3339};
use crate::scenario::ParseError;

/// A scenario file or conventional folder that did not load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadFailure {
    /// The name its scenario would have had: `metadata.name` when the YAML can be read
    /// that far, else its folder's name (as the loader names unnamed scenarios).
    pub name: String,
    /// The file or folder.
    pub file: PathBuf,
    /// Its `metadata.labels`, as far as they can be read (for `--selector`).
    pub labels: BTreeMap<String, String>,
    /// Whether the labels could be read at all: a selector cannot tell whether a test
    /// whose labels are unknown was meant to run, so it keeps it (loud rather than lost).
    pub labels_known: bool,
    /// The contract clauses it names (`spec.clauses`, as far as they can be read): they
    /// fail with it instead of looking not covered.
    pub clauses: Vec<String>,
    /// Every error, positioned.
    pub errors: Vec<ParseError>,
}

impl LoadFailure {
    /// The failure of source `path` (a conventional folder when `conventional`).
    pub fn new(path: &Path, conventional: bool, errors: Vec<ParseError>) -> Self {
        let folder_name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "scenario".to_string())
        };
        let fallback = if conventional || path.is_dir() {
            folder_name(path)
        } else {
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(folder_name)
                .unwrap_or_else(|| "scenario".to_string())
        };
        let first = (!conventional)
            .then(|| std::fs::read_to_string(path).ok())
            .flatten()
            .and_then(|text| first_document(&text));
        let clauses = first
            .as_ref()
            .and_then(|d| d.pointer("/spec/clauses"))
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let metadata = first
            .as_ref()
            .and_then(|d| d.get("metadata"))
            .and_then(Value::as_object);
        let (name, labels, labels_known) = match metadata {
            Some(m) => (
                m.get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or(fallback),
                m.get("labels")
                    .and_then(Value::as_object)
                    .map(|l| {
                        l.iter()
                            .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
                            .collect()
                    })
                    .unwrap_or_default(),
                true,
            ),
            None => (fallback, BTreeMap::new(), false),
        };
        Self {
            name,
            file: path.to_path_buf(),
            labels,
            labels_known,
            clauses,
            errors,
        }
    }

    /// Its report under `name` (the name the run gives it): failed, with the first
    /// error as the message and every error listed.
    pub fn report(&self, name: &str) -> ScenarioReport {
        let errors: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        let message = match errors.as_slice() {
            [] => format!("{}: cannot load", self.file.display()),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
        };
        let failure = Failure {
            message,
            errors,
            diff: String::new(),
        };
        ScenarioReport {
            name: name.to_string(),
            file: self.file.display().to_string(),
            clauses: self.clauses.clone(),
            labels: self.labels.clone(),
            namespace: String::new(),
            status: Status::Failed,
            attempts: vec![Attempt {
                started: now_rfc3339(),
                duration: std::time::Duration::ZERO,
                status: Status::Failed,
                steps: Vec::new(),
                failure: Some(failure),
            }],
            evidence: None,
            skip_reason: None,
            warnings: Vec::new(),
        }
    }
}

/// The first document of `text`, when the YAML parses.
fn first_document(text: &str) -> Option<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).ok()?;
    docs.into_iter().find(|d| !d.is_null())
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn error(file: &Path, line: u32, message: &str) -> ParseError {
        ParseError {
            file: file.to_path_buf(),
            line,
            column: 3,
            message: message.into(),
        }
    }

    #[test]
    fn a_broken_file_is_named_by_its_metadata_and_keeps_its_labels() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("my-test");
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join("chainsaw-test.yaml");
        std::fs::write(
            &file,
            "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: named\n  labels: {tier: one, n: 2}\nspec:\n  clauses: [CEL-1, CEL-2]\n  stepz: []\n",
        )
        .unwrap();
        let f = LoadFailure::new(&file, false, vec![error(&file, 7, "unknown field `stepz`")]);
        assert_eq!(f.name, "named");
        assert!(f.labels_known);
        assert_eq!(f.labels.get("tier").map(String::as_str), Some("one"));
        assert_eq!(f.labels.get("n").map(String::as_str), Some("2"));
        let r = f.report("named");
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.clauses, ["CEL-1", "CEL-2"], "its clauses fail with it");
        let failure = r.failure().unwrap();
        assert!(
            failure
                .message
                .ends_with("my-test/chainsaw-test.yaml:7:3: unknown field `stepz`"),
            "{failure:?}"
        );
        assert_eq!(failure.errors.len(), 1);
    }

    #[test]
    fn unreadable_yaml_falls_back_to_the_folder_name_with_unknown_labels() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("broken");
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join("chainsaw-test.yaml");
        std::fs::write(&file, "spec: [unclosed\n").unwrap();
        let errors = vec![
            error(&file, 1, "a"),
            error(&file, 2, "b"),
            error(&file, 3, "c"),
        ];
        let f = LoadFailure::new(&file, false, errors);
        assert_eq!(f.name, "broken");
        assert!(!f.labels_known);
        let failure = f.report("broken").failure().cloned().unwrap();
        assert!(
            failure.message.ends_with(":1:3: a (and 2 more)"),
            "{failure:?}"
        );
        assert_eq!(failure.errors.len(), 3);
        let conventional = LoadFailure::new(&folder, true, vec![error(&folder, 0, "x")]);
        assert_eq!(conventional.name, "broken");
    }
}
