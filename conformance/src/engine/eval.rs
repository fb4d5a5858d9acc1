//! Evaluating the model's templates: bindings, resources, outputs and checks.

use serde_json::Value;

use crate::assert::{self, Tree};
use crate::expr::{Bindings, Compiler};
use crate::report::model::Failure;
use crate::scenario::{Binding, Manifest, Node, Output};

/// A failure with no diff.
pub fn failure(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        ..Default::default()
    }
}

/// Compiles a positioned node into an assertion tree (already validated at load time).
pub fn tree(node: &Node) -> Result<Tree, Failure> {
    tree_with(node, Compiler::Jp)
}

/// [`tree`] for a node whose unprefixed `(expr)`s are written with `compiler`.
pub fn tree_with(node: &Node, compiler: Compiler) -> Result<Tree, Failure> {
    Tree::from_node_with(node, compiler).map_err(|errs| {
        failure(
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// The value of a template node, its `(expr)` parts evaluated with `data` as `@` (an
/// empty object when there is none, so multiselects such as `[$a, 'b']` work).
pub fn value_of(node: &Node, data: &Value, bindings: &Bindings) -> Result<Value, Failure> {
    value_with(node, Compiler::Jp, data, bindings)
}

/// [`value_of`] for a node whose unprefixed `(expr)`s are written with `compiler`.
pub fn value_with(
    node: &Node,
    compiler: Compiler,
    data: &Value,
    bindings: &Bindings,
) -> Result<Value, Failure> {
    let empty = Value::Object(Default::default());
    let data = if data.is_null() { &empty } else { data };
    assert::template_with(&tree_with(node, compiler)?, data, bindings)
        .map_err(|e| failure(e.to_string()))
}

/// The name of a binding, output or env entry: the text itself, or, for `(expr)`, the
/// string the expression gives (Chainsaw resolves names like values). `what` names the
/// entry in errors; a binding or output name must then be a word (`^\w+$`).
pub fn name_of(
    name: &str,
    compiler: Compiler,
    bindings: &Bindings,
    what: &str,
) -> Result<String, Failure> {
    if !assert::syntax::is_expression(name) {
        return Ok(name.to_string());
    }
    let inner = &name[1..name.len() - 1];
    // An empty object as `@`, as for values, so multiselects such as `[$a, 'b']` work.
    let data = Value::Object(Default::default());
    let resolved = match crate::expr::eval_prefixed(inner, compiler, &data, bindings) {
        Ok(Value::String(s)) => s,
        Ok(other) => {
            return Err(failure(format!(
                "{what} name {name} gives {other}, not a string"
            )));
        }
        Err(e) => return Err(failure(format!("{what} name {name}: {e}"))),
    };
    if (what == "binding" || what == "output") && !crate::scenario::is_binding_name(&resolved) {
        return Err(failure(format!(
            "{what} name {name} gives {resolved:?}: use letters, digits and underscores only"
        )));
    }
    Ok(resolved)
}

/// Adds `bindings` to `scope` in order (each may use the ones before it).
pub fn bind_all(list: &[Binding], scope: &Bindings) -> Result<Bindings, Failure> {
    let mut out = scope.clone();
    for b in list {
        let located =
            |f: Failure| failure(format!("{}: binding {}: {}", b.location, b.name, f.message));
        let name = name_of(&b.name, b.compiler, &out, "binding").map_err(located)?;
        let v = value_with(&b.value, b.compiler, &Value::Null, &out).map_err(located)?;
        out = out.with(name, v);
    }
    Ok(out)
}

/// The resource a manifest describes, templated (unprefixed `(expr)`s in `compiler`)
/// unless `template` is false.
pub fn render(
    m: &Manifest,
    bindings: &Bindings,
    template: bool,
    compiler: Compiler,
) -> Result<Value, Failure> {
    if !template {
        return Ok(m.to_json());
    }
    value_with(&m.node, compiler, &Value::Null, bindings)
        .map_err(|f| failure(format!("{}: templating: {}", m.location(), f.message)))
}

/// Adds each output (`{name, value, match?}`) to `scope`, evaluated against `outcome`.
pub fn bind_outputs(
    outputs: &[Output],
    outcome: &Value,
    scope: &Bindings,
) -> Result<Bindings, Failure> {
    let mut out = scope.clone();
    for o in outputs {
        if let Some(m) = &o.match_
            && assert::check(&tree_with(m, o.compiler)?, outcome, &out).is_err()
        {
            continue;
        }
        let located =
            |f: Failure| failure(format!("{}: output {}: {}", o.location, o.name, f.message));
        let name = name_of(&o.name, o.compiler, &out, "output").map_err(located)?;
        let v = value_with(&o.value, o.compiler, outcome, &out).map_err(located)?;
        out = out.with(name, v);
    }
    Ok(out)
}

/// Checks `actual` against the tree in `node` (unprefixed `(expr)`s in `compiler`), as a
/// report failure on mismatch.
pub fn check(
    node: &Node,
    compiler: Compiler,
    actual: &Value,
    bindings: &Bindings,
) -> Result<Bindings, Failure> {
    let t = tree_with(node, compiler)?;
    match assert::check(&t, actual, bindings) {
        Ok(outcome) => Ok(outcome.bind(bindings)),
        Err(m) => Err(mismatch_failure("check failed", &m)),
    }
}

/// A report failure from an assertion mismatch.
pub fn mismatch_failure(message: &str, m: &assert::Mismatch) -> Failure {
    Failure {
        message: message.to_string(),
        errors: m.errors.iter().map(|e| e.to_string()).collect(),
        diff: m.diff.clone(),
    }
}

/// Deep-merges `overlay` into `base` (maps merge, everything else replaces).
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scenario::Location;
    use serde_json::json;
    use std::sync::Arc;

    fn here() -> Location {
        Location {
            file: Arc::new("test.yaml".into()),
            line: 1,
            column: 1,
        }
    }

    #[rstest::rstest]
    #[case("plain", "binding", Ok("plain"))]
    #[case("(join('', [$p, 'x']))", "binding", Ok("px"))]
    #[case("(to_upper($p))", "env", Ok("P"))]
    #[case("(cel;'c' + 'd')", "output", Ok("cd"))]
    #[case(
        "(join('-', [$p, 'x']))",
        "binding",
        Err("use letters, digits and underscores only")
    )]
    #[case("(join('-', [$p, 'x']))", "env", Ok("p-x"))]
    #[case("(`1`)", "output", Err("gives 1, not a string"))]
    #[case("($missing)", "binding", Err("binding name ($missing): "))]
    #[case("(foo)", "binding", Err("gives null, not a string"))]
    fn computed_names(
        #[case] name: &str,
        #[case] what: &str,
        #[case] expected: Result<&str, &str>,
    ) {
        let scope = Bindings::new().with("p", json!("p"));
        match (name_of(name, Compiler::Jp, &scope, what), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(f), Err(want)) => assert!(f.message.contains(want), "{}", f.message),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn bindings_and_outputs_use_their_compiler() {
        let binding = |name: &str, value: Value, compiler| Binding {
            location: here(),
            name: name.to_string(),
            value: Node::from_json(&value),
            compiler,
        };
        let scope = bind_all(
            &[
                binding("a", json!("(`1`)"), Compiler::Jp),
                binding("b", json!("(bindings.resolve('a') + 1)"), Compiler::Cel),
                binding("c", json!({"x": "(jp;$b)"}), Compiler::Cel),
            ],
            &Bindings::new(),
        )
        .unwrap();
        assert_eq!(scope.get("b"), Some(&json!(2)));
        assert_eq!(scope.get("c"), Some(&json!({"x": 2})));
        let output = |name: &str, match_: Option<Value>| Output {
            location: here(),
            name: name.to_string(),
            value: Node::from_json(&json!("(object.metadata.name)")),
            match_: match_.map(|m| Node::from_json(&m)),
            compiler: Compiler::Cel,
        };
        let outcome = json!({"kind": "ConfigMap", "metadata": {"name": "cm"}});
        let scope = bind_outputs(
            &[
                output("name", None),
                output("skipped", Some(json!({"(object.kind == 'Secret')": true}))),
            ],
            &outcome,
            &Bindings::new(),
        )
        .unwrap();
        assert_eq!(scope.get("name"), Some(&json!("cm")));
        assert_eq!(scope.get("skipped"), None);
        let bad = binding("d", json!("(bindings.resolve('nope'))"), Compiler::Cel);
        let err = bind_all(&[bad], &Bindings::new()).unwrap_err();
        assert!(err.message.contains("binding d"), "{}", err.message);
        assert!(err.message.contains("$nope"), "{}", err.message);
    }

    #[test]
    fn values_merge_deeply() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(&mut base, &json!({"a": {"c": 3, "e": 4}, "d": [2, 3]}));
        assert_eq!(base, json!({"a": {"b": 1, "c": 3, "e": 4}, "d": [2, 3]}));
    }
}
