//! The `kanon lint` and `kanon new` command lines: golden output and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kanon(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lint_golden_output() {
    let (code, stdout, stderr) = kanon(
        &root(),
        &[
            "lint",
            "--catalogue",
            "fixtures/lint/clauses.yaml",
            "fixtures/lint",
        ],
    );
    let golden = root().join("fixtures/lint/expected.txt");
    if std::env::var_os("KANON_BLESS").is_some() {
        std::fs::write(&golden, &stdout).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(
        stdout,
        expected,
        "lint output differs from {} (regenerate with KANON_BLESS=1 cargo test -p kanon --test cli_lint); stderr: {stderr}",
        golden.display()
    );
    assert_eq!(code, 1);
}

#[test]
fn lint_exit_codes() {
    let (code, stdout, _) = kanon(&root(), &["lint", "fixtures/engine", "fixtures/chainsaw"]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = kanon(&root(), &["lint", "fixtures/bad-input/unknown-field.yaml"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("unknown-field.yaml:11:9: error: unknown field `resources`"),
        "{stdout}"
    );
    // Warnings alone exit 0.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scenario.yaml"),
        "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: w\nspec:\n  mocks:\n  - name: idle\n    type: otlp\n  steps:\n  - try:\n    - sleep: {duration: 1ms}\n",
    )
    .unwrap();
    let (code, stdout, _) = kanon(dir.path(), &["lint"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("scenario.yaml:7:5: warning: mock `idle`"),
        "{stdout}"
    );
}

#[test]
fn new_scaffolds_a_scenario_that_lints_clean_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = kanon(dir.path(), &["new", "my-check", "--dir", "scenarios"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let file = dir.path().join("scenarios/my-check/scenario.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    let (code, stdout, _) = kanon(dir.path(), &["lint", "scenarios"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout, "");
    let (code, _, stderr) = kanon(dir.path(), &["new", "my-check", "--dir", "scenarios"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn new_in_the_repository_points_at_the_checked_in_schema() {
    let folder = root().join("scenarios/some-new-one");
    let reference = kanon::scenario::scaffold::schema_reference(&folder);
    assert_eq!(reference, "../../fixtures/schema/scenario.schema.json");
}
