//! The checked-in JSON Schemas (`fixtures/schema/`) against real files: every scenario
//! document of the contract suite and of the engine and Chainsaw fixtures, and the root
//! suite file, must be valid; files of the bad-input corpus whose mistake is a schema
//! matter must be rejected. Editors validate with these schemas, so a schema that
//! rejects a file kanon runs would flag correct scenarios in every author's editor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kanon::scenario::{CHAINSAW_API_VERSION, KANON_API_VERSION, SCENARIO_FILE_NAMES};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validator(name: &str) -> jsonschema::Validator {
    let path = root().join("fixtures/schema").join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()))
}

/// Every YAML document of `path`, as JSON (empty documents skipped).
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Whether a document is a scenario-shaped kanon or Chainsaw document (a Scenario, a
/// Test or a StepTemplate), as opposed to a resource or an assertion file.
fn is_scenario_document(doc: &Value) -> bool {
    matches!(
        doc["apiVersion"].as_str(),
        Some(KANON_API_VERSION | CHAINSAW_API_VERSION)
    ) && matches!(
        doc["kind"].as_str(),
        Some("Scenario" | "Test" | "StepTemplate")
    )
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The schema errors of `doc`, one line each: `file: document N: /instance/path: message`.
fn errors(v: &jsonschema::Validator, file: &Path, index: usize, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| {
            format!(
                "{}: document {}: {}: {e}",
                file.display(),
                index + 1,
                e.instance_path()
            )
        })
        .collect()
}

#[test]
fn every_scenario_document_is_valid_against_the_scenario_schema() {
    let v = validator("scenario.schema.json");
    let mut files = Vec::new();
    for dir in ["scenarios", "fixtures/chainsaw", "fixtures/engine"] {
        yaml_files(&root().join(dir), &mut files);
    }
    files.sort();
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in &files {
        let docs = documents(file);
        let scenario_file = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SCENARIO_FILE_NAMES.contains(&n));
        let mut in_file = 0;
        for (i, doc) in docs.iter().enumerate() {
            if is_scenario_document(doc) {
                in_file += 1;
                problems.extend(errors(&v, file, i, doc));
            }
        }
        assert!(
            !scenario_file || in_file > 0,
            "{}: a scenario file with no scenario document",
            file.display()
        );
        checked += in_file;
    }
    assert!(
        checked >= 35,
        "only {checked} scenario documents found: is the corpus where this test looks?"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_root_suite_file_is_valid_against_the_suite_schema() {
    let v = validator("suite.schema.json");
    let file = root().join("kanon.yaml");
    let docs = documents(&file);
    assert_eq!(docs.len(), 1, "kanon.yaml holds one document");
    let problems = errors(&v, &file, 0, &docs[0]);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn suite_schema_rejects_mistakes_the_loader_rejects() {
    let v = validator("suite.schema.json");
    for (yaml, why) in [
        (
            "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  scenario: [x]\n",
            "unknown field",
        ),
        (
            "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  timeouts: {assert: soon}\n",
            "bad duration",
        ),
        (
            "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  timeouts: {asert: 5s}\n",
            "unknown timeout class",
        ),
        ("apiVersion: v1\nkind: ConfigMap\nspec: {}\n", "not a suite"),
        (
            "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  operator: {command: []}\n",
            "empty operator command",
        ),
    ] {
        let doc: Value = serde_saphyr::from_str(yaml).unwrap();
        assert!(!v.is_valid(&doc), "{why}: accepted\n{yaml}");
    }
}

#[test]
fn bad_input_schema_errors_are_rejected() {
    let v = validator("scenario.schema.json");
    let dir = root().join("fixtures/bad-input");
    let cases = [
        ("unknown-field.yaml", "/spec/steps/0/try/0/assert"),
        ("unknown-operation.yaml", "/spec/steps/0/try/0"),
        ("two-actions.yaml", "/spec/steps/0/try/0"),
        ("no-action.yaml", "/spec/steps/0/try/0"),
        ("bad-duration.yaml", "/spec/timeouts/assert"),
        ("missing-unit.yaml", "/spec/steps/0/try/0/sleep/duration"),
        ("bad-api-version.yaml", "/apiVersion"),
        ("unknown-kind.yaml", "/kind"),
        ("wrong-field-type.yaml", "/spec/skip"),
        (
            "bad-propagation.yaml",
            "/spec/steps/0/try/0/delete/deletionPropagationPolicy",
        ),
        (
            "consistently-without-duration.yaml",
            "/spec/steps/0/try/0/consistently",
        ),
        (
            "wait-without-condition.yaml",
            "/spec/steps/0/try/0/wait/for",
        ),
        ("bad-mock-type.yaml", "/spec/mocks/0"),
        ("bad-proxy-port.yaml", "/spec/steps/0/try/0/proxy/port"),
        ("bad-step-skip.yaml", "/spec/steps/0/skip"),
    ];
    let mut missed = Vec::new();
    for (file, at) in cases {
        let path = dir.join(file);
        let docs = documents(&path);
        let found: Vec<(String, String)> = docs
            .iter()
            .flat_map(|d| {
                v.iter_errors(d)
                    .map(|e| (e.instance_path().to_string(), e.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        // Optional fields are `anyOf: [T, null]`, so a mistake inside one is reported at
        // the object holding it: accept an error at the mistake or at an ancestor.
        let near = |e: &(String, String)| {
            at == e.0 || (!e.0.is_empty() && at.starts_with(&format!("{}/", e.0)))
        };
        if !found.iter().any(near) {
            missed.push(format!(
                "{file}: no schema error at or above {at}; got {found:#?}"
            ));
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}
