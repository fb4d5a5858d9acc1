//! Diffs of an expected tree against an actual value, pruned to the asserted fields.

use serde_json::{Map, Value};

use super::syntax::Target;
use super::tree::{TNode, Tree};
use super::values_match;
use crate::expr::Bindings;

/// Renders a value as YAML (block style), for diffs and reports.
pub fn render_yaml(value: &Value) -> String {
    match value {
        Value::Object(m) if m.is_empty() => "{}\n".to_string(),
        Value::Array(a) if a.is_empty() => "[]\n".to_string(),
        _ => serde_saphyr::to_string(value).unwrap_or_else(|_| format!("{value}\n")),
    }
}

/// A unified diff (`--- expected` / `+++ actual`) of the YAML renderings of the expected
/// tree and of `actual` pruned to the fields the tree asserts. Expression values that
/// hold show the actual value on both sides; those that fail show their computed value
/// (or the expression when it cannot be evaluated).
pub fn pruned_diff(tree: &Tree, actual: &Value, bindings: &Bindings) -> String {
    let (expected, pruned) = prune(&tree.root, Some(actual), bindings);
    let e = render_yaml(&expected);
    let a = match pruned {
        Some(p) => render_yaml(&p),
        None => String::new(),
    };
    similar::TextDiff::from_lines(&e, &a)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

/// Returns `(expected rendering, actual pruned)`; `None` for a missing actual value.
fn prune(n: &TNode, actual: Option<&Value>, b: &Bindings) -> (Value, Option<Value>) {
    match n {
        TNode::Literal(v) => (v.clone(), actual.cloned()),
        TNode::Expr(e, text) => match actual {
            Some(a) => match e.evaluate(a, b) {
                Ok(v) if values_match(&v, a) => (a.clone(), Some(a.clone())),
                Ok(v) => (v, Some(a.clone())),
                Err(_) => (Value::String(text.clone()), Some(a.clone())),
            },
            None => (Value::String(text.clone()), None),
        },
        TNode::Array(items) => {
            let actual_items = match actual {
                Some(Value::Array(a)) => a,
                other => {
                    let e = items.iter().map(|i| prune(i, None, b).0).collect();
                    return (Value::Array(e), other.cloned());
                }
            };
            let mut e_out = Vec::new();
            let mut a_out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let (e, a) = prune(item, actual_items.get(i), b);
                e_out.push(e);
                if let Some(a) = a {
                    a_out.push(a);
                }
            }
            a_out.extend(actual_items.iter().skip(items.len()).cloned());
            (Value::Array(e_out), Some(Value::Array(a_out)))
        }
        TNode::Map(entries) => {
            let mut e_out = Map::new();
            let mut a_out = Map::new();
            let actual_map = match actual {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            };
            let mut siblings = b.clone();
            for (key, child) in entries {
                let b = &siblings.clone();
                let (label, projected) = match &key.target {
                    Target::Literal(name) => (
                        if key.foreach.is_none() && key.binding.is_none() {
                            name.clone()
                        } else {
                            key.text.clone()
                        },
                        actual_map.and_then(|m| m.get(name)).cloned(),
                    ),
                    Target::Expr(e) => {
                        (key.text.clone(), actual.and_then(|a| e.evaluate(a, b).ok()))
                    }
                };
                let mut scope = b.clone();
                if let (Some(name), Some(p)) = (&key.binding, &projected) {
                    scope = scope.with(name.clone(), p.clone());
                    siblings = siblings.with(name.clone(), p.clone());
                }
                if key.foreach.is_some() {
                    let pairs: Vec<(Value, Option<Value>)> = match &projected {
                        Some(Value::Array(items)) => items
                            .iter()
                            .enumerate()
                            .map(|(i, it)| {
                                let s = match key.foreach.as_ref().and_then(|n| n.as_ref()) {
                                    Some(n) => scope.with(n.clone(), Value::from(i)),
                                    None => scope.clone(),
                                };
                                prune(child, Some(it), &s)
                            })
                            .collect(),
                        _ => vec![(prune(child, None, &scope).0, None)],
                    };
                    let (e_items, a_items): (Vec<Value>, Vec<Option<Value>>) =
                        pairs.into_iter().unzip();
                    e_out.insert(label.clone(), Value::Array(e_items));
                    match &projected {
                        Some(Value::Array(_)) => {
                            a_out.insert(
                                label,
                                Value::Array(a_items.into_iter().flatten().collect()),
                            );
                        }
                        Some(other) => {
                            a_out.insert(label, other.clone());
                        }
                        None => {}
                    }
                } else {
                    let (e, a) = prune(child, projected.as_ref(), &scope);
                    e_out.insert(label.clone(), e);
                    if let Some(a) = a {
                        a_out.insert(label, a);
                    }
                }
            }
            let actual_out = match actual {
                Some(Value::Object(_)) => Some(Value::Object(a_out)),
                Some(other)
                    if entries
                        .iter()
                        .all(|(k, _)| matches!(k.target, Target::Expr(_))) =>
                {
                    let _ = other;
                    Some(Value::Object(a_out))
                }
                other => other.cloned(),
            };
            (Value::Object(e_out), actual_out)
        }
    }
}
