use super::*;
use rstest::rstest;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[derive(Debug, Deserialize)]
struct Manifest {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    error_file: Option<String>,
    line: u32,
    column: u32,
    message: String,
}

#[test]
fn bad_input_corpus_reports_positioned_errors() {
    let dir = fixtures().join("bad-input");
    let text = std::fs::read_to_string(dir.join("expected.yaml")).unwrap();
    let manifest: Manifest = serde_saphyr::from_str(&text).unwrap();
    let mut failures = Vec::new();
    for case in &manifest.cases {
        let path = dir.join(&case.file);
        let errors = match std::panic::catch_unwind(|| load_file(&path)) {
            Ok(Ok(_)) => {
                failures.push(format!("{}: loaded without error", case.file));
                continue;
            }
            Ok(Err(errors)) => errors,
            Err(_) => {
                failures.push(format!("{}: panicked", case.file));
                continue;
            }
        };
        let want_file = dir.join(case.error_file.as_deref().unwrap_or(&case.file));
        let found = errors.iter().any(|e| {
            e.file == want_file
                && e.line == case.line
                && e.column == case.column
                && e.message.contains(&case.message)
        });
        if !found {
            failures.push(format!(
                "{}: wanted {}:{}: ...{}...; got:\n  {}",
                case.file,
                case.line,
                case.column,
                case.message,
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
        for e in &errors {
            assert!(
                e.to_string().starts_with(&format!(
                    "{}:{}:{}: ",
                    e.file.display(),
                    e.line,
                    e.column
                )),
                "{e}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_input_file_has_an_expectation() {
    let dir = fixtures().join("bad-input");
    let text = std::fs::read_to_string(dir.join("expected.yaml")).unwrap();
    let manifest: Manifest = serde_saphyr::from_str(&text).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".yaml") && name != "expected.yaml" {
            assert!(
                manifest.cases.iter().any(|c| c.file == name),
                "{name} is not listed in expected.yaml"
            );
        }
    }
}

fn chainsaw(name: &str) -> Scenario {
    let path = fixtures()
        .join("chainsaw")
        .join(name)
        .join("chainsaw-test.yaml");
    let mut scenarios = load_file(&path).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert_eq!(scenarios.len(), 1);
    scenarios.remove(0)
}

#[rstest]
#[case("basic", 1)]
#[case("try-catch-finally", 1)]
#[case("bindings-outputs", 1)]
#[case("assertion-trees", 1)]
#[case("multi-file", 3)]
#[case("step-template", 2)]
#[case("cel", 1)]
fn chainsaw_fixtures_load(#[case] name: &str, #[case] steps: usize) {
    let s = chainsaw(name);
    assert_eq!(s.flavor, Flavor::Chainsaw);
    assert_eq!(s.name, name);
    assert_eq!(s.steps.len(), steps);
    // `basic` starts with a schema comment line, `cel` with two lines of comments.
    let first = match name {
        "basic" => 2,
        "cel" => 3,
        _ => 1,
    };
    assert_eq!(s.location.line, first);
}

#[test]
fn basic_resolves_file_references() {
    let s = chainsaw("basic");
    let ops = &s.steps[0].try_;
    assert_eq!(ops.len(), 2);
    let Operation::Apply(apply) = &ops[0].operation else {
        panic!("not apply")
    };
    assert_eq!(apply.resources.len(), 1);
    assert!(
        matches!(&apply.resources[0].source, ManifestSource::File(p) if p.ends_with("basic/configmap.yaml"))
    );
    assert_eq!(apply.resources[0].to_json()["data"]["foo"], "bar");
    assert_eq!(apply.resources[0].location().line, 1);
    let Operation::Assert(assert) = &ops[1].operation else {
        panic!("not assert")
    };
    assert_eq!(assert.trees.len(), 1);
    assert_eq!((ops[1].location.line, ops[1].location.column), (11, 7));
    assert_eq!(ops[1].operation.location().line, 12);
}

#[test]
fn try_catch_finally_keeps_every_block_and_timeout() {
    let s = chainsaw("try-catch-finally");
    assert_eq!(s.timeouts.apply, Some(Duration::from_secs(10)));
    assert_eq!(s.timeouts.assert, Some(Duration::from_secs(60)));
    let step = &s.steps[0];
    assert_eq!(step.name, "create-deployment");
    let names = |ops: &[StepOperation]| ops.iter().map(|o| o.operation.name()).collect::<Vec<_>>();
    assert_eq!(names(&step.try_), ["apply", "assert"]);
    assert_eq!(names(&step.catch), ["podLogs", "events", "describe", "get"]);
    assert_eq!(names(&step.finally), ["sleep", "script"]);
    assert_eq!(names(&step.cleanup), ["delete"]);
    assert_eq!(names(&s.catch), ["events"]);
    assert_eq!(step.try_[0].description.as_deref(), Some("the deployment"));
    let config = Timeouts::default();
    let apply = &step.try_[0].operation;
    assert_eq!(
        resolve_timeout(
            apply.timeout_class(),
            apply.timeout(),
            &step.timeouts,
            &s.timeouts,
            &config
        ),
        Duration::from_secs(10)
    );
    let assert = &step.try_[1].operation;
    assert_eq!(
        resolve_timeout(
            assert.timeout_class(),
            assert.timeout(),
            &step.timeouts,
            &s.timeouts,
            &config
        ),
        Duration::from_secs(120)
    );
    let Operation::PodLogs(logs) = &step.catch[0].operation else {
        panic!("not podLogs")
    };
    assert_eq!(logs.tail, Some(30));
    assert_eq!(logs.object.selector.as_deref(), Some("app=web"));
    let Operation::Delete(delete) = &step.cleanup[0].operation else {
        panic!("not delete")
    };
    assert_eq!(delete.propagation, Some(PropagationPolicy::Foreground));
    assert!(matches!(&delete.target, DeleteTarget::Ref(r) if r.name.as_deref() == Some("web")));
    let Operation::Sleep(sleep) = &step.finally[0].operation else {
        panic!("not sleep")
    };
    assert_eq!(sleep.duration, Duration::from_secs(1));
}

#[test]
fn multi_file_expands_globs_in_order() {
    let s = chainsaw("multi-file");
    let Operation::Apply(apply) = &s.steps[0].try_[0].operation else {
        panic!("not apply")
    };
    let names: Vec<_> = apply
        .resources
        .iter()
        .map(|m| {
            m.to_json()["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(names, ["one", "two", "two-bis"]);
    assert_eq!(apply.resources[2].location().line, 10);
    assert_eq!(s.concurrent, Some(false));
    assert_eq!(s.steps[0].timeouts.apply, Some(Duration::from_secs(15)));
    let Operation::Delete(d) = &s.steps[2].try_[0].operation else {
        panic!("not delete")
    };
    let DeleteTarget::Ref(r) = &d.target else {
        panic!("not a ref")
    };
    assert_eq!(r.labels.get("group").map(String::as_str), Some("multi"));
}

#[test]
fn step_templates_are_inlined() {
    let s = chainsaw("step-template");
    let step = &s.steps[0];
    assert!(
        step.template_file
            .as_ref()
            .is_some_and(|p| p.ends_with("configmap-step.yaml"))
    );
    let names: Vec<_> = step.bindings.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["cmName", "cmName"]);
    assert_eq!(step.bindings[1].value.as_str(), Some("from-template"));
    assert_eq!(step.try_.len(), 2);
    assert!(step.try_[0].location.file.ends_with("configmap-step.yaml"));
}

#[test]
fn bindings_outputs_and_checks_are_kept() {
    let s = chainsaw("bindings-outputs");
    assert_eq!(s.bindings.len(), 2);
    assert_eq!(
        s.bindings[1].value.as_str(),
        Some("(join('-', [$prefix, 'config']))")
    );
    let step = &s.steps[0];
    let Operation::Script(script) = &step.try_[1].operation else {
        panic!("not script")
    };
    assert_eq!(script.outputs[0].name, "fetched");
    assert_eq!(script.env[0].name, "CM");
    assert!(script.check.is_some());
    let Operation::Command(cmd) = &step.try_[2].operation else {
        panic!("not command")
    };
    assert_eq!(cmd.entrypoint, "echo");
    assert_eq!(cmd.args, ["($fetched)"]);
    assert_eq!(cmd.timeout, Some(Duration::from_secs(10)));
}

#[test]
fn compiler_fields_reach_the_model() {
    use crate::expr::Compiler;
    let s = chainsaw("cel");
    let compilers: Vec<Compiler> = s.bindings.iter().map(|b| b.compiler).collect();
    assert_eq!(compilers, [Compiler::Jp, Compiler::Cel, Compiler::Jp]);
    let Operation::Apply(apply) = &s.steps[0].try_[0].operation else {
        panic!("not apply")
    };
    assert!(apply.outputs.iter().all(|o| o.compiler == Compiler::Cel));
}

#[test]
fn compiler_defaults_are_inherited_innermost_first() {
    use crate::expr::Compiler;
    let s = chainsaw("compiler");
    assert_eq!(s.bindings[0].compiler, Compiler::Cel, "the test's default");
    let (first, second) = (&s.steps[0], &s.steps[1]);
    let of = |ops: &[StepOperation]| ops.iter().map(|o| o.compiler).collect::<Vec<_>>();
    assert_eq!(
        of(&first.try_),
        [Compiler::Cel, Compiler::Cel, Compiler::Jp, Compiler::Cel]
    );
    assert_eq!(of(&first.catch), [Compiler::Jp]);
    assert_eq!(of(&first.finally), [Compiler::Jp]);
    let Operation::Apply(apply) = &first.try_[0].operation else {
        panic!("not apply")
    };
    let outputs: Vec<Compiler> = apply.outputs.iter().map(|o| o.compiler).collect();
    assert_eq!(
        outputs,
        [Compiler::Cel, Compiler::Jp],
        "an output's own wins"
    );
    assert_eq!(
        second.bindings[0].compiler,
        Compiler::Jp,
        "the step's default"
    );
    assert_eq!(of(&second.try_), [Compiler::Jp, Compiler::Cel]);
    assert_eq!(s.namespace_template_compiler, Compiler::Cel);
}

#[test]
fn a_directory_loads_every_scenario_file() {
    let all = load(&fixtures().join("chainsaw")).unwrap();
    // Nine Chainsaw test files and one conventional (numbered files) folder.
    assert_eq!(all.len(), 10);
    assert!(
        all.iter()
            .any(|s| s.name == "conventional" && s.steps.len() == 2)
    );
}

const KANON: &str = r#"apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata:
  name: telemetry
  labels:
    area: telemetry
spec:
  clauses: [TEL-1, TEL-4]
  timeout: 3m
  values:
    image: nginx
  mocks:
  - name: collector
    type: otlp
  - name: hook
    type: webhook
    hmacKey: secret
    responses:
    - path: /review
      status: 200
  steps:
  - try:
    - apply:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: cfg
          data:
            endpoint: ($mocks.collector.endpoint)
    - consistently:
        duration: 10s
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: cfg
    - assert:
        mock: collector
        timeout: 45s
        resource:
          (length(records) > `0`): true
    - patch:
        subresource: status
        resource:
          apiVersion: example.dev/v1
          kind: Thing
          metadata:
            name: t
          status:
            ready: true
    - wait:
        apiVersion: v1
        kind: ConfigMap
        name: cfg
        for:
          creation: {}
---
apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata:
  name: second
spec:
  steps:
  - try:
    - sleep:
        duration: 500ms
"#;

#[test]
fn kanon_scenarios_with_additions() {
    let all = parse_str(Path::new("/virtual/scenario.yaml"), KANON).unwrap();
    assert_eq!(all.len(), 2);
    let s = &all[0];
    assert_eq!(s.flavor, Flavor::Kanon);
    assert_eq!(s.labels.get("area").map(String::as_str), Some("telemetry"));
    let ids: Vec<_> = s.clauses.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["TEL-1", "TEL-4"]);
    assert_eq!(
        (s.clauses[1].location.line, s.clauses[1].location.column),
        (8, 20)
    );
    assert_eq!(s.timeout, Some(Duration::from_secs(180)));
    assert_eq!(
        s.values.as_ref().map(|v| v.to_json()),
        Some(serde_json::json!({"image": "nginx"}))
    );
    assert_eq!(s.mocks.len(), 2);
    assert_eq!(s.mocks[0].kind, MockKind::Otlp);
    assert_eq!(s.mocks[1].name, "hook");
    assert_eq!(
        s.mocks[1].config.get("hmacKey").and_then(Node::as_str),
        Some("secret")
    );
    assert!(s.mocks[1].config.get("name").is_none());
    let ops = &s.steps[0].try_;
    let Operation::Consistently(c) = &ops[1].operation else {
        panic!("not consistently")
    };
    assert_eq!(c.duration, Duration::from_secs(10));
    assert_eq!(ops[1].operation.timeout_class(), TimeoutClass::Assert);
    let Operation::Assert(a) = &ops[2].operation else {
        panic!("not assert")
    };
    assert_eq!(a.mock.as_deref(), Some("collector"));
    assert_eq!(a.timeout, Some(Duration::from_secs(45)));
    let Operation::Patch(p) = &ops[3].operation else {
        panic!("not patch")
    };
    assert_eq!(p.subresource.as_deref(), Some("status"));
    let Operation::Wait(w) = &ops[4].operation else {
        panic!("not wait")
    };
    assert_eq!(w.for_, WaitFor::Creation);
    assert_eq!(all[1].name, "second");
    assert_eq!(all[1].location.line, 59);
}

#[rstest]
#[case("  skip: 3\n", 6, 9)]
#[case("  clauses: [[x]]\n", 6, 13)]
#[case("  timeout: forever\n", 6, 12)]
#[case(
    "  mocks:\n  - name: a\n    type: otlp\n  - name: a\n    type: webhook\n",
    9,
    5
)]
#[case("  deletionPropagationPolicy: All\n", 6, 30)]
#[case("  bindings:\n  - name: namespace\n    value: x\n", 7, 11)]
#[case("  bindings:\n  - name: (a.)\n    value: x\n", 7, 11)]
fn spec_level_errors(#[case] extra: &str, #[case] line: u32, #[case] column: u32) {
    let text = format!(
        "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: x\nspec:\n{extra}  steps:\n  - try:\n    - sleep:\n        duration: 1s\n"
    );
    let errors = parse_str(Path::new("s.yaml"), &text).unwrap_err();
    assert!(
        errors.iter().any(|e| e.line == line && e.column == column),
        "{extra}: {errors:?}"
    );
}

#[test]
fn never_panics_on_arbitrary_prefixes() {
    for cut in (0..KANON.len()).step_by(5) {
        if KANON.is_char_boundary(cut) {
            let _ = parse_str(Path::new("cut.yaml"), &KANON[..cut]);
        }
    }
}

#[test]
fn unreadable_paths_are_errors_not_panics() {
    let missing = fixtures().join("no-such-dir/scenario.yaml");
    let errors = load(&missing).unwrap_err();
    assert_eq!((errors[0].line, errors[0].column), (0, 0));
    assert!(errors[0].message.contains("cannot read"), "{}", errors[0]);
}

#[test]
fn quoted_expression_errors_point_inside_the_quotes() {
    let text = "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: q\nspec:\n  steps:\n  - try:\n    - assert:\n        resource:\n          a: \"(b ==)\"\n";
    let errors = parse_str(Path::new("q.yaml"), text).unwrap_err();
    // `"(b ==)"` starts at column 14; the text at 15; the error (end of input) at 15 + 1 + 4.
    assert_eq!((errors[0].line, errors[0].column), (10, 20), "{errors:?}");
}

#[test]
fn globs_work_under_folders_with_metacharacters() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("odd[1]");
    std::fs::create_dir_all(dir.join("res")).unwrap();
    std::fs::write(
        dir.join("res/a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("scenario.yaml"),
        "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: odd\nspec:\n  steps:\n  - try:\n    - apply:\n        file: res/*.yaml\n",
    )
    .unwrap();
    let scenarios = load(tmp.path()).unwrap();
    let Operation::Apply(apply) = &scenarios[0].steps[0].try_[0].operation else {
        panic!("not apply")
    };
    assert_eq!(apply.resources.len(), 1);
}

#[test]
fn operations_iterates_every_block() {
    let s = chainsaw("try-catch-finally");
    let blocks: Vec<_> = s
        .operations()
        .map(|(b, o)| (b, o.operation.name()))
        .collect();
    assert_eq!(blocks.len(), 10);
    assert_eq!(blocks[0], (Block::Try, "apply"));
    assert_eq!(blocks[9], (Block::ScenarioCatch, "events"));
    let b = chainsaw("bindings-outputs");
    let (_, apply) = b.operations().next().unwrap();
    assert_eq!(apply.operation.outputs().len(), 1);
    assert!(apply.operation.bindings().is_empty());
}

/// A scenario whose only step runs `op` (indented under `try:`), with `extra` spec lines.
fn disrupting(extra: &str, op: &str) -> String {
    format!(
        "apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata: {{name: d}}
spec:
{extra}  steps:
  - try:
    - disrupt:
{op}"
    )
}

#[test]
fn disruptions_load_with_their_targets() {
    let text = disrupting(
        "  concurrent: false\n",
        "        operatorApi:\n          failWrites: {status: [409, 500], ratio: 0.5}\n          for: 20s\n    - disrupt: {operatorApi: {outage: 8s}}\n    - disrupt: {apiServer: {restart: {}}, timeout: 90s}\n",
    );
    let s = &parse_str(Path::new("d.yaml"), &text).unwrap()[0];
    let ops: Vec<&Disruption> = s.steps[0]
        .try_
        .iter()
        .map(|o| match &o.operation {
            Operation::Disrupt(d) => &d.disruption,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ops,
        [
            &Disruption::FailWrites {
                resources: vec![],
                statuses: vec![409, 500],
                ratio: 0.5,
                duration: Duration::from_secs(20)
            },
            &Disruption::Outage {
                duration: Duration::from_secs(8)
            },
            &Disruption::RestartApiServer,
        ]
    );
    assert_eq!(
        s.disrupt_targets(),
        [DisruptTarget::OperatorApi, DisruptTarget::ApiServer]
    );
    assert_eq!(
        s.steps[0].try_[2].operation.timeout(),
        Some(Duration::from_secs(90))
    );
    assert_eq!(
        s.steps[0].try_[1].operation.timeout(),
        None,
        "the step's exec timeout applies"
    );
    // One status code alone, and the default ratio.
    let text = disrupting(
        "  concurrent: false\n",
        "        operatorApi: {failWrites: {status: 409}, for: 1s}\n",
    );
    let s = &parse_str(Path::new("d.yaml"), &text).unwrap()[0];
    assert!(matches!(
        &s.steps[0].try_[0].operation,
        Operation::Disrupt(DisruptOp { disruption: Disruption::FailWrites { statuses, ratio, .. }, .. })
            if statuses == &[409] && *ratio == 1.0
    ));
    let text = disrupting(
        "  concurrent: false\n",
        "        operatorApi: {failWrites: {status: 500, resources: [mcpwebhookconfigs]}, for: 1s}\n",
    );
    let s = &parse_str(Path::new("d.yaml"), &text).unwrap()[0];
    assert!(matches!(
        &s.steps[0].try_[0].operation,
        Operation::Disrupt(DisruptOp { disruption: Disruption::FailWrites { resources, .. }, .. })
            if resources == &["mcpwebhookconfigs"]
    ));
    // Reads of named objects.
    let text = disrupting(
        "  concurrent: false\n",
        "        operatorApi: {failReads: {resources: [mcptelemetryconfigs], status: [500, 503]}, for: 5s}\n",
    );
    let s = &parse_str(Path::new("d.yaml"), &text).unwrap()[0];
    assert_eq!(
        match &s.steps[0].try_[0].operation {
            Operation::Disrupt(d) => &d.disruption,
            other => panic!("{other:?}"),
        },
        &Disruption::FailReads {
            resources: vec!["mcptelemetryconfigs".into()],
            statuses: vec![500, 503],
            duration: Duration::from_secs(5)
        }
    );
}

#[rstest]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failWrites: {status: 418}, for: 5s}\n",
    9,
    44,
    "unsupported `status`"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failWrites: {status: 409, ratio: 1.5}, for: 5s}\n",
    9,
    56,
    "`ratio` is a share"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failWrites: {status: 409}}\n",
    9,
    22,
    "needs `for`"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {outage: 10m}\n",
    9,
    31,
    "at most 300s"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {outage: 5s, for: 5s}\n",
    9,
    40,
    "drop `for`"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failReads: {resources: [secrets], status: 500}}\n",
    9,
    22,
    "`failReads` needs `for`"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failReads: {resources: [], status: 500}, for: 5s}\n",
    9,
    46,
    "`resources` lists"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failWrites: {status: 500, resources: []}, for: 5s}\n",
    9,
    60,
    "`resources` lists"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {failWrites: {status: 409}, failReads: {resources: [a], status: 500}, for: 5s}\n",
    9,
    22,
    "exactly one of `failWrites`"
)]
#[case(
    "  concurrent: false\n",
    "        operatorApi: {}\n",
    9,
    22,
    "exactly one of `failWrites`"
)]
#[case(
    "  concurrent: false\n",
    "        apiServer: {restart: {}}\n        operatorApi: {outage: 1s}\n",
    9,
    9,
    "exactly one of `operatorApi` and `apiServer`"
)]
#[case(
    "  concurrent: false\n",
    "        apiServer: {restart: {now: true}}\n",
    9,
    30,
    "takes no options"
)]
#[case(
    "",
    "        apiServer: {restart: {}}\n",
    7,
    7,
    "add `concurrent: false`"
)]
#[case(
    "  concurrent: true\n",
    "        apiServer: {restart: {}}\n",
    5,
    15,
    "set `concurrent: false`"
)]
fn disruption_errors_are_positioned(
    #[case] extra: &str,
    #[case] op: &str,
    #[case] line: u32,
    #[case] column: u32,
    #[case] message: &str,
) {
    let text = disrupting(extra, op);
    let errors = parse_str(Path::new("d.yaml"), &text).unwrap_err();
    let e = errors
        .iter()
        .find(|e| e.message.contains(message))
        .unwrap_or_else(|| panic!("no {message:?} in {errors:?}"));
    assert_eq!((e.line, e.column), (line, column), "{e}");
}

#[test]
fn disrupt_belongs_in_try() {
    let text = "apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata: {name: d}
spec:
  concurrent: false
  steps:
  - try:
    - sleep: {duration: 1s}
    finally:
    - disrupt: {operatorApi: {outage: 1s}}
";
    let errors = parse_str(Path::new("d.yaml"), text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .message
            .contains("belongs in `try`, not in `finally`")
    );
    assert_eq!((errors[0].line, errors[0].column), (10, 7));
}

#[rstest]
#[case(Some("op"), Some("step"), Some("test"), Some("op"))]
#[case(None, Some("step"), Some("test"), Some("step"))]
#[case(None, None, Some("test"), Some("test"))]
#[case(Some("op"), None, None, Some("op"))]
#[case(None, None, None, None)]
fn the_innermost_cluster_wins(
    #[case] op: Option<&str>,
    #[case] step: Option<&str>,
    #[case] scenario: Option<&str>,
    #[case] want: Option<&str>,
) {
    assert_eq!(selected_cluster(op, step, scenario), want);
}

#[test]
fn clusters_resolve_kubeconfigs_and_empty_names_mean_the_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.kubeconfig"), "apiVersion: v1\n").unwrap();
    let file = dir.path().join("test.yaml");
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: multi}
spec:
  clusters:
    other:
      kubeconfig: other.kubeconfig
      context: ctx
    third:
      kubeconfig: ./other.kubeconfig
  cluster: other
  steps:
  - cluster: third
    try:
    - apply:
        cluster: ""
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
    - apply:
        cluster: other
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
"#;
    let s = parse_str(&file, text).unwrap().remove(0);
    assert_eq!(s.clusters.len(), 2);
    assert_eq!(s.clusters[0].name, "other");
    assert_eq!(
        s.clusters[0].kubeconfig,
        dir.path().join("other.kubeconfig")
    );
    assert_eq!(s.clusters[0].context.as_deref(), Some("ctx"));
    assert_eq!(s.clusters[1].context, None);
    assert_eq!(s.cluster.as_deref(), Some("other"));
    let step = &s.steps[0];
    let picked: Vec<Option<&str>> = step
        .try_
        .iter()
        .map(|o| {
            selected_cluster(
                o.operation.cluster(),
                step.cluster.as_deref(),
                s.cluster.as_deref(),
            )
        })
        .collect();
    assert_eq!(picked, vec![Some("third"), Some("other")]);
}

#[test]
fn cluster_names_are_checked_against_clusters() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k"), "apiVersion: v1\n").unwrap();
    let file = dir.path().join("test.yaml");
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: multi}
spec:
  clusters:
    other: {kubeconfig: k}
  steps:
  - cluster: nope
    try:
    - sleep: {duration: 1s}
"#;
    let errors = parse_str(&file, text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0].to_string();
    assert!(
        e.contains(":8:") && e.contains("unknown cluster \"nope\""),
        "{e}"
    );
    assert!(e.contains("declared: other"), "{e}");
}

#[test]
fn chainsaw_kubeconfigs_are_read_when_used_and_cluster_names_may_be_expressions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("test.yaml");
    let body = "  clusters:\n    later: {kubeconfig: made-by-a-step}\n  steps:\n  - try:\n    - script:\n        content: \"true\"\n        cluster: ($which)\n";
    let chainsaw = format!(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {{name: t}}\nspec:\n{body}"
    );
    let s = parse_str(&file, &chainsaw).unwrap();
    assert_eq!(s[0].clusters[0].name, "later");
    let kanon = format!(
        "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: t}}\nspec:\n{body}"
    );
    let errors = parse_str(&file, &kanon).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("kubeconfig not found"),
        "{errors:?}"
    );
    let bad = chainsaw
        .replace("($which)", "($which")
        .replace("cluster: ($which", "cluster: ($which ==)");
    assert!(
        parse_str(&file, &bad).is_err(),
        "an unparsable cluster expression is an error"
    );
}

#[test]
fn step_and_operation_clusters_scope_inward_and_hide_outer_ones() {
    let dir = tempfile::tempdir().unwrap();
    for k in ["a.kubeconfig", "b.kubeconfig", "c.kubeconfig"] {
        std::fs::write(dir.path().join(k), "apiVersion: v1\n").unwrap();
    }
    let file = dir.path().join("test.yaml");
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: scoped}
spec:
  clusters:
    shared: {kubeconfig: a.kubeconfig}
  steps:
  - clusters:
      shared: {kubeconfig: b.kubeconfig}
      mine: {kubeconfig: b.kubeconfig, context: x}
    cluster: mine
    try:
    - apply:
        clusters:
          shared: {kubeconfig: c.kubeconfig}
        cluster: shared
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
    - assert:
        cluster: shared
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - try:
    - script:
        cluster: shared
        content: "true"
"#;
    let s = parse_str(&file, text).unwrap().remove(0);
    let step = &s.steps[0];
    assert_eq!(step.cluster.as_deref(), Some("mine"));
    assert_eq!(step.clusters.len(), 2);
    let resolve = |step: &Step, op: &StepOperation| {
        let name = selected_cluster(
            op.operation.cluster(),
            step.cluster.as_deref(),
            s.cluster.as_deref(),
        )
        .unwrap();
        find_cluster(name, &op.clusters, &step.clusters, &s.clusters)
            .unwrap()
            .kubeconfig
            .clone()
    };
    // The operation's own entry, then the step's, then the scenario's.
    assert_eq!(
        resolve(step, &step.try_[0]),
        dir.path().join("c.kubeconfig")
    );
    assert_eq!(
        resolve(step, &step.try_[1]),
        dir.path().join("b.kubeconfig")
    );
    assert_eq!(
        resolve(&s.steps[1], &s.steps[1].try_[0]),
        dir.path().join("a.kubeconfig")
    );
}

#[test]
fn a_cluster_declared_on_a_step_or_operation_is_not_visible_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k"), "apiVersion: v1\n").unwrap();
    let file = dir.path().join("test.yaml");
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: scoped}
spec:
  steps:
  - clusters:
      mine: {kubeconfig: k}
    try:
    - script:
        clusters:
          own: {kubeconfig: k}
        cluster: own
        content: "true"
    - script:
        cluster: own
        content: "true"
  - cluster: mine
    try:
    - sleep: {duration: 1s}
"#;
    let errors: Vec<String> = parse_str(&file, text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains(":15:") && errors[0].contains("\"own\""),
        "{errors:?}"
    );
    assert!(
        errors[1].contains(":17:") && errors[1].contains("\"mine\""),
        "{errors:?}"
    );
}

#[test]
fn proxy_operations_load_with_chainsaw_fields() {
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: proxy}
spec:
  steps:
  - try:
    - proxy:
        apiVersion: v1
        kind: Service
        namespace: default
        name: kubernetes
        port: https
        path: /version
        timeout: 10s
        outputs:
        - name: body
          value: ($stdout)
    - proxy:
        apiVersion: v1
        kind: Pod
        name: ($pod)
        port: 8080
"#;
    let s = parse_str(Path::new("p.yaml"), text).unwrap().remove(0);
    let Operation::Proxy(p) = &s.steps[0].try_[0].operation else {
        panic!("not a proxy")
    };
    assert_eq!(
        (p.kind.as_str(), p.name.as_str()),
        ("Service", "kubernetes")
    );
    assert_eq!(p.namespace.as_deref(), Some("default"));
    assert_eq!(p.port.as_deref(), Some("https"));
    assert_eq!(p.path.as_deref(), Some("/version"));
    assert_eq!(p.timeout, Some(Duration::from_secs(10)));
    assert_eq!(s.steps[0].try_[0].operation.outputs().len(), 1);
    assert_eq!(
        s.steps[0].try_[0].operation.timeout_class(),
        TimeoutClass::Exec
    );
    let Operation::Proxy(p) = &s.steps[0].try_[1].operation else {
        panic!("not a proxy")
    };
    assert_eq!(p.port.as_deref(), Some("8080"));
    assert_eq!(p.name, "($pod)");
}

#[rstest]
#[case("catch", "`proxy` belongs in `try`, not in `catch`")]
#[case("finally", "`proxy` belongs in `try`, not in `finally`")]
#[case("cleanup", "`proxy` belongs in `try`, not in `cleanup`")]
fn proxy_is_only_for_try(#[case] block: &str, #[case] message: &str) {
    let text = format!(
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {{name: proxy}}
spec:
  steps:
  - try:
    - sleep: {{duration: 1s}}
    {block}:
    - proxy: {{apiVersion: v1, kind: Service, name: web}}
"#
    );
    let errors = parse_str(Path::new("p.yaml"), &text).unwrap_err();
    assert!(
        errors[0].to_string().starts_with("p.yaml:9:7: ") && errors[0].message.contains(message),
        "{errors:?}"
    );
}

#[rstest]
#[case("port: 0", "must be a port name")]
#[case("port: [1]", "must be a port name")]
#[case("port: (length(a[?]))", "invalid expression")]
#[case("name: (length(a[?]))", "invalid expression")]
#[case("portt: 80", "unknown field `portt`")]
fn bad_proxy_fields_are_positioned_errors(#[case] field: &str, #[case] message: &str) {
    let text = format!(
        r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {{name: proxy}}
spec:
  steps:
  - try:
    - proxy:
        apiVersion: v1
        kind: Service
        name: web
        {field}
"#
    )
    .replace("name: web\n        name:", "name:");
    let errors = parse_str(Path::new("p.yaml"), &text).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.line >= 10 && e.message.contains(message)),
        "{errors:?}"
    );
}

#[test]
fn steps_can_be_skipped() {
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: skip}
spec:
  steps:
  - name: off
    skip: true
    try:
    - sleep: {duration: 1s}
  - name: on
    skip: false
    try:
    - sleep: {duration: 1s}
  - try:
    - sleep: {duration: 1s}
"#;
    let s = parse_str(Path::new("s.yaml"), text).unwrap().remove(0);
    let skips: Vec<bool> = s.steps.iter().map(|s| s.skip).collect();
    assert_eq!(skips, [true, false, false]);
    let errors = parse_str(
        Path::new("s.yaml"),
        &text.replace("skip: true", "skip: maybe"),
    )
    .unwrap_err();
    assert!(
        errors[0].to_string().starts_with("s.yaml:7:11: "),
        "{errors:?}"
    );
}

#[test]
fn expression_fields_of_collectors_are_compiled_at_load() {
    let text = r#"apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: exprs}
spec:
  steps:
  - try:
    - wait:
        apiVersion: v1
        kind: ConfigMap
        name: ($name)
        namespace: ($namespace)
        for:
          condition:
            name: (concat('Rea', 'dy'))
            value: ($v)
    catch:
    - podLogs:
        selector: (concat('app=', $app))
        container: ($c)
    - events:
        name: (length(x[?]))
"#;
    let errors = parse_str(Path::new("e.yaml"), text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().starts_with("e.yaml:21:15: ")
            && errors[0].message.contains("invalid expression"),
        "{errors:?}"
    );
    let ok = text.replace("(length(x[?]))", "($n)");
    let s = parse_str(Path::new("e.yaml"), &ok).unwrap().remove(0);
    let Operation::Wait(w) = &s.steps[0].try_[0].operation else {
        panic!("not a wait")
    };
    assert_eq!(w.object.name.as_deref(), Some("($name)"));
}

#[test]
fn a_chainsaw_configuration_passed_as_a_test_says_what_it_is() {
    let text = "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nmetadata: {name: c}\nspec:\n  discovery: {fullName: true}\n";
    let errors = parse_str(Path::new("config.yaml"), text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0].to_string();
    assert!(
        e.starts_with("config.yaml")
            && e.contains("Chainsaw Configuration, not a test")
            && e.contains("--config"),
        "{e}"
    );
}
