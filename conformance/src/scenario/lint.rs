//! `kanon lint`: every problem of a set of scenario files, without a cluster.
//!
//! Two layers:
//! - what the loader finds (malformed YAML, unknown fields and operations, wrong types,
//!   bad durations, expressions that do not parse, missing referenced files): each
//!   [`ParseError`] becomes an error [`Finding`];
//! - semantic checks on the scenarios that loaded: bindings used before they are
//!   defined or never defined (in the engine's binding order, see `bindings`),
//!   duplicate scenario names across the linted files, clauses missing from the
//!   catalogue, `mock:` naming an undeclared mock, `wait` / `get` / `describe` without
//!   `apiVersion` and `kind`, and (as a warning) mocks declared but never used.
//!
//! Linting keeps going across files: a file that fails to load does not hide the
//! findings of the others. [`lint`] never panics on any input.
//!
//! ```
//! use std::path::Path;
//! use kanon::scenario::lint::{lint_str, Severity};
//!
//! let yaml = "apiVersion: kanon.dev/v1alpha1
//! kind: Scenario
//! metadata:
//!   name: demo
//! spec:
//!   steps:
//!   - try:
//!     - assert:
//!         resource:
//!           apiVersion: v1
//!           kind: ConfigMap
//!           metadata:
//!             name: ($nmae)
//! ";
//! let findings = lint_str(Path::new("demo.yaml"), yaml, None);
//! assert_eq!(findings[0].severity, Severity::Error);
//! assert_eq!(findings[0].to_string(),
//!     "demo.yaml:13:19: error: binding `$nmae` is used but never defined");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::load::{Found, load_file, parse_str};
use super::location::{Location, ParseError};
use super::model::{Flavor, ObjectSelector, Operation, Scenario};

mod bindings;

/// How bad a finding is: errors make `kanon lint` exit 1, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The scenario cannot run as written.
    Error,
    /// Probably a mistake, but the scenario can run.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem, at `file:line:column` (line and column 0 for a whole file).
///
/// Displays as `file:line:column: severity: message`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The file where the problem is.
    pub file: PathBuf,
    /// 1-based line (0 for the whole file).
    pub line: u32,
    /// 1-based column (0 for the whole file).
    pub column: u32,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.severity,
            self.message
        )
    }
}

impl From<ParseError> for Finding {
    fn from(e: ParseError) -> Self {
        Finding {
            file: e.file,
            line: e.line,
            column: e.column,
            severity: Severity::Error,
            message: e.message,
        }
    }
}

impl Finding {
    fn at(location: &Location, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            file: location.file.as_ref().clone(),
            line: location.line,
            column: location.column,
            severity,
            message: message.into(),
        }
    }
}

/// What to check the scenarios against.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// Clause IDs of the catalogue; `None` skips the clause check.
    pub clauses: Option<BTreeSet<String>>,
    /// Names of the catalogue's documented `$values` (dotted paths); `None` (or none
    /// documented) skips the check that scenarios read only documented values.
    pub values: Option<BTreeSet<String>>,
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Lints files and folders (folders: every scenario file under them, see
/// [`super::SCENARIO_FILE_NAMES`], and every Chainsaw conventional-layout folder; a file
/// given explicitly is linted whatever its name).
/// Findings are sorted by file, line and column.
pub fn lint(paths: &[PathBuf], options: &LintOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut errors = Vec::new();
            sources.extend(super::load::discover(path, &mut errors));
            findings.extend(errors.into_iter().map(Finding::from));
        } else if path.exists() {
            sources.push(Found::File(path.clone()));
        } else {
            findings.push(Finding::from(ParseError::file(
                path,
                "no such file or directory",
            )));
        }
    }
    let mut seen = BTreeSet::new();
    let mut scenarios = Vec::new();
    for source in sources {
        let loaded = match &source {
            Found::File(file) if seen.insert(file.clone()) => load_file(file),
            Found::File(_) => continue,
            // Chainsaw's numbered-file folders (no test file) are scenarios too.
            Found::Conventional(dir, files) if seen.insert(dir.clone()) => {
                super::conventional::load_conventional(dir, files, Default::default())
                    .map(|s| vec![s])
            }
            Found::Conventional(..) => continue,
        };
        match loaded {
            Ok(mut s) => scenarios.append(&mut s),
            Err(errors) => findings.extend(errors.into_iter().map(Finding::from)),
        }
    }
    findings.extend(check(&scenarios, options));
    findings.sort();
    findings.dedup();
    findings
}

/// Lints scenario text as if read from `file` (relative references resolve from it),
/// checking clauses against `clauses` when given.
pub fn lint_str(file: &Path, text: &str, clauses: Option<BTreeSet<String>>) -> Vec<Finding> {
    let mut findings = match parse_str(file, text) {
        Ok(scenarios) => check(
            &scenarios,
            &LintOptions {
                clauses,
                values: None,
            },
        ),
        Err(errors) => errors.into_iter().map(Finding::from).collect(),
    };
    findings.sort();
    findings.dedup();
    findings
}

/// The semantic checks over scenarios that loaded.
fn check(scenarios: &[Scenario], options: &LintOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut names: BTreeMap<&str, &Location> = BTreeMap::new();
    for s in scenarios {
        match names.get(s.name.as_str()) {
            // Chainsaw allows it (Go subtests of the same name get a `#01` suffix): a
            // warning for its files, reported apart as `name#2`; kanon's own must be unique.
            Some(first) if s.flavor == Flavor::Chainsaw => findings.push(Finding::at(
                &s.location,
                Severity::Warning,
                format!(
                    "duplicate scenario name `{}` (also at {first}); reports tell them apart with a `#2`, `#3`... suffix",
                    s.name
                ),
            )),
            Some(first) => findings.push(Finding::at(
                &s.location,
                Severity::Error,
                format!(
                    "duplicate scenario name `{}` (also at {first}); scenario names must be unique",
                    s.name
                ),
            )),
            None => {
                names.insert(&s.name, &s.location);
            }
        }
        check_scenario(s, options, &mut findings);
    }
    findings
}

fn check_scenario(s: &Scenario, options: &LintOptions, findings: &mut Vec<Finding>) {
    if let Some(catalogue) = &options.clauses {
        for c in &s.clauses {
            if !catalogue.contains(&c.id) {
                findings.push(Finding::at(
                    &c.location,
                    Severity::Error,
                    format!("clause `{}` is not in the clause catalogue", c.id),
                ));
            }
        }
    }

    let declared: BTreeSet<&str> = s.mocks.iter().map(|m| m.name.as_str()).collect();
    let mut used_mocks = BTreeSet::new();

    let report = bindings::check(s);
    findings.extend(report.findings);
    if let Some(documented) = options.values.as_ref().filter(|v| !v.is_empty()) {
        for (source, location) in &report.value_sources {
            for path in values_read(source) {
                if !is_documented(&path, documented) {
                    findings.push(Finding::at(
                        location,
                        Severity::Warning,
                        format!(
                            "`$values.{path}` is not among the catalogue's documented values ({}); an implementation cannot know to set it",
                            documented.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
    }
    for source in &report.mock_sources {
        for m in &declared {
            if source.contains(&format!("mocks.{m}")) {
                used_mocks.insert(m.to_string());
            }
        }
    }
    for (_, op) in s.operations() {
        match &op.operation {
            Operation::Assert(c) | Operation::Error(c) => mock_ref(
                c.mock.as_deref(),
                &c.location,
                &declared,
                &mut used_mocks,
                findings,
            ),
            Operation::Consistently(c) => mock_ref(
                c.check.mock.as_deref(),
                &c.check.location,
                &declared,
                &mut used_mocks,
                findings,
            ),
            Operation::Wait(w) => selector(&w.object, "wait", &w.location, findings),
            Operation::Get(g) => selector(&g.object, "get", &g.location, findings),
            Operation::Describe(d) => selector(&d.object, "describe", &d.location, findings),
            Operation::Proxy(p) => proxy_kind(p, findings),
            _ => {}
        }
    }
    for m in &s.mocks {
        if !used_mocks.contains(&m.name) {
            findings.push(Finding::at(
                &m.location,
                Severity::Warning,
                format!(
                    "mock `{}` is declared but never used (no `mock: {}` and no `$mocks.{}`)",
                    m.name, m.name, m.name
                ),
            ));
        }
    }
}

/// The dotted paths an expression reads under `$values` (`$values.a.b` → `a.b`).
fn values_read(source: &str) -> Vec<String> {
    let ident_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (at, _) in source.match_indices("$values") {
        let mut rest = &source[at + "$values".len()..];
        let mut segments = Vec::new();
        while let Some(after_dot) = rest.strip_prefix('.') {
            if !after_dot.starts_with(ident_start) {
                break;
            }
            let len = after_dot
                .find(|c: char| !ident_char(c))
                .unwrap_or(after_dot.len());
            segments.push(&after_dot[..len]);
            rest = &after_dot[len..];
        }
        if !segments.is_empty() {
            out.push(segments.join("."));
        }
    }
    out
}

/// Whether reading `path` reads a documented value (or an object holding only them).
fn is_documented(path: &str, documented: &BTreeSet<String>) -> bool {
    documented.iter().any(|d| {
        path == d || path.starts_with(&format!("{d}.")) || d.starts_with(&format!("{path}."))
    })
}

fn mock_ref(
    mock: Option<&str>,
    location: &Location,
    declared: &BTreeSet<&str>,
    used: &mut BTreeSet<String>,
    findings: &mut Vec<Finding>,
) {
    let Some(name) = mock else { return };
    used.insert(name.to_string());
    if !declared.contains(name) {
        let known = if declared.is_empty() {
            "the scenario declares no mocks".to_string()
        } else {
            format!(
                "declared: {}",
                declared.iter().copied().collect::<Vec<_>>().join(", ")
            )
        };
        findings.push(Finding::at(
            location,
            Severity::Error,
            format!("`mock: {name}` names a mock not declared in spec.mocks ({known})"),
        ));
    }
}

/// `resource:` (a kubectl-style name resolved through discovery) and `kind:` both
/// name the kind: the engine uses `apiVersion` + `kind` and ignores `resource`.
/// Only core Services, Pods and Nodes have a `proxy` subresource: any other kind is a
/// 404 at run time.
fn proxy_kind(p: &crate::scenario::ProxyOp, findings: &mut Vec<Finding>) {
    if p.api_version != "v1" || !matches!(p.kind.as_str(), "Service" | "Pod" | "Node") {
        findings.push(Finding::at(
            &p.location,
            Severity::Warning,
            format!(
                "`proxy` to {}/{}: only v1 Service, Pod and Node serve a proxy subresource",
                p.api_version, p.kind
            ),
        ));
    }
}

fn selector(o: &ObjectSelector, op: &str, location: &Location, findings: &mut Vec<Finding>) {
    if o.resource.is_some() && o.kind.is_some() {
        findings.push(Finding::at(
            location,
            Severity::Warning,
            format!(
                "`{op}` sets both `resource:` and `kind:`; `resource` is ignored when apiVersion and kind are given: keep one"
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn doc(body: &str) -> String {
        format!(
            "apiVersion: kanon.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: t\nspec:\n{body}"
        )
    }

    #[rstest::rstest]
    #[case("$values.serverImage", &["serverImage"])]
    #[case("join('', [$values.a.b, $values.c])", &["a.b", "c"])]
    #[case("$valuesx.a", &[])]
    #[case("$namespace", &[])]
    fn values_read_from_expressions(#[case] source: &str, #[case] paths: &[&str]) {
        assert_eq!(values_read(source), paths);
    }

    #[test]
    fn only_documented_values_may_be_read() {
        let documented: BTreeSet<String> = ["serverImage", "names.container"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(is_documented("serverImage", &documented));
        assert!(is_documented("names", &documented));
        assert!(is_documented("names.container", &documented));
        assert!(!is_documented("serverImageTag", &documented));
        assert!(!is_documented("names.other", &documented));

        let y = doc(
            "  steps:\n  - try:\n    - apply:\n        resource:\n          apiVersion: v1\n          kind: ConfigMap\n          metadata: {name: a}\n          data:\n            image: ($values.serverImage)\n            tag: ($values.tag)\n",
        );
        let scenarios = parse_str(Path::new("t.yaml"), &y).unwrap();
        let findings = check(
            &scenarios,
            &LintOptions {
                clauses: None,
                values: Some(documented),
            },
        );
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(findings.len(), 1, "{messages:?}");
        assert!(messages[0].contains("`$values.tag`"), "{messages:?}");
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn conventional_folders_are_linted_too() {
        let dir = tempfile::tempdir().unwrap();
        let test = dir.path().join("my_test");
        std::fs::create_dir(&test).unwrap();
        std::fs::write(
            test.join("00-configmap.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ($undefined)\n",
        )
        .unwrap();
        std::fs::write(
            test.join("00-assert.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        )
        .unwrap();
        let findings = lint(&[dir.path().to_path_buf()], &LintOptions::default());
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("$undefined"), "{findings:?}");
        assert!(
            findings[0].file.ends_with("my_test/00-configmap.yaml"),
            "{findings:?}"
        );
    }

    #[test]
    fn proxy_targets_and_expression_fields_are_linted() {
        let y = doc(
            "  steps:\n  - try:\n    - proxy:\n        apiVersion: apps/v1\n        kind: Deployment\n        name: ($nope)\n    - wait:\n        apiVersion: v1\n        kind: ConfigMap\n        name: ($ghost)\n        for: {deletion: {}}\n",
        );
        let f = lint_str(Path::new("a.yaml"), &y, None);
        let text: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text.iter().any(|t| t.contains("`$nope`")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("`$ghost`")), "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.contains("warning") && t.contains("apps/v1/Deployment")),
            "{text:?}"
        );
    }

    #[test]
    fn defined_bindings_are_clean() {
        let y = doc(
            "  bindings:\n  - name: x\n    value: 1\n  steps:\n  - try:\n    - assert:\n        resource:\n          apiVersion: v1\n          kind: ConfigMap\n          metadata:\n            name: ($x)\n            (namespace): ($namespace)\n",
        );
        assert_eq!(lint_str(Path::new("a.yaml"), &y, None), vec![]);
    }

    #[test]
    fn arithmetic_is_linted_like_other_expressions() {
        // JMESPath-community arithmetic is valid, and its `$names` are bindings.
        let ok = doc(
            "  bindings:\n  - name: x\n    value: 1\n  steps:\n  - try:\n    - assert:\n        resource:\n          apiVersion: v1\n          kind: ConfigMap\n          (length(data) * `2` - $x): 1\n",
        );
        assert_eq!(lint_str(Path::new("a.yaml"), &ok, None), vec![]);
        let undefined = doc(
            "  steps:\n  - try:\n    - assert:\n        resource:\n          apiVersion: v1\n          kind: ConfigMap\n          (length(data) + $y): 1\n",
        );
        let f = lint_str(Path::new("a.yaml"), &undefined, None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("`$y`"), "{f:?}");
        // A bare number is not an expression (Chainsaw rejects it too).
        let bare = doc(
            "  steps:\n  - try:\n    - assert:\n        resource:\n          apiVersion: v1\n          kind: ConfigMap\n          (length(data) * 2): 1\n",
        );
        let f = lint_str(Path::new("a.yaml"), &bare, None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("as in `2`"), "{f:?}");
    }

    #[test]
    fn undeclared_mock_and_clause() {
        let y = doc(
            "  clauses: [NOPE-1]\n  steps:\n  - try:\n    - assert:\n        mock: ghost\n        resource: {}\n",
        );
        let f = lint_str(
            Path::new("a.yaml"),
            &y,
            Some(["OK-1".to_string()].into_iter().collect()),
        );
        let text: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("a.yaml:6:13: error: clause `NOPE-1`"),
            "{text:?}"
        );
        assert!(text[1].contains("`mock: ghost`"), "{text:?}");
    }

    #[test]
    fn bindings_are_checked_in_engine_order() {
        // An output used by a later step, an assertion's `->name` used by the catch, a
        // cleanup using a name of a later step (cleanup runs last): all fine.
        let ok = doc(
            "  steps:\n  - try:\n    - script:\n        content: echo a\n        outputs:\n        - name: out\n          value: ($stdout)\n    - assert:\n        resource:\n          apiVersion: v1\n          kind: ConfigMap\n          (metadata.name)->cm: ($out)\n    catch:\n    - script:\n        content: echo b\n        check:\n          ($stdout): ($cm)\n    cleanup:\n    - script:\n        content: echo c\n        check:\n          ($stdout): ($two)\n  - bindings:\n    - name: two\n      value: ($out)\n    try:\n    - sleep: {duration: 1ms}\n",
        );
        assert_eq!(lint_str(Path::new("a.yaml"), &ok, None), vec![]);
        // The same output used one operation too early.
        let early = doc(
            "  steps:\n  - try:\n    - script:\n        content: echo ($out)\n        check:\n          ($stdout): ($out)\n    - script:\n        content: echo a\n        outputs:\n        - name: out\n          value: ($stdout)\n",
        );
        let f: Vec<String> = lint_str(Path::new("a.yaml"), &early, None)
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            f,
            ["a.yaml:11:22: error: binding `$out` is used before it is defined (defined at 15:11)"]
        );
        // Env names are environment variables, not bindings.
        let env = doc(
            "  steps:\n  - try:\n    - script:\n        content: echo $X\n        env:\n        - name: X\n          value: x\n        check:\n          ($stdout): ($X)\n",
        );
        let f = lint_str(Path::new("a.yaml"), &env, None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("never defined"), "{f:?}");
    }

    #[test]
    fn computed_names_and_engine_bindings() {
        // `$test`, `$step` and `$operation` are the engine's; a name only a computed
        // binding name can define is a warning, a name with no candidate at all an error.
        let y = doc(
            "  bindings:\n  - name: p\n    value: x\n  steps:\n  - try:\n    - script:\n        content: echo ($test.id)\n        env:\n        - name: (to_upper($p))\n          value: ($step.id)\n        outputs:\n        - name: (join('', [$p, to_string($operation.id)]))\n          value: ($stdout)\n    - script:\n        content: echo a\n        check:\n          ($stdout): ($x1)\n",
        );
        let f: Vec<String> = lint_str(Path::new("a.yaml"), &y, None)
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            f,
            [
                "a.yaml:22:22: warning: binding `$x1` is not defined by name; the computed binding name at 17:11 may define it at run time"
            ]
        );
        let unknown = doc(
            "  steps:\n  - try:\n    - script:\n        content: echo a\n        check:\n          ($stdout): ($y)\n",
        );
        let f = lint_str(Path::new("a.yaml"), &unknown, None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("never defined"), "{f:?}");
    }

    #[test]
    fn wait_with_resource_only_is_clean() {
        let y = doc(
            "  steps:\n  - try:\n    - wait:\n        resource: pods\n        for: {deletion: {}}\n",
        );
        let f = lint_str(Path::new("a.yaml"), &y, None);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn wait_with_resource_and_kind_warns() {
        let y = doc(
            "  steps:\n  - try:\n    - wait:\n        resource: pods\n        apiVersion: v1\n        kind: Pod\n        for: {deletion: {}}\n",
        );
        let f = lint_str(Path::new("a.yaml"), &y, None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("`resource` is ignored"), "{f:?}");
    }
}
