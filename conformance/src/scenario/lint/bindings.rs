//! The binding check of `kanon lint`: every `$name` an expression uses must be bound
//! before it, in the order the engine binds names.
//!
//! The scenario is flattened into a list of [`Event`]s (a name defined, a name used) in
//! execution order, then read front to back:
//! 1. built-ins ([`RESERVED_BINDINGS`]: `$namespace`, `$values`, `$mocks`, `$error`,
//!    `$stdout`, `$stderr`, `$client`, `$config`, `$test`, `$step`, `$operation`...)
//!    are always defined;
//! 2. `spec.namespaceTemplate`, then `spec.bindings` and the `spec.scenarios` rows;
//! 3. each step in order: its `bindings` (a step template's first, then `use.with`, then
//!    the step's own), then its `try`, `catch` and `finally` operations; names bound in
//!    a step stay bound for the following steps, as the engine carries the scope over;
//! 4. the scenario-level `catch`, then every step's `cleanup` in reverse step order
//!    (the engine runs them last, with the scope of the last step).
//!
//! Inside an operation: its `bindings` (each may use the ones before it), then its
//! resources, trees, `expect`, `check`, `env` and `args` (and the `(expr)` fields of
//! wait, get, describe, events, podLogs and proxy), then its `outputs` (in order).
//! An assertion tree's `->name` and `~name` bindings count as defined for the whole tree
//! and for the operations after it.
//!
//! A use with no definition before it is an error: "used before it is defined (defined
//! at L:C)" when a definition comes later, "used but never defined" otherwise; only a
//! warning once a binding or output whose name is an expression came before it, since
//! that name is only known at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::{Finding, Severity};
use crate::assert::syntax::{self, Target};
use crate::expr::Compiler;
use crate::scenario::load::RESERVED_BINDINGS;
use crate::scenario::location::Location;
use crate::scenario::model::{
    Binding, DeleteTarget, Expectation, Manifest, ObjectSelector, Operation, Output, Scenario,
    StepOperation, WaitFor,
};
use crate::scenario::node::{Node, NodeValue};

/// What the binding check found in one scenario.
pub(super) struct BindingReport {
    /// Uses before or without a definition.
    pub findings: Vec<Finding>,
    /// Every `$mocks.<name>...` expression source, to tell which mocks are used.
    pub mock_sources: Vec<String>,
    /// Every expression that reads `$values`, with where it is.
    pub value_sources: Vec<(String, Location)>,
}

/// One step of the flattened scenario.
enum Event {
    /// `$name` becomes bound here.
    Define { name: String, location: Location },
    /// A binding whose name is an expression becomes bound here: which name is only
    /// known at run time.
    DefineComputed { location: Location },
    /// `$name` is referenced by the expression `source` here.
    Use {
        name: String,
        source: String,
        location: Location,
    },
}

/// Checks that every binding `s` uses is defined before it.
pub(super) fn check(s: &Scenario) -> BindingReport {
    let events = flatten(s);
    let mut defined: BTreeSet<&str> = RESERVED_BINDINGS.iter().copied().collect();
    let mut findings = Vec::new();
    let mut mock_sources = Vec::new();
    let mut value_sources = Vec::new();
    let mut computed: Option<&Location> = None;
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Define { name, .. } => {
                defined.insert(name);
            }
            Event::DefineComputed { location } => {
                computed.get_or_insert(location);
            }
            Event::Use {
                name,
                source,
                location,
            } => {
                if name == "mocks" {
                    mock_sources.push(source.clone());
                }
                if name == "values" {
                    value_sources.push((source.clone(), location.clone()));
                }
                if defined.contains(name.as_str()) {
                    continue;
                }
                let later = events[i + 1..].iter().find_map(|e| match e {
                    Event::Define { name: n, location } if n == name => Some(location),
                    _ => None,
                });
                let finding = match (later, computed) {
                    (Some(at), _) => Finding::at(
                        location,
                        Severity::Error,
                        format!(
                            "binding `${name}` is used before it is defined (defined at {})",
                            short_location(at, location)
                        ),
                    ),
                    (None, Some(at)) => Finding::at(
                        location,
                        Severity::Warning,
                        format!(
                            "binding `${name}` is not defined by name; the computed binding name at {} may define it at run time",
                            short_location(at, location)
                        ),
                    ),
                    (None, None) => Finding::at(
                        location,
                        Severity::Error,
                        format!("binding `${name}` is used but never defined"),
                    ),
                };
                findings.push(finding);
            }
        }
    }
    BindingReport {
        findings,
        mock_sources,
        value_sources,
    }
}

/// `line:column` of `at`, with its file when it is not the file of `from`.
fn short_location(at: &Location, from: &Location) -> String {
    if at.file == from.file {
        format!("{}:{}", at.line, at.column)
    } else {
        at.to_string()
    }
}

/// The scenario's definitions and uses in the order the engine binds and evaluates them.
fn flatten(s: &Scenario) -> Vec<Event> {
    let mut ev = Vec::new();
    let file = &s.location.file;
    if let Some(t) = &s.namespace_template {
        tree(t, s.namespace_template_compiler, file, &mut ev);
    }
    bindings(&s.bindings, &mut ev);
    for row in &s.binding_sets {
        bindings(row, &mut ev);
    }
    for step in &s.steps {
        bindings(&step.bindings, &mut ev);
        for op in step.try_.iter().chain(&step.catch).chain(&step.finally) {
            operation(op, &mut ev);
        }
    }
    for op in &s.catch {
        operation(op, &mut ev);
    }
    for step in s.steps.iter().rev() {
        for op in &step.cleanup {
            operation(op, &mut ev);
        }
    }
    ev
}

fn operation(op: &StepOperation, ev: &mut Vec<Event>) {
    let o = &op.operation;
    let c = op.compiler;
    let file = &o.location().file;
    bindings(o.bindings(), ev);
    match o {
        Operation::Apply(r) | Operation::Create(r) | Operation::Update(r) | Operation::Patch(r) => {
            manifests(&r.resources, c, ev);
            expectations(&r.expect, c, file, ev);
        }
        Operation::Assert(o) | Operation::Error(o) => manifests(&o.trees, c, ev),
        Operation::Consistently(o) => manifests(&o.check.trees, c, ev),
        Operation::Delete(d) => {
            if let DeleteTarget::Resources(r) = &d.target {
                manifests(r, c, ev);
            }
            expectations(&d.expect, c, file, ev);
        }
        Operation::Command(o) => {
            values(&o.env, ev);
            for arg in &o.args {
                string(arg, c, &o.location, ev);
            }
            if let Some(check) = &o.check {
                tree(check, c, file, ev);
            }
        }
        Operation::Script(o) => {
            values(&o.env, ev);
            if let Some(check) = &o.check {
                tree(check, c, file, ev);
            }
        }
        Operation::Wait(w) => {
            selector_uses(&w.object, c, &w.location, ev);
            match &w.for_ {
                WaitFor::Condition { name, value } => {
                    for t in std::iter::once(name).chain(value) {
                        string(t, c, &w.location, ev);
                    }
                }
                WaitFor::JsonPath { path, value } => {
                    for t in std::iter::once(path).chain(value) {
                        string(t, c, &w.location, ev);
                    }
                }
                WaitFor::Deletion | WaitFor::Creation => {}
            }
        }
        Operation::Get(g) => selector_uses(&g.object, c, &g.location, ev),
        Operation::Describe(d) => selector_uses(&d.object, c, &d.location, ev),
        Operation::Events(e) => selector_uses(&e.object, c, &e.location, ev),
        Operation::PodLogs(p) => {
            selector_uses(&p.object, c, &p.location, ev);
            if let Some(t) = &p.container {
                string(t, c, &p.location, ev);
            }
        }
        Operation::Proxy(p) => {
            for t in [
                Some(&p.name),
                p.namespace.as_ref(),
                p.port.as_ref(),
                p.path.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                string(t, c, &p.location, ev);
            }
            if let Some(check) = &p.check {
                tree(check, c, file, ev);
            }
        }
        Operation::Sleep(_) | Operation::Disrupt(_) => {}
    }
    for out in o.outputs() {
        output(out, ev);
    }
}

/// Bindings in order: each value's uses, then the name.
fn bindings(list: &[Binding], ev: &mut Vec<Event>) {
    for b in list {
        tree(&b.value, b.compiler, &b.location.file, ev);
        define(&b.name, b.compiler, &b.location, ev);
    }
}

/// A binding or output named `name`: a plain name is defined; an `(expr)` name uses the
/// bindings of its expression and defines a name known only at run time.
fn define(name: &str, c: Compiler, location: &Location, ev: &mut Vec<Event>) {
    if syntax::is_expression(name) {
        string(name, c, location, ev);
        ev.push(Event::DefineComputed {
            location: location.clone(),
        });
    } else {
        ev.push(Event::Define {
            name: name.to_string(),
            location: location.clone(),
        });
    }
}

/// `env` entries: their values use bindings, their names are environment variables
/// (an `(expr)` name uses bindings too).
fn values(list: &[Binding], ev: &mut Vec<Event>) {
    for b in list {
        tree(&b.value, b.compiler, &b.location.file, ev);
        string(&b.name, b.compiler, &b.location, ev);
    }
}

fn output(out: &Output, ev: &mut Vec<Event>) {
    let file = &out.location.file;
    if let Some(m) = &out.match_ {
        tree(m, out.compiler, file, ev);
    }
    tree(&out.value, out.compiler, file, ev);
    define(&out.name, out.compiler, &out.location, ev);
}

fn expectations(list: &[Expectation], c: Compiler, file: &Arc<PathBuf>, ev: &mut Vec<Event>) {
    for e in list {
        if let Some(m) = &e.match_ {
            tree(m, c, file, ev);
        }
        tree(&e.check, c, file, ev);
    }
}

fn manifests(list: &[Manifest], c: Compiler, ev: &mut Vec<Event>) {
    for m in list {
        tree(&m.node, c, &m.file, ev);
    }
}

/// A string argument written `(expr)`.
/// The `(expr)` fields of an object selector (namespace, name, label selector).
fn selector_uses(o: &ObjectSelector, c: Compiler, at: &Location, ev: &mut Vec<Event>) {
    for t in [&o.namespace, &o.name, &o.selector].into_iter().flatten() {
        string(t, c, at, ev);
    }
}

fn string(text: &str, c: Compiler, at: &Location, ev: &mut Vec<Event>) {
    if let Ok(Target::Expr(e)) = syntax::parse_value_with(text, c) {
        for name in e.binding_names() {
            ev.push(Event::Use {
                name: name.clone(),
                source: e.source().to_string(),
                location: at.clone(),
            });
        }
    }
}

/// An assertion tree or template: the names its `->name` / `~name` keys bind (defined
/// for the whole tree), then every `$name` its `(expr)` keys and values use.
fn tree(node: &Node, c: Compiler, file: &Arc<PathBuf>, ev: &mut Vec<Event>) {
    let mut defs = BTreeMap::new();
    let mut uses = Vec::new();
    scan(node, c, file, &mut defs, &mut uses);
    ev.extend(
        defs.into_iter()
            .map(|(name, location)| Event::Define { name, location }),
    );
    ev.extend(uses);
}

fn scan(
    node: &Node,
    c: Compiler,
    file: &Arc<PathBuf>,
    defs: &mut BTreeMap<String, Location>,
    uses: &mut Vec<Event>,
) {
    match &node.value {
        NodeValue::Map(entries) => {
            for (key, value) in entries {
                if let Ok(k) = syntax::parse_with(&key.name, c) {
                    let at = Location::new(file, key.line, key.column);
                    for name in k.binding.iter().chain(k.foreach.iter().flatten()) {
                        defs.entry(name.clone()).or_insert_with(|| at.clone());
                    }
                    if let Target::Expr(e) = &k.target {
                        for name in e.binding_names() {
                            uses.push(Event::Use {
                                name: name.clone(),
                                source: e.source().to_string(),
                                location: at.clone(),
                            });
                        }
                    }
                }
                scan(value, c, file, defs, uses);
            }
        }
        NodeValue::Seq(items) => {
            for i in items {
                scan(i, c, file, defs, uses);
            }
        }
        NodeValue::String(s) => {
            if let Ok(Target::Expr(e)) = syntax::parse_value_with(s, c) {
                for name in e.binding_names() {
                    uses.push(Event::Use {
                        name: name.clone(),
                        source: e.source().to_string(),
                        location: Location::new(file, node.line, node.column),
                    });
                }
            }
        }
        NodeValue::Null | NodeValue::Bool(_) | NodeValue::Number(_) => {}
    }
}
