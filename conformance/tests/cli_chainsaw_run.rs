//! `kanon test` in place of `chainsaw test`, as a CI job runs it: Chainsaw's flags, a
//! broken test file failing alone, an interrupted run that still reports, and a suite
//! split into shards whose reports merge into one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn kanon(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .env_remove("KANON_KUBECONFIG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// A Chainsaw test `name` in `root/name/chainsaw-test.yaml` that applies a ConfigMap and
/// asserts it (`extra` is appended to the assertion, at its indentation).
fn chainsaw_test(root: &Path, name: &str, labels: &str, extra: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("chainsaw-test.yaml"),
        format!(
            "apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata:
  name: {name}
  labels: {{{labels}}}
spec:
  steps:
  - try:
    - apply:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: {name}}}
          data: {{k: v}}
    - assert:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: {name}}}
          data: {{k: v}}
{extra}"
        ),
    )
    .unwrap();
}

fn json(path: &Path) -> Value {
    let t = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&t).unwrap()
}

fn scenario<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

fn names(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn chainsaw_s_command_line_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("e2e");
    // The values reach the test as Chainsaw gives them: --set parses, --set-string keeps
    // a string.
    chainsaw_test(
        &tests,
        "values",
        "tier: a",
        "          (type($values.x)): number\n          (type($values.y)): string\n          (type($values.z)): string\n",
    );
    chainsaw_test(&tests, "other-tier", "tier: b", "");
    chainsaw_test(&tests, "excluded", "tier: a", "");
    std::fs::write(dir.path().join("values.yaml"), "z: from-file\n").unwrap();
    let out = kanon(
        dir.path(),
        &[
            "test",
            "--test-dir",
            "e2e",
            "--values",
            "values.yaml",
            "--set",
            "x=1",
            "--set-string",
            "y=2",
            "--parallel",
            "0",
            "--fail-fast",
            "--include-test-regex",
            ".",
            "--exclude-test-regex",
            "^excluded$",
            "--selector",
            "tier=a",
            "--report-format",
            "JUNIT-TEST",
            "--report-path",
            "out",
            "--report-name",
            "chainsaw",
            "--remarshal",
            "--skip-delete=false",
            "--repeat-count",
            "1",
            "--assert-timeout",
            "20s",
            "--deletion-propagation-policy",
            "Background",
            "--no-color",
            "--full-name",
            "--no-cluster",
            "--shard-index",
            "0",
            "--shard-count",
            "1",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("kanon: warning: --full-name is not supported by kanon"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kanon: warning: --no-cluster is not supported by kanon"),
        "{stderr}"
    );
    assert!(!stdout.contains('\x1b'), "--no-color: {stdout}");
    assert!(
        stdout.trim_end().ends_with("1 passed, 0 failed, 0 skipped"),
        "--selector and --exclude-test-regex leave one test: {stdout}"
    );
    let junit = std::fs::read_to_string(dir.path().join("out/chainsaw.xml")).unwrap();
    assert!(junit.contains("<testcase name=\"values\""), "{junit}");

    // A flag kanon cannot read is an error before any cluster.
    let bad = kanon(dir.path(), &["test", "e2e", "--report-format", "HTML"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--report-format: unknown report format \"HTML\""));
}

#[test]
fn a_broken_test_file_fails_alone_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("e2e");
    chainsaw_test(&tests, "good", "", "");
    // Fails by design, to show --pause-on-failure (stdin is closed: it goes on at once).
    chainsaw_test(
        &tests,
        "wrong",
        "",
        "    - assert:\n        timeout: 1s\n        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: never}}\n",
    );
    std::fs::create_dir_all(tests.join("broken")).unwrap();
    std::fs::write(
        tests.join("broken/chainsaw-test.yaml"),
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: broken\nspec:\n  steps:\n  - try:\n    - aply: {}\n",
    )
    .unwrap();
    let reports = dir.path().join("reports");
    let out = kanon(
        dir.path(),
        &[
            "test",
            "e2e",
            "--report-dir",
            reports.to_str().unwrap(),
            "--pause-on-failure",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FAIL broken (e2e/broken/chainsaw-test.yaml)"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("e2e/broken/chainsaw-test.yaml:8:7: unknown field `aply`"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 2 failed, 0 skipped"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("kanon: wrong | step-1 failed; press ENTER to continue..."),
        "{stderr}"
    );
    let report = json(&reports.join("report.json"));
    let broken = scenario(&report, "broken");
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["attempts"][0]["failure"]["message"]
            .as_str()
            .unwrap()
            .contains(":8:7: unknown field `aply`"),
        "{broken}"
    );
    assert_eq!(scenario(&report, "good")["status"], "passed");
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testcase name=\"broken\" classname=\"e2e/broken/chainsaw-test.yaml\""),
        "{junit}"
    );
    assert!(junit.contains("unknown field `aply`"), "{junit}");

    // --strict-load: today's all-or-nothing, before any cluster.
    let strict = kanon(dir.path(), &["test", "e2e", "--strict-load"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(text(&strict.stderr).contains("e2e/broken/chainsaw-test.yaml:8:7: unknown field"));
    assert!(!text(&strict.stdout).contains("PASS"));
}

#[test]
fn an_interrupted_run_still_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("e2e");
    chainsaw_test(&tests, "a-sleeps", "", "    - sleep: {duration: 120s}\n");
    chainsaw_test(&tests, "b-waits", "", "");
    let reports = dir.path().join("reports");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kanon"))
        .args(["test", "e2e", "--parallel", "1", "--report-dir"])
        .arg(&reports)
        .current_dir(dir.path())
        .env_remove("KUBECONFIG")
        .env_remove("KANON_KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first test has asserted its ConfigMap (it then sleeps).
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("kanon ended first: {seen}"))
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("PASS") && line.contains("a-sleeps") && line.contains("assert") {
            break;
        }
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let reader = std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            seen.push_str(&l);
            seen.push('\n');
        }
        seen
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "kanon did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("kanon: interrupted (SIGINT); the reports hold what ran until then"),
        "{stdout}"
    );
    let report = json(&reports.join("report.json"));
    assert_eq!(report["interrupted"], "SIGINT");
    let a = scenario(&report, "a-sleeps");
    assert_eq!(a["status"], "failed");
    assert_eq!(
        a["attempts"][0]["failure"]["message"],
        "interrupted (SIGINT)"
    );
    // Its cleanup still ran: the ConfigMap and the namespace were deleted.
    let steps = a["attempts"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["name"], "cleanup", "{a}");
    let b = scenario(&report, "b-waits");
    assert_eq!(b["status"], "skipped");
    assert_eq!(
        b["skip_reason"],
        "not started: the run was interrupted (SIGINT)"
    );
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<property name=\"interrupted\" value=\"SIGINT\"/>"),
        "{junit}"
    );
}

/// A kanon scenario `name` naming `clauses`, that passes unless `fail`.
fn clause_scenario(root: &Path, name: &str, clauses: &str, fail: bool) {
    let check = if fail { "never" } else { name };
    std::fs::create_dir_all(root.join(name)).unwrap();
    std::fs::write(
        root.join(name).join("scenario.yaml"),
        format!(
            "apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata:
  name: {name}
spec:
  clauses: [{clauses}]
  timeouts: {{assert: 1s}}
  steps:
  - try:
    - apply:
        resource: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {name}}}}}
    - assert:
        resource: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {check}}}}}
"
        ),
    )
    .unwrap();
}

#[test]
fn shards_run_every_scenario_once_and_merge_into_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    clause_scenario(&suite, "s-a", "C-1", false);
    clause_scenario(&suite, "s-b", "C-1", true);
    clause_scenario(&suite, "s-c", "C-2", false);
    clause_scenario(&suite, "s-d", "C-2", false);
    clause_scenario(&suite, "s-e", "C-3", false);
    std::fs::write(
        dir.path().join("clauses.yaml"),
        "contract: shards\nclauses:\n- {id: C-1, title: one}\n- {id: C-2, title: two}\n- {id: C-3, title: three}\n- {id: C-4, title: four}\n",
    )
    .unwrap();
    let shard = |flags: &[&str], out: &str| {
        let mut args = vec![
            "test",
            "suite",
            "--catalogue",
            "clauses.yaml",
            "--report-dir",
            out,
        ];
        args.extend_from_slice(flags);
        let o = kanon(dir.path(), &args);
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        json(&dir.path().join(out).join("report.json"))
    };
    // Chainsaw's flags for one shard, nextest's for the other.
    let r0 = shard(&["--shard-index", "0", "--shard-count", "2"], "r0");
    let r1 = shard(&["--partition", "count:2/2"], "r1");
    let (n0, n1) = (names(&r0), names(&r1));
    let mut all: Vec<String> = n0.iter().chain(&n1).cloned().collect();
    all.sort();
    assert_eq!(all, ["s-a", "s-b", "s-c", "s-d", "s-e"], "{n0:?} {n1:?}");
    assert!(n0.len().abs_diff(n1.len()) <= 1, "{n0:?} {n1:?}");
    assert_eq!(r0["shard"], serde_json::json!({"index": 0, "count": 2}));

    let merged = kanon(
        dir.path(),
        &["report", "merge", "r1", "r0", "--report-dir", "m"],
    );
    let stdout = text(&merged.stdout);
    assert_eq!(
        merged.status.code(),
        Some(1),
        "s-b failed: {stdout}\n{}",
        text(&merged.stderr)
    );
    assert!(
        stdout.trim_end().ends_with("4 passed, 1 failed, 0 skipped"),
        "{stdout}"
    );
    let m = json(&dir.path().join("m/report.json"));
    assert_eq!(names(&m), all);
    // The catalogue came from the shards' conformance.json; verdicts are recomputed.
    let c = json(&dir.path().join("m/conformance.json"));
    let verdicts: Vec<(String, String)> = c["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let v = |id: &str, verdict: &str| (id.to_string(), verdict.to_string());
    assert_eq!(
        verdicts,
        [
            v("C-1", "fail"),
            v("C-2", "pass"),
            v("C-3", "pass"),
            v("C-4", "not-covered")
        ]
    );
    assert!(dir.path().join("m/conformance.md").is_file());
    let junit = std::fs::read_to_string(dir.path().join("m/junit.xml")).unwrap();
    assert!(junit.contains("tests=\"5\" failures=\"1\""), "{junit}");
    assert!(
        dir.path().join("m/evidence/s-b").is_dir(),
        "the failed scenario's evidence is copied"
    );

    // One shard missing: refused, nothing written.
    let partial = kanon(dir.path(), &["report", "merge", "r0", "--report-dir", "p"]);
    assert_eq!(partial.status.code(), Some(2));
    assert!(
        text(&partial.stderr).contains("shard index(es) 1 of 2 missing"),
        "{}",
        text(&partial.stderr)
    );
    assert!(!dir.path().join("p/report.json").exists());
}
