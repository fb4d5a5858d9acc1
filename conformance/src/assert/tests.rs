use super::*;
use crate::scenario::Node;
use rstest::rstest;
use serde_json::json;

fn tree(yaml: &str) -> Tree {
    let node: Node = serde_saphyr::from_str(yaml).unwrap();
    Tree::from_node(&node).unwrap()
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns-1", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.27", "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "value": "2"}
                ]},
                {"name": "sidecar", "image": "busybox"}
            ]}}
        },
        "status": {"readyReplicas": 2, "ratio": 1.0}
    })
}

fn scope() -> Bindings {
    Bindings::new()
        .with("namespace", json!("ns-1"))
        .with("values", json!({"replicas": 2}))
}

#[rstest]
#[case::partial_map("metadata:\n  name: web\n")]
#[case::presence("metadata:\n  labels: {}\n")]
#[case::number_int_vs_float("status:\n  ratio: 1\n")]
#[case::binding_value("metadata:\n  namespace: ($namespace)\n")]
#[case::projection_key("spec:\n  (replicas > `1`): true\n")]
#[case::expression_value("spec:\n  replicas: ($values.replicas)\n")]
#[case::length_projection("spec:\n  template:\n    spec:\n      (length(containers)): 2\n")]
#[case::full_array(
    "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n      - name: sidecar\n"
)]
#[case::foreach(
    "spec:\n  template:\n    spec:\n      ~.(containers):\n        (image != null): true\n"
)]
#[case::foreach_plain_key(
    "spec:\n  template:\n    spec:\n      ~.containers:\n        name: (@)\n"
)]
#[case::foreach_index(
    "spec:\n  template:\n    spec:\n      ~i.(containers):\n        ($i < `2`): true\n"
)]
#[case::filter(
    "spec:\n  template:\n    spec:\n      (containers[?name == 'app']):\n      - image: nginx:1.27\n"
)]
#[case::binding_key("metadata:\n  (name)->n:\n    (@ == $n): true\n")]
#[case::function("metadata:\n  (to_upper(name)): WEB\n")]
#[case::at_root("(kind): Deployment\n")]
#[case::null_expected_null("spec:\n  (paused): null\n")]
#[case::binding_seen_by_later_siblings(
    "spec:\n  template:\n    spec:\n      (containers[0].name)->first: app\n      (containers[?name == $first]):\n      - image: nginx:1.27\n"
)]
fn matches(#[case] yaml: &str) {
    let t = tree(yaml);
    if let Err(m) = check(&t, &deployment(), &scope()) {
        panic!("{yaml}\n{m}\n{}", m.diff);
    }
}

#[rstest]
#[case::wrong_scalar("spec:\n  replicas: 3\n", "spec.replicas", "expected 3, got 2")]
#[case::missing_field(
    "metadata:\n  labels:\n    tier: db\n",
    "metadata.labels.tier",
    "field not found"
)]
#[case::string_vs_number(
    "spec:\n  replicas: \"2\"\n",
    "spec.replicas",
    "expected \"2\", got 2 (number)"
)]
#[case::presence_of_null("spec:\n  paused: {}\n", "spec.paused", "field not found")]
#[case::under_null(
    "status:\n  (conditions):\n    x: 1\n",
    "status.conditions.x",
    "field not found"
)]
#[case::array_length(
    "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n",
    "spec.template.spec.containers",
    "expected 1 element(s), got 2"
)]
#[case::nested_path(
    "spec:\n  template:\n    spec:\n      containers:\n      - env:\n        - {}\n        - name: C\n      - {}\n",
    "spec.template.spec.containers[0].env[1].name",
    "expected \"C\", got \"B\""
)]
#[case::foreach_element(
    "spec:\n  template:\n    spec:\n      ~.(containers):\n        image: nginx:1.27\n",
    "spec.template.spec.containers[1].image",
    "got \"busybox\""
)]
#[case::projection(
    "spec:\n  (replicas > `5`): true\n",
    "spec.(replicas > `5`)",
    "expected true, got false"
)]
#[case::expression_value(
    "metadata:\n  name: (to_upper('x'))\n",
    "metadata.name",
    "expected \"X\" (from (to_upper('x'))), got \"web\""
)]
#[case::undefined_binding("metadata:\n  name: ($nope)\n", "metadata.name", "$nope")]
#[case::not_an_object(
    "metadata:\n  name:\n    first: w\n",
    "metadata.name.first",
    "not an object"
)]
#[case::iterate_scalar("~.(metadata.name):\n  a: 1\n", "metadata.name", "cannot iterate")]
fn mismatches(#[case] yaml: &str, #[case] path: &str, #[case] message: &str) {
    let t = tree(yaml);
    let m = check(&t, &deployment(), &scope()).unwrap_err();
    assert!(
        m.errors
            .iter()
            .any(|e| e.path == path && e.message.contains(message)),
        "{yaml}\nwanted {path}: {message}\ngot:\n{m}"
    );
    assert!(m.diff.contains("--- expected"), "{}", m.diff);
}

#[test]
fn reports_every_failing_field() {
    let t = tree("metadata:\n  name: x\n  namespace: y\nspec:\n  replicas: 9\n");
    let m = check(&t, &deployment(), &scope()).unwrap_err();
    assert_eq!(m.errors.len(), 3, "{m}");
}

#[test]
fn exports_arrow_bindings() {
    let t = tree("metadata:\n  (name)->deployName: web\nspec:\n  replicas->r: 2\n");
    let outcome = check(&t, &deployment(), &scope()).unwrap();
    assert_eq!(
        outcome.bindings,
        vec![
            ("deployName".to_string(), json!("web")),
            ("r".to_string(), json!(2))
        ]
    );
    let b = outcome.bind(&Bindings::new());
    assert_eq!(b.get("r"), Some(&json!(2)));
}

#[test]
fn escaped_keys_are_literal() {
    let t = tree("data:\n  \\(weird)\\: ok\n");
    let actual = json!({"data": {"(weird)": "ok"}});
    check(&t, &actual, &Bindings::new()).unwrap();
    let t = tree("data:\n  key: \\(literal)\\\n");
    check(&t, &json!({"data": {"key": "(literal)"}}), &Bindings::new()).unwrap();
}

#[test]
fn diff_is_pruned_to_asserted_fields() {
    let t = tree("metadata:\n  name: web\nspec:\n  replicas: 3\n");
    let m = check(&t, &deployment(), &scope()).unwrap_err();
    assert!(m.diff.contains("-  replicas: 3"), "{}", m.diff);
    assert!(m.diff.contains("+  replicas: 2"), "{}", m.diff);
    assert!(!m.diff.contains("containers"), "{}", m.diff);
    assert!(!m.diff.contains("apiVersion"), "{}", m.diff);
}

#[test]
fn diff_hides_expressions_that_hold() {
    let t = tree("metadata:\n  namespace: ($namespace)\nspec:\n  replicas: 3\n");
    let m = check(&t, &deployment(), &scope()).unwrap_err();
    assert!(!m.diff.contains("$namespace"), "{}", m.diff);
    assert!(!m.diff.contains("-  namespace"), "{}", m.diff);
}

#[test]
fn diff_of_foreach_shows_each_element() {
    let t =
        tree("spec:\n  template:\n    spec:\n      ~.(containers):\n        image: nginx:1.27\n");
    let m = check(&t, &deployment(), &scope()).unwrap_err();
    assert!(m.diff.contains("+      - image: busybox"), "{}", m.diff);
}

#[test]
fn find_match_picks_first_match_or_reports_closest() {
    let a = json!({"metadata": {"name": "a"}, "spec": {"x": 1, "y": 1}});
    let b = json!({"metadata": {"name": "b"}, "spec": {"x": 2, "y": 2}});
    let c = json!({"metadata": {"name": "c"}, "spec": {"x": 2, "y": 1}});
    let t = tree("spec:\n  x: 2\n  y: 2\n");
    let (i, _) = find_match(&t, &[a.clone(), b.clone()], &Bindings::new()).unwrap();
    assert_eq!(i, 1);
    let t = tree("spec:\n  x: 3\n  y: 1\n");
    let err = find_match(&t, &[b, c, a], &Bindings::new()).unwrap_err();
    assert_eq!(err.candidates, 3);
    let (idx, m) = err.closest.unwrap();
    assert_eq!(idx, 1);
    assert_eq!(m.errors.len(), 1);
    let none = find_match(&t, &[], &Bindings::new()).unwrap_err();
    assert!(none.closest.is_none());
    assert!(none.to_string().contains("0 candidates"));
}

#[test]
fn template_renders_expressions() {
    let t = tree(
        "metadata:\n  name: (concat('cm-', $namespace))\n  namespace: ($namespace)\ndata:\n  literal: \\(x)\\\n  n: 1\n",
    );
    let v = template(&t, &scope()).unwrap();
    assert_eq!(
        v,
        json!({"metadata": {"name": "cm-ns-1", "namespace": "ns-1"}, "data": {"literal": "(x)", "n": 1}})
    );
    let t = tree("metadata:\n  name: ($missing)\n");
    let err = template(&t, &scope()).unwrap_err();
    assert_eq!(err.path, "metadata.name");
}

#[rstest]
#[case("a:\n  (b.): 1\n", 2, 6)]
#[case("a:\n  b: (c[?)\n", 2, 10)]
#[case("x:\n  ~.(foo bar): 1\n", 2, 10)]
fn compile_errors_are_positioned(#[case] yaml: &str, #[case] line: u32, #[case] column: u32) {
    let node: Node = serde_saphyr::from_str(yaml).unwrap();
    let errs = Tree::from_node(&node).unwrap_err();
    assert_eq!((errs[0].line, errs[0].column), (line, column), "{errs:?}");
}

#[rstest]
#[case(json!(1), json!(1.0), true)]
#[case(json!(1), json!("1"), false)]
#[case(json!(true), json!("true"), false)]
#[case(json!(null), json!(null), true)]
#[case(json!(null), json!(0), false)]
#[case(json!("a"), json!("a"), true)]
#[case(json!(u64::MAX), json!(u64::MAX), true)]
fn scalar_semantics(#[case] e: Value, #[case] a: Value, #[case] eq: bool) {
    assert_eq!(scalars_equal(&e, &a), eq);
}

#[test]
fn template_with_uses_the_current_value() {
    let t = tree("name: (metadata.name)\nns: ($namespace)\n");
    let v = template_with(&t, &deployment(), &scope()).unwrap();
    assert_eq!(v, json!({"name": "web", "ns": "ns-1"}));
}

#[test]
fn presence_rejects_null() {
    let t = tree("spec:\n  paused: {}\n");
    let m = check(&t, &json!({"spec": {"paused": null}}), &Bindings::new()).unwrap_err();
    assert!(m.errors[0].message.contains("got null"), "{m}");
}

#[test]
fn field_errors_point_at_the_failing_key() {
    let t = tree(
        "metadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nope\n      - {}\n",
    );
    let m = check(&t, &deployment(), &scope()).unwrap_err();
    assert_eq!(m.errors.len(), 1, "{m}");
    assert_eq!((m.errors[0].line, m.errors[0].column), (8, 9));
    let from_json = Tree::from_json(&json!({"spec": {"replicas": 9}})).unwrap();
    let m = check(&from_json, &deployment(), &scope()).unwrap_err();
    assert_eq!((m.errors[0].line, m.errors[0].column), (0, 0));
}
