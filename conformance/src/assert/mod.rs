//! Assertion trees (kyverno-json / Chainsaw semantics) over JSON values, with
//! field-path errors and pruned diffs.
//!
//! A tree is compiled once ([`Tree::from_node`] keeps YAML positions for errors,
//! [`Tree::from_json`] does not), then checked against any number of actual values
//! with [`check`], or against a list of candidate objects with [`find_match`].
//!
//! Semantics, node by node:
//! - **map**: a partial match; every key must hold, extra actual fields are ignored.
//!   A plain key must exist in the actual object (`field not found` otherwise). A
//!   `(expr)` key projects: the expression is evaluated with `@` = the current actual
//!   value, and its child is checked against the result (which may be null). An empty
//!   map `{}` only requires the field to be present and not null.
//! - **`~` keys** (`~.(spec.containers)`, `~i.(items)`, `~.containers`): the projected
//!   value must be an array (or a map) and the child is checked against every element,
//!   with `$i` bound to the index (or key). An empty array passes.
//! - **`->name` keys** (`(metadata.name)->name`, `spec->s`): bind the projected value
//!   as `$name` for the subtree and the keys that follow it in the same map (in source
//!   order); such bindings are also exported in [`Outcome`].
//! - **escaping**: `\(foo)\` is the literal key (or value) `(foo)`.
//! - **array**: the actual value must be an array of the same length, compared
//!   element-wise (use `~` or a filter projection to compare a subset).
//! - **scalar**: `(expr)` values are evaluated with `@` = the actual value and the
//!   result compared with the actual value; literals compare as Chainsaw does: numbers
//!   numerically (`1` equals `1.0`), no conversion between strings, numbers and booleans,
//!   `null` only equals `null`. (Chainsaw reports a type mismatch as an internal error
//!   that ends the operation at once; kanon reports it as an ordinary mismatch, naming
//!   both types, and keeps waiting.)
//!
//! A failure ([`Mismatch`]) lists every failing field with its path
//! (`spec.template.spec.containers[0].env[1].name`), the expected and actual values, and a
//! unified diff of the expected tree against the actual object pruned to the asserted
//! fields, rendered as YAML.
//!
//! ```
//! use kanon::assert::{check, Tree};
//! use kanon::expr::Bindings;
//! use serde_json::json;
//!
//! let tree = Tree::from_json(&json!({
//!     "metadata": {"namespace": "($namespace)"},
//!     "spec": {"~.(containers)": {"(image != null)": true}, "replicas": 3}
//! }))
//! .unwrap();
//! let actual = json!({
//!     "metadata": {"name": "web", "namespace": "ns-1"},
//!     "spec": {"containers": [{"image": "nginx"}], "replicas": 2}
//! });
//! let bindings = Bindings::new().with("namespace", json!("ns-1"));
//! let mismatch = check(&tree, &actual, &bindings).unwrap_err();
//! assert_eq!(mismatch.errors[0].to_string(), "spec.replicas: expected 3, got 2");
//! assert!(mismatch.diff.contains("-  replicas: 3\n+  replicas: 2"));
//! ```
//!
//! [`template`] renders a resource for apply/create: `(expr)` string values are replaced by
//! their value (evaluated with `@` = null) and `\escaped\` strings unescaped.
#![warn(missing_docs)]

mod diff;
pub mod syntax;
mod tree;

use std::fmt;

use serde_json::Value;

pub use diff::{pruned_diff, render_yaml};
pub use tree::{Tree, TreeError};

use crate::expr::Bindings;
use syntax::Target;
use tree::TNode;

/// A field that does not match.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// The field path, such as `spec.containers[0].image` (empty for the root).
    pub path: String,
    /// What is wrong, such as `expected 3, got 2` or `field not found`.
    pub message: String,
    /// The expected value, when there is one.
    pub expected: Option<Value>,
    /// The actual value, when there is one.
    pub actual: Option<Value>,
    /// 1-based line, in the tree's file, of the innermost key above the failing field
    /// (0 when unknown, for trees built from JSON).
    pub line: u32,
    /// 1-based column of that key (0 when unknown).
    pub column: u32,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A successful check: the `->name` bindings the tree made, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// `(name, value)` for every `->name` key (the last value wins on repeats).
    pub bindings: Vec<(String, Value)>,
}

impl Outcome {
    /// `scope` extended with this outcome's bindings.
    pub fn bind(&self, scope: &Bindings) -> Bindings {
        self.bindings
            .iter()
            .fold(scope.clone(), |b, (n, v)| b.with(n.clone(), v.clone()))
    }
}

/// A failed check: every failing field and a pruned unified diff.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct Mismatch {
    /// Every failing field.
    pub errors: Vec<FieldError>,
    /// A unified diff (`--- expected` / `+++ actual`) of the YAML renderings of the
    /// expected tree and the actual value pruned to the asserted fields.
    pub diff: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Checks `actual` against `tree` with `bindings` in scope.
pub fn check(tree: &Tree, actual: &Value, bindings: &Bindings) -> Result<Outcome, Mismatch> {
    let mut cx = Checker::default();
    cx.node(&tree.root, actual, &mut String::new(), bindings);
    if cx.errors.is_empty() {
        Ok(Outcome {
            bindings: cx.exports,
        })
    } else {
        Err(Mismatch {
            errors: cx.errors,
            diff: pruned_diff(tree, actual, bindings),
        })
    }
}

/// No candidate matched.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct NoMatch {
    /// How many candidates were checked.
    pub candidates: usize,
    /// The candidate with the fewest failing fields (its index and mismatch), if any.
    pub closest: Option<(usize, Mismatch)>,
}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.closest {
            None => write!(f, "no object to check (0 candidates)"),
            Some((_, m)) => write!(
                f,
                "none of {} candidate(s) matches; closest:\n{m}",
                self.candidates
            ),
        }
    }
}

/// Finds the first candidate matching `tree`; when none does, reports the closest one
/// (fewest failing fields). The engine calls it with the live objects of a kind.
pub fn find_match(
    tree: &Tree,
    candidates: &[Value],
    bindings: &Bindings,
) -> Result<(usize, Outcome), NoMatch> {
    let mut closest: Option<(usize, Mismatch)> = None;
    for (i, c) in candidates.iter().enumerate() {
        match check(tree, c, bindings) {
            Ok(outcome) => return Ok((i, outcome)),
            Err(m) => {
                if closest
                    .as_ref()
                    .is_none_or(|(_, best)| m.errors.len() < best.errors.len())
                {
                    closest = Some((i, m));
                }
            }
        }
    }
    Err(NoMatch {
        candidates: candidates.len(),
        closest,
    })
}

/// An error while templating a resource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TemplateError {
    /// The field path.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Renders a resource: `(expr)` string values become their value (with `@` = null and
/// `bindings`), `\escaped\` strings are unescaped, everything else is kept.
pub fn template(tree: &Tree, bindings: &Bindings) -> Result<Value, TemplateError> {
    template_with(tree, &Value::Null, bindings)
}

/// Like [`template`], with `@` = `current` in expressions: used for binding and output
/// values (`value: (metadata.name)` evaluated against an operation's outcome).
pub fn template_with(
    tree: &Tree,
    current: &Value,
    bindings: &Bindings,
) -> Result<Value, TemplateError> {
    fn go(n: &TNode, path: &mut String, cur: &Value, b: &Bindings) -> Result<Value, TemplateError> {
        Ok(match n {
            TNode::Literal(v) => v.clone(),
            TNode::Expr(e, _) => e.evaluate(cur, b).map_err(|err| TemplateError {
                path: path.clone(),
                message: err.to_string(),
            })?,
            TNode::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    out.push(go(item, path, cur, b)?);
                    path.truncate(len);
                }
                Value::Array(out)
            }
            TNode::Map(entries) => {
                let mut out = serde_json::Map::new();
                for (k, v) in entries {
                    let name = match &k.target {
                        Target::Literal(l) if k.foreach.is_none() && k.binding.is_none() => {
                            l.clone()
                        }
                        _ => k.text.clone(),
                    };
                    let len = path.len();
                    push_key(path, &name);
                    out.insert(name, go(v, path, cur, b)?);
                    path.truncate(len);
                }
                Value::Object(out)
            }
        })
    }
    go(&tree.root, &mut String::new(), current, bindings)
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// A short description of a value for messages.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `show(actual)`, with its type added when it differs from the expected value's type
/// (a string `"2"` against a number `2` looks alike otherwise).
fn show_vs(actual: &Value, expected: &Value) -> String {
    if type_name(actual) == type_name(expected) {
        show(actual)
    } else {
        format!("{} ({})", show(actual), type_name(actual))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Chainsaw's scalar comparison: numbers numerically, otherwise same type and value.
pub fn scalars_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                x == y
            } else {
                a.as_f64() == b.as_f64()
            }
        }
        (a, b) => a == b,
    }
}

/// Matches a computed value against an actual one: maps partially, arrays by length
/// and element, scalars with [`scalars_equal`].
pub fn values_match(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| values_match(ev, av))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| values_match(x, y))
        }
        (e, a) => scalars_equal(e, a),
    }
}

#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
    exports: Vec<(String, Value)>,
    /// Position of the innermost key being checked.
    pos: (u32, u32),
}

impl Checker {
    fn fail(
        &mut self,
        path: &str,
        message: String,
        expected: Option<Value>,
        actual: Option<Value>,
    ) {
        self.errors.push(FieldError {
            path: path.to_string(),
            message,
            expected,
            actual,
            line: self.pos.0,
            column: self.pos.1,
        });
    }

    fn export(&mut self, name: &str, value: &Value) {
        self.exports.retain(|(n, _)| n != name);
        self.exports.push((name.to_string(), value.clone()));
    }

    fn node(&mut self, n: &TNode, actual: &Value, path: &mut String, b: &Bindings) {
        match n {
            TNode::Literal(expected) => {
                if !values_match(expected, actual) {
                    self.fail(
                        path,
                        format!(
                            "expected {}, got {}",
                            show(expected),
                            show_vs(actual, expected)
                        ),
                        Some(expected.clone()),
                        Some(actual.clone()),
                    );
                }
            }
            TNode::Expr(e, text) => match e.evaluate(actual, b) {
                Ok(expected) => {
                    if !values_match(&expected, actual) {
                        self.fail(
                            path,
                            format!(
                                "expected {} (from {text}), got {}",
                                show(&expected),
                                show_vs(actual, &expected)
                            ),
                            Some(expected),
                            Some(actual.clone()),
                        );
                    }
                }
                Err(err) => self.fail(path, format!("cannot evaluate {text}: {err}"), None, None),
            },
            TNode::Array(items) => {
                let Value::Array(actual_items) = actual else {
                    self.fail(
                        path,
                        format!("expected an array, got {}", type_name(actual)),
                        None,
                        Some(actual.clone()),
                    );
                    return;
                };
                if items.len() != actual_items.len() {
                    self.fail(
                        path,
                        format!(
                            "expected {} element(s), got {} (use `~` or a filter to check a subset)",
                            items.len(),
                            actual_items.len()
                        ),
                        None,
                        Some(actual.clone()),
                    );
                    return;
                }
                for (i, (e, a)) in items.iter().zip(actual_items).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    self.node(e, a, path, b);
                    path.truncate(len);
                }
            }
            TNode::Map(entries) => {
                if entries.is_empty() && actual.is_null() {
                    self.fail(
                        path,
                        "expected a value to be present (`{}`), got null".to_string(),
                        None,
                        Some(Value::Null),
                    );
                }
                // A `->name` binding is visible in its subtree and in the following keys.
                let mut siblings = b.clone();
                let outer = self.pos;
                for (key, child) in entries {
                    let b = &siblings.clone();
                    let len = path.len();
                    self.pos = if key.line > 0 {
                        (key.line, key.column)
                    } else {
                        outer
                    };
                    let projected = match &key.target {
                        Target::Literal(name) => {
                            push_key(path, name);
                            match actual {
                                Value::Object(map) => match map.get(name) {
                                    Some(v) => v.clone(),
                                    None => {
                                        self.fail(path, "field not found".to_string(), None, None);
                                        path.truncate(len);
                                        continue;
                                    }
                                },
                                Value::Null => {
                                    self.fail(path, "field not found".to_string(), None, None);
                                    path.truncate(len);
                                    continue;
                                }
                                other => {
                                    self.fail(
                                        path,
                                        format!(
                                            "field not found: the parent is {}, not an object",
                                            type_name(other)
                                        ),
                                        None,
                                        None,
                                    );
                                    path.truncate(len);
                                    continue;
                                }
                            }
                        }
                        Target::Expr(e) => {
                            let src = e.source();
                            if e.compiler() == crate::expr::Compiler::Cel {
                                push_key(path, &format!("({e})"));
                            } else if src
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                            {
                                push_key(path, src);
                            } else {
                                push_key(path, &format!("({src})"));
                            }
                            match e.evaluate(actual, b) {
                                Ok(v) => v,
                                Err(err) => {
                                    self.fail(path, format!("cannot evaluate: {err}"), None, None);
                                    path.truncate(len);
                                    continue;
                                }
                            }
                        }
                    };
                    let mut scope = b.clone();
                    if let Some(name) = &key.binding {
                        scope = scope.with(name.clone(), projected.clone());
                        siblings = siblings.with(name.clone(), projected.clone());
                        self.export(name, &projected);
                    }
                    match &key.foreach {
                        None => self.node(child, &projected, path, &scope),
                        Some(index_name) => match &projected {
                            Value::Array(items) => {
                                for (i, item) in items.iter().enumerate() {
                                    let l = path.len();
                                    path.push_str(&format!("[{i}]"));
                                    let s = match index_name {
                                        Some(n) => scope.with(n.clone(), Value::from(i)),
                                        None => scope.clone(),
                                    };
                                    self.node(child, item, path, &s);
                                    path.truncate(l);
                                }
                            }
                            Value::Object(map) => {
                                for (k, item) in map {
                                    let l = path.len();
                                    path.push_str(&format!("[{k:?}]"));
                                    let s = match index_name {
                                        Some(n) => scope.with(n.clone(), Value::from(k.clone())),
                                        None => scope.clone(),
                                    };
                                    self.node(child, item, path, &s);
                                    path.truncate(l);
                                }
                            }
                            other => self.fail(
                                path,
                                format!("cannot iterate (~) over {}", type_name(other)),
                                None,
                                Some(other.clone()),
                            ),
                        },
                    }
                    path.truncate(len);
                }
                self.pos = outer;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
