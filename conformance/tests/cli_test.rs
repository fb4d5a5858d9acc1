//! `kanon test` and `kanon assert` as a user runs them: exit codes, positioned input
//! errors before any cluster, reports on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kanon(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(args)
        .current_dir(repo())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

#[test]
fn bad_input_exits_2_with_positions_and_starts_no_cluster() {
    let out = kanon(&[
        "test",
        "fixtures/bad-input/unknown-field.yaml",
        "fixtures/bad-input/bad-duration.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fixtures/bad-input/unknown-field.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("fixtures/bad-input/bad-duration.yaml:"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("PASS") && !stdout.contains("FAIL"),
        "nothing ran: {stdout}"
    );
    let missing = kanon(&["test", "no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/dir"));
}

#[test]
fn an_unwritable_report_dir_is_an_error_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let report = file.join("reports");
    let out = kanon(&[
        "test",
        "fixtures/engine/expect-rejection",
        "--report-dir",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("report directory"),
        "{:?}",
        out
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PASS"));
}

#[test]
fn a_run_writes_reports_and_its_exit_code_says_whether_all_passed() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let out = kanon(&[
        "test",
        "fixtures/engine/mocks",
        "fixtures/engine/failing-assert",
        "--report-dir",
        reports.to_str().unwrap(),
        "--catalogue",
        "scenarios/clauses.yaml",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one scenario fails: {stdout}");
    assert!(
        stdout.trim_end().ends_with("1 passed, 1 failed, 0 skipped"),
        "{stdout}"
    );
    for f in [
        "junit.xml",
        "report.json",
        "conformance.md",
        "conformance.json",
    ] {
        assert!(reports.join(f).is_file(), "{f} written");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let statuses: Vec<&str> = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"passed") && statuses.contains(&"failed"),
        "{statuses:?}"
    );
    assert!(
        reports
            .join("evidence/failing-assert/failure.txt")
            .is_file()
    );

    let ok = kanon(&["test", "fixtures/engine/mocks", "-q"]);
    assert_eq!(ok.status.code(), Some(0), "{:?}", ok);
    let quiet = String::from_utf8_lossy(&ok.stdout);
    assert!(
        !quiet.contains("PASS"),
        "quiet shows failures and the summary only: {quiet}"
    );
    assert!(quiet.contains("1 passed, 0 failed, 0 skipped"));
}
