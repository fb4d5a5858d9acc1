//! The suite file on the command line: it applies whenever it is found (its CRDs
//! installed, its operator started) and paths only narrow what runs; `--no-suite` runs
//! paths bare, and a kind the cluster does not serve reads as words.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A working directory holding `kanon.yaml` (CRDs from `crds/`, an operator that leaves
/// `operator-started` behind, scenarios in `suite-scenarios/`) and a scenario outside
/// the suite's folders, in `elsewhere/`, that needs the suite's CRD.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "crds/widgets.yaml",
        &std::fs::read_to_string(repo().join("fixtures/engine/crd-widgets.yaml")).unwrap(),
    );
    write(
        "kanon.yaml",
        "apiVersion: kanon.dev/v1alpha1
kind: Suite
metadata: {name: cli-suite}
spec:
  scenarios: [suite-scenarios]
  crds: [crds]
  operator:
    command: [sh, -c, 'touch operator-started; echo starting controllers; exec sleep 300']
    ready: {log: starting controllers, timeout: 20s}
",
    );
    write(
        "suite-scenarios/in-suite/scenario.yaml",
        "apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata: {name: in-suite}
spec:
  steps:
  - try:
    - apply:
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
",
    );
    write(
        "elsewhere/widget/scenario.yaml",
        "apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata: {name: widget-outside}
spec:
  steps:
  - try:
    - apply:
        resource:
          apiVersion: engine.kanon.dev/v1
          kind: Widget
          metadata: {name: w}
          spec: {size: 3}
    - assert:
        resource:
          apiVersion: engine.kanon.dev/v1
          kind: Widget
          metadata: {name: w}
          spec: {size: 3}
",
    );
    dir
}

fn kanon(dir: &Path, args: &[&str]) -> (Output, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .env_remove("KANON_KUBECONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

/// Every file under `dir` (reports and evidence), as (path, text).
fn files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            out.push((p.display().to_string(), text));
        }
    }
}

#[test]
fn paths_narrow_the_run_and_the_suite_still_sets_it_up() {
    let dir = project();
    // A scenario outside the suite's folders, by path: the suite's CRD is installed and
    // its operator started for it, and the suite's own scenarios do not run.
    let (out, stdout, stderr) = kanon(dir.path(), &["test", "elsewhere"]);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("widget-outside") && !stdout.contains("in-suite"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(
        stderr.contains("using the suite file kanon.yaml (CRDs crds; operator sh)"),
        "{stderr}"
    );
    assert!(dir.path().join("operator-started").is_file(), "{stderr}");
}

#[test]
fn no_suite_runs_paths_bare_and_a_missing_kind_reads_as_words() {
    let dir = project();
    let reports = dir.path().join("reports");
    let (out, stdout, stderr) = kanon(
        dir.path(),
        &[
            "test",
            "--no-suite",
            "elsewhere",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stderr.contains("suite file"), "{stderr}");
    assert!(
        !dir.path().join("operator-started").exists(),
        "no operator without the suite"
    );
    let message = "the cluster does not serve kind Widget (engine.kanon.dev/v1): it serves no \
                   engine.kanon.dev/v1 API; is its CRD installed? Pass `--crds DIR`, or run \
                   with the suite file";
    assert!(stdout.contains(message), "{stdout}");
    // No Rust Debug rendering of a client error anywhere the user looks.
    let mut texts = vec![("console".to_string(), format!("{stdout}\n{stderr}"))];
    files(&reports, &mut texts);
    let names: Vec<&str> = texts.iter().map(|(n, _)| n.as_str()).collect();
    for f in ["junit.xml", "report.json", "failure.txt"] {
        assert!(
            names.iter().any(|n| n.ends_with(f)),
            "{f} written: {names:?}"
        );
    }
    for (name, text) in &texts {
        for debug in [
            "Status {",
            "ApiError",
            "GroupVersionKind {",
            "Failed to parse",
        ] {
            assert!(!text.contains(debug), "{name} holds {debug:?}:\n{text}");
        }
    }
}

#[test]
fn a_missing_suite_operator_stops_the_run_with_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("s/one")).unwrap();
    std::fs::write(
        dir.path().join("s/one/scenario.yaml"),
        "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata: {name: one}\nspec:\n  steps:\n  - try:\n    - sleep: {duration: 1ms}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kanon.yaml"),
        "apiVersion: kanon.dev/v1alpha1\nkind: Suite\nspec:\n  scenarios: [s]\n  operator:\n    command: [target/debug/no-such-operator, run]\n",
    )
    .unwrap();
    let (out, stdout, stderr) = kanon(dir.path(), &["test"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "operator: the operator program target/debug/no-such-operator does not exist; \
             build it first with `cargo build --bin no-such-operator`"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains("PASS"), "nothing ran: {stdout}");
}
