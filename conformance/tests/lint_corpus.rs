//! `kanon lint` over the bad-input corpus, the engine and Chainsaw fixtures, and the
//! golden output of `fixtures/lint`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kanon::scenario::lint::{LintOptions, Severity, lint};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(serde::Deserialize)]
struct Expected {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    file: String,
    error_file: Option<String>,
    line: u32,
    column: u32,
    message: String,
}

#[test]
fn every_bad_input_case_has_a_finding_at_its_line() {
    let dir = root().join("fixtures/bad-input");
    let text = std::fs::read_to_string(dir.join("expected.yaml")).unwrap();
    let expected: Expected = serde_saphyr::from_str(&text).unwrap();
    let mut missing = Vec::new();
    for case in &expected.cases {
        let findings = lint(&[dir.join(&case.file)], &LintOptions::default());
        assert!(!findings.is_empty(), "{}: no finding", case.file);
        let want = dir.join(case.error_file.as_deref().unwrap_or(&case.file));
        let hit = findings.iter().any(|f| {
            f.file == want
                && f.line == case.line
                && f.column == case.column
                && f.severity == Severity::Error
                && f.message.contains(&case.message)
        });
        if !hit {
            missing.push(format!(
                "{} {}:{} {:?}: got {findings:?}",
                case.file, case.line, case.column, case.message
            ));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn whole_bad_input_folder_in_one_run() {
    let dir = root().join("fixtures/bad-input");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "expected.yaml"))
        .collect();
    files.sort();
    let findings = lint(&files, &LintOptions::default());
    let with_findings: std::collections::BTreeSet<_> =
        findings.iter().map(|f| f.file.clone()).collect();
    for f in &files {
        let refs_only = f
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("referenced-file"));
        assert!(
            refs_only || with_findings.contains(f),
            "{} has no finding",
            f.display()
        );
    }
}

#[test]
fn contract_suite_engine_and_chainsaw_fixtures_have_no_errors() {
    let catalogue =
        kanon::report::conformance::Catalogue::load(&root().join("scenarios/clauses.yaml"))
            .unwrap();
    let clauses = catalogue.clauses.into_iter().map(|c| c.id).collect();
    let values = Some(catalogue.values.into_iter().map(|v| v.name).collect());
    let findings = lint(
        &[
            root().join("scenarios"),
            root().join("fixtures/engine"),
            root().join("fixtures/chainsaw"),
        ],
        &LintOptions {
            clauses: Some(clauses),
            values,
        },
    );
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
