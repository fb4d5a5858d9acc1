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
fn bad_input_fails_its_own_tests_and_strict_load_exits_2_before_any_cluster() {
    let files = [
        "test",
        "fixtures/bad-input/unknown-field.yaml",
        "fixtures/bad-input/bad-duration.yaml",
    ];
    // Each file that does not load is a failed test; with nothing else to run, no
    // cluster is started.
    let out = kanon(&files);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for f in [
        "fixtures/bad-input/unknown-field.yaml:",
        "fixtures/bad-input/bad-duration.yaml:",
    ] {
        assert!(stdout.contains(f), "{stdout}");
    }
    assert!(
        stdout.trim_end().ends_with("0 passed, 2 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(!stdout.contains("PASS"), "{stdout}");

    let mut strict = files.to_vec();
    strict.push("--strict-load");
    let out = kanon(&strict);
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
        "--no-suite",
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
        "--no-suite",
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

    let ok = kanon(&["test", "--no-suite", "fixtures/engine/mocks", "-q"]);
    assert_eq!(ok.status.code(), Some(0), "{:?}", ok);
    let quiet = String::from_utf8_lossy(&ok.stdout);
    assert!(
        !quiet.contains("PASS"),
        "quiet shows failures and the summary only: {quiet}"
    );
    assert!(quiet.contains("1 passed, 0 failed, 0 skipped"));
}

#[test]
fn a_wrong_chainsaw_configuration_exits_2_before_any_cluster() {
    let out = kanon(&[
        "test",
        "--config",
        "fixtures/bad-input/config/unknown-field.yaml",
        "fixtures/engine/mocks",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("fixtures/bad-input/config/unknown-field.yaml:6:3: unknown field `paralel`"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PASS"));
}

/// Copies `from` (files and folders, dotfiles included) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_chainsaw_configuration_in_the_working_directory_sets_the_run() {
    // `fixtures/chainsaw-config`: a `.chainsaw.yaml` and two tests named
    // `kanon-test.yaml` (its `testFile`). Run from a copy, with no arguments, as
    // `chainsaw test` would be.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("fixtures/chainsaw-config"), dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .arg("test")
        .current_dir(dir.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // c-times-out fails by design; a-keeps passes.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("kanon: using the Chainsaw configuration .chainsaw.yaml"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            ".chainsaw.yaml:18:13: warning: field `fullName` is not supported by kanon, ignored"
        ),
        "{stderr}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 1 failed, 0 skipped"),
        "{stdout}"
    );
    // reportFormat / reportPath / reportName: one JSON report, relative to the file.
    let report = dir.path().join("reports/config-report.json");
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("{}: {e}\n{stdout}", report.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let scenario = |name: &str| {
        json["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .clone()
    };
    // namespace: every test ran in the configured namespace (a-keeps also checked
    // $NAMESPACE in a script).
    for name in ["a-keeps", "c-times-out"] {
        assert_eq!(
            scenario(name)["namespace"],
            "kanon-config-fixture",
            "{name}"
        );
    }
    let a = scenario("a-keeps");
    assert_eq!(a["status"], "passed", "{text}");
    // skipDelete: nothing was deleted after a-keeps (without it, the deletion of its
    // ConfigMap and of the namespace it made is reported as a last `cleanup` step).
    let steps: Vec<&str> = a["attempts"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert!(!steps.contains(&"cleanup"), "{steps:?}");
    // timeouts.assert: c-times-out gave up after 4s, not the default 30s.
    let c = scenario("c-times-out");
    assert_eq!(c["status"], "failed");
    let failure = c["attempts"][0]["failure"]["message"].to_string();
    assert!(failure.contains("within 4s"), "{failure}");
    // catch: the configuration's catch ran for the failed test.
    assert!(text.contains("caught-by-config"), "{text}");
}

#[test]
fn flags_override_the_chainsaw_configuration() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("fixtures/chainsaw-config"), dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args([
            "test",
            "--config",
            ".chainsaw.yaml",
            "--namespace",
            "kanon-flag-ns",
            "--skip-delete=false",
            "--include",
            "^a-",
        ])
        .current_dir(dir.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // --include: only a-keeps; its script now sees the flag's namespace, not the file's,
    // so its check on $NAMESPACE fails.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("using the Chainsaw configuration"),
        "an explicit --config is not announced: {stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("reports/config-report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let scenarios = json["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 1, "{text}");
    let a = &scenarios[0];
    assert_eq!(a["name"], "a-keeps");
    assert_eq!(a["namespace"], "kanon-flag-ns");
    // --skip-delete=false: the namespace a-keeps made is deleted again.
    let steps: Vec<&str> = a["attempts"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert!(steps.contains(&"cleanup"), "{steps:?}");
}
