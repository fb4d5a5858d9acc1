//! Loading: YAML text → raw serde types → the model, with every error positioned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::duration::parse_duration;
use super::model::*;
use super::node::{Node, NodeValue};
use super::raw::*;
use super::timeouts::Timeouts;
use super::validate::validate_tree_with;
use super::{Location, ParseError};
use crate::expr::Compiler;

/// `apiVersion` of kanon scenarios.
pub const KANON_API_VERSION: &str = "kanon.dev/v1alpha1";
/// `apiVersion` of Chainsaw tests.
pub const CHAINSAW_API_VERSION: &str = "chainsaw.kyverno.io/v1alpha1";

/// File names recognised as scenarios when a directory is loaded.
pub const SCENARIO_FILE_NAMES: [&str; 4] = [
    "scenario.yaml",
    "scenario.yml",
    "chainsaw-test.yaml",
    "chainsaw-test.yml",
];

/// Run-wide defaults for every scenario loaded (what a Chainsaw `Configuration` sets
/// for all tests): each applies where the scenario leaves the setting unset.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The default language of unprefixed `(expr)` strings (Chainsaw's `compiler`,
    /// `templating.compiler`); a scenario's own `compiler` wins. Default: jp.
    pub compiler: Option<Compiler>,
    /// Whether resources are templated, for scenarios that do not say.
    pub template: Option<bool>,
    /// A namespace template and the language of its expressions, for scenarios without
    /// their own `namespaceTemplate`.
    pub namespace_template: Option<(Node, Compiler)>,
    /// How deletions propagate, for scenarios that do not say.
    pub deletion_propagation_policy: Option<PropagationPolicy>,
    /// The delay before cleanup, for scenarios that do not say.
    pub delay_before_cleanup: Option<Duration>,
    /// The pods' termination grace period, for scenarios that do not say.
    pub force_termination_grace_period: Option<Duration>,
    /// Clusters every scenario can name with `cluster:`; a scenario's own entry of the
    /// same name wins.
    pub clusters: Vec<ClusterDef>,
    /// Operations run when any step fails, before the scenario's own `catch`.
    pub catch: Vec<StepOperation>,
    /// Another scenario file name looked for in folders (Chainsaw's `testFile`: without
    /// an extension, `NAME.yaml` and `NAME.yml`), besides [`SCENARIO_FILE_NAMES`].
    pub test_file: Option<String>,
}

impl LoadOptions {
    /// Whether `name` is a scenario file name: one of [`SCENARIO_FILE_NAMES`] or the
    /// configured `test_file`.
    pub fn is_scenario_file(&self, name: &str) -> bool {
        if SCENARIO_FILE_NAMES.contains(&name) {
            return true;
        }
        match self.test_file.as_deref() {
            Some(t) if Path::new(t).extension().is_some() => name == t,
            Some(t) => name
                .strip_prefix(t)
                .is_some_and(|ext| ext == ".yaml" || ext == ".yml"),
            None => false,
        }
    }

    /// Fills what `s` leaves unset (clusters are merged while loading, where the
    /// scenario's `cluster:` names are checked).
    fn fill(&self, s: &mut Scenario) {
        if s.template.is_none() {
            s.template = self.template;
        }
        if s.namespace_template.is_none()
            && let Some((node, compiler)) = &self.namespace_template
        {
            s.namespace_template = Some(node.clone());
            s.namespace_template_compiler = *compiler;
        }
        if s.deletion_propagation_policy.is_none() {
            s.deletion_propagation_policy = self.deletion_propagation_policy;
        }
        if s.delay_before_cleanup.is_none() {
            s.delay_before_cleanup = self.delay_before_cleanup;
        }
        if s.force_termination_grace_period.is_none() {
            s.force_termination_grace_period = self.force_termination_grace_period;
        }
        if !self.catch.is_empty() {
            let own = std::mem::take(&mut s.catch);
            s.catch = self.catch.iter().cloned().chain(own).collect();
        }
    }
}

/// Adds the run-wide clusters `run` that `clusters` does not define itself.
fn merge_clusters(run: &[ClusterDef], clusters: &mut Vec<ClusterDef>) {
    for c in run {
        if !clusters.iter().any(|o| o.name == c.name) {
            clusters.push(c.clone());
        }
    }
}

/// Loads every scenario of one file (a file may hold several YAML documents).
///
/// Referenced files (`file:` of operations, `use.template` of steps) are resolved
/// relative to this file and loaded. All errors found are returned, each positioned.
pub fn load_file(path: &Path) -> Result<Vec<Scenario>, Vec<ParseError>> {
    load_file_with(path, &LoadOptions::default())
}

/// [`load_file`] with run-wide defaults.
pub fn load_file_with(path: &Path, opts: &LoadOptions) -> Result<Vec<Scenario>, Vec<ParseError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ParseError::file(
            path,
            format!("cannot read scenario file: {e}"),
        )]
    })?;
    parse_str_with(path, &text, opts)
}

/// When a file that failed to parse as scenarios is a Chainsaw `Configuration`, an error
/// that says so (instead of its first field a Test does not have).
fn not_a_scenario(file: &Path, text: &str) -> Option<ParseError> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).ok()?;
    docs.iter()
        .any(|d| {
            d.get("kind").and_then(|k| k.as_str()) == Some("Configuration")
                && d.get("apiVersion")
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| v.starts_with("chainsaw.kyverno.io/"))
        })
        .then(|| {
            ParseError::file(
                file,
                "this is a Chainsaw Configuration, not a test: pass it with `kanon test --config FILE` (or name it .chainsaw.yaml in the working directory)",
            )
        })
}

/// Loads a scenario file, or every scenario under a directory, recursively, in path
/// order: each scenario file (see [`SCENARIO_FILE_NAMES`]), and each folder without one
/// whose files follow Chainsaw's conventional layout (`00-apply.yaml`,
/// `00-assert.yaml`, `01-errors.yaml`...; see [`super::conventional`]).
pub fn load(path: &Path) -> Result<Vec<Scenario>, Vec<ParseError>> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with run-wide defaults (a Chainsaw `Configuration`'s).
pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<Vec<Scenario>, Vec<ParseError>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for source in load_each(path, opts) {
        match source.loaded {
            Ok(mut s) => scenarios.append(&mut s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

/// One scenario source (a scenario file, a conventional-layout folder, or a folder that
/// could not be read) and what loading it gave.
#[derive(Debug)]
pub struct LoadedSource {
    /// The file or folder.
    pub path: PathBuf,
    /// Whether `path` is a conventional-layout folder (its step files make one scenario).
    pub conventional: bool,
    /// Its scenarios, or every error found in it (and in the files it references).
    pub loaded: Result<Vec<Scenario>, Vec<ParseError>>,
}

/// Loads every scenario source of `path` (a file, or a folder searched recursively)
/// separately, in path order, so that a broken one does not keep the others from
/// running: each source carries its own scenarios or its own errors.
pub fn load_each(path: &Path, opts: &LoadOptions) -> Vec<LoadedSource> {
    if !path.is_dir() {
        return vec![LoadedSource {
            path: path.to_path_buf(),
            conventional: false,
            loaded: load_file_with(path, opts),
        }];
    }
    let mut errors = Vec::new();
    let found = discover_with(path, opts, &mut errors);
    // Folders that could not be read are sources of their own.
    let mut out: Vec<LoadedSource> = errors
        .into_iter()
        .map(|e| LoadedSource {
            path: e.file.clone(),
            conventional: false,
            loaded: Err(vec![e]),
        })
        .collect();
    for source in found {
        out.push(match source {
            Found::File(file) => LoadedSource {
                loaded: load_file_with(&file, opts),
                path: file,
                conventional: false,
            },
            Found::Conventional(dir, files) => LoadedSource {
                loaded: super::conventional::load_conventional(
                    &dir,
                    &files,
                    opts.compiler.unwrap_or_default(),
                )
                .map(|mut s| {
                    opts.fill(&mut s);
                    merge_clusters(&opts.clusters, &mut s.clusters);
                    vec![s]
                }),
                path: dir,
                conventional: true,
            },
        });
    }
    out
}

/// A scenario source found under a directory.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Found {
    /// A scenario file.
    File(PathBuf),
    /// A conventional-layout folder and its step files.
    Conventional(PathBuf, Vec<PathBuf>),
}

/// Every scenario source under `dir`, recursively, in path order; unreadable folders are
/// reported into `errors`.
pub(crate) fn discover(dir: &Path, errors: &mut Vec<ParseError>) -> Vec<Found> {
    discover_with(dir, &LoadOptions::default(), errors)
}

/// [`discover`], also recognising `opts.test_file`.
fn discover_with(dir: &Path, opts: &LoadOptions, errors: &mut Vec<ParseError>) -> Vec<Found> {
    let mut found = Vec::new();
    collect_scenarios(dir, opts, &mut found, errors);
    found.sort();
    found
}

fn collect_scenarios(
    dir: &Path,
    opts: &LoadOptions,
    found: &mut Vec<Found>,
    errors: &mut Vec<ParseError>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(ParseError::file(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    let mut has_file = false;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_scenarios(&path, opts, found, errors);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| opts.is_scenario_file(n))
        {
            has_file = true;
            found.push(Found::File(path));
        }
    }
    if !has_file {
        let steps = super::conventional::step_files(dir);
        if !steps.is_empty() {
            found.push(Found::Conventional(dir.to_path_buf(), steps));
        }
    }
}

/// Parses scenario documents from `text`, as if read from `file` (used for positions and
/// to resolve relative file references).
pub fn parse_str(file: &Path, text: &str) -> Result<Vec<Scenario>, Vec<ParseError>> {
    parse_str_with(file, text, &LoadOptions::default())
}

/// [`parse_str`] with run-wide defaults.
pub fn parse_str_with(
    file: &Path,
    text: &str,
    opts: &LoadOptions,
) -> Result<Vec<Scenario>, Vec<ParseError>> {
    let docs: Vec<S<RawDocument>> = serde_saphyr::from_multiple(text).map_err(|e| {
        vec![not_a_scenario(file, text).unwrap_or_else(|| ParseError::from_saphyr(file, &e))]
    })?;
    let mut cx = Cx::new(file);
    cx.default_compiler = opts.compiler.unwrap_or_default();
    cx.run_clusters = opts.clusters.clone();
    let mut scenarios = Vec::new();
    for doc in docs {
        if let Some(mut s) = cx.scenario(doc) {
            opts.fill(&mut s);
            scenarios.push(s);
        }
    }
    if scenarios.is_empty() && cx.errors.is_empty() {
        cx.errors
            .push(ParseError::file(file, "no scenario in file"));
    }
    if cx.errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(cx.errors)
    }
}

/// Reads every YAML document of a referenced file as positioned nodes (empty documents
/// are skipped).
pub fn load_documents(path: &Path) -> Result<Vec<Node>, ParseError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ParseError::file(path, format!("cannot read referenced file: {e}")))?;
    let docs: Vec<Node> =
        serde_saphyr::from_multiple(&text).map_err(|e| ParseError::from_saphyr(path, &e))?;
    Ok(docs
        .into_iter()
        .filter(|d| !matches!(d.value, NodeValue::Null))
        .collect())
}

/// Conversion context for one file.
struct Cx {
    file: Arc<PathBuf>,
    base: PathBuf,
    errors: Vec<ParseError>,
    /// `cluster:` names seen while converting the current scenario, with the names the
    /// step and operation around them declare, checked against the scenario's
    /// `clusters:` once the scenario is built.
    cluster_refs: Vec<(String, Location, Vec<String>)>,
    /// The cluster names declared by the step and operation being converted (the
    /// scenario's are checked at the end).
    scope_clusters: Vec<String>,
    /// The `clusters` of the action being converted, taken by its operation.
    op_clusters: Vec<ClusterDef>,
    /// The language of unprefixed `(expr)` strings where the document is being
    /// converted: the innermost `compiler` of operation, step and scenario.
    compiler: Compiler,
    /// The run-wide default language (a Chainsaw Configuration's `compiler`).
    default_compiler: Compiler,
    /// Run-wide clusters (a Chainsaw Configuration's), merged into each scenario's.
    run_clusters: Vec<ClusterDef>,
    /// Whether a cluster's kubeconfig may be missing at load time: Chainsaw reads it when
    /// the cluster is first used, so a test can make it in an earlier step.
    lazy_kubeconfigs: bool,
}

impl Cx {
    fn new(file: &Path) -> Self {
        Self {
            file: Arc::new(file.to_path_buf()),
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            errors: Vec::new(),
            cluster_refs: Vec::new(),
            scope_clusters: Vec::new(),
            op_clusters: Vec::new(),
            compiler: Compiler::Jp,
            default_compiler: Compiler::Jp,
            run_clusters: Vec::new(),
            lazy_kubeconfigs: false,
        }
    }

    /// A context for a file referenced from this one: same folder for relative paths
    /// and same default compiler, its own errors.
    fn sub(&self, file: &Path) -> Cx {
        Cx {
            file: Arc::new(file.to_path_buf()),
            base: self.base.clone(),
            errors: Vec::new(),
            cluster_refs: Vec::new(),
            scope_clusters: self.scope_clusters.clone(),
            op_clusters: Vec::new(),
            compiler: self.compiler,
            default_compiler: self.default_compiler,
            run_clusters: self.run_clusters.clone(),
            lazy_kubeconfigs: self.lazy_kubeconfigs,
        }
    }

    /// Runs `f` with `raw` (a `compiler:` field), when set, as the default compiler,
    /// then restores the previous default; returns `f`'s result and the compiler used.
    fn with_compiler<T>(
        &mut self,
        raw: Option<&S<String>>,
        f: impl FnOnce(&mut Cx) -> T,
    ) -> (T, Compiler) {
        let outer = self.compiler;
        self.compiler = self.compiler(raw);
        let used = self.compiler;
        let out = f(self);
        self.compiler = outer;
        (out, used)
    }

    fn loc<T>(&self, s: &S<T>) -> Location {
        Location::from_saphyr(&self.file, s.referenced)
    }

    fn err<T>(&mut self, at: &S<T>, message: impl Into<String>) {
        let e = self.loc(at).error(message);
        self.errors.push(e);
    }

    fn node_err(&mut self, node: &Node, message: impl Into<String>) {
        let e = node.location(&self.file).error(message);
        self.errors.push(e);
    }

    fn duration(&mut self, s: Option<&S<String>>) -> Option<Duration> {
        let s = s?;
        match parse_duration(&s.value) {
            Ok(d) => Some(d),
            Err(m) => {
                self.err(s, m);
                None
            }
        }
    }

    fn string(s: Option<S<String>>) -> Option<String> {
        s.map(|s| s.value)
    }

    /// A `cluster:` field: the empty name is the default cluster (none); an `(expr)` is
    /// evaluated when the operation runs (Chainsaw's dynamic clusters); any other name
    /// is remembered, to be checked against the scenario's `clusters:`.
    fn cluster(&mut self, s: Option<S<String>>) -> Option<String> {
        let s = s?;
        if s.value.is_empty() {
            return None;
        }
        if crate::assert::syntax::is_expression(&s.value) {
            self.text_expr(&s);
            return Some(s.value);
        }
        let at = self.loc(&s);
        self.cluster_refs
            .push((s.value.clone(), at, self.scope_clusters.clone()));
        Some(s.value)
    }

    /// An action's `clusters:`: declared for its operation (taken by `operation`) and
    /// visible to its `cluster:`. Call before converting the action's `cluster`.
    fn action_clusters(&mut self, raw: Option<S<ClusterMap>>) {
        let defs = self.clusters(raw);
        self.scope_clusters
            .extend(defs.iter().map(|c| c.name.clone()));
        self.op_clusters = defs;
    }

    fn flag(s: Option<S<bool>>) -> Option<bool> {
        s.map(|s| s.value)
    }

    fn timeouts(&mut self, raw: Option<&S<RawTimeouts>>) -> Timeouts {
        let Some(raw) = raw else {
            return Timeouts::default();
        };
        let t = &raw.value;
        Timeouts {
            apply: self.duration(t.apply.as_ref()),
            assert: self.duration(t.assert.as_ref()),
            error: self.duration(t.error.as_ref()),
            delete: self.duration(t.delete.as_ref()),
            cleanup: self.duration(t.cleanup.as_ref()),
            exec: self.duration(t.exec.as_ref()),
        }
    }

    fn propagation(&mut self, s: Option<&S<String>>) -> Option<PropagationPolicy> {
        let s = s?;
        match s.value.as_str() {
            "Orphan" => Some(PropagationPolicy::Orphan),
            "Background" => Some(PropagationPolicy::Background),
            "Foreground" => Some(PropagationPolicy::Foreground),
            other => {
                self.err(
                    s,
                    format!(
                        "unknown deletionPropagationPolicy {other:?}: expected Orphan, Background or Foreground"
                    ),
                );
                None
            }
        }
    }

    fn format(&mut self, s: Option<&S<String>>) -> Option<OutputFormat> {
        let s = s?;
        match s.value.as_str() {
            "json" => Some(OutputFormat::Json),
            "yaml" => Some(OutputFormat::Yaml),
            other => {
                self.err(
                    s,
                    format!("unknown format {other:?}: expected json or yaml"),
                );
                None
            }
        }
    }

    fn pairs(p: Option<Pairs>) -> BTreeMap<String, String> {
        p.map(|p| p.0.into_iter().map(|(k, v)| (k.value, v.value)).collect())
            .unwrap_or_default()
    }

    fn tree(&mut self, node: &Node) {
        self.tree_with(node, self.compiler);
    }

    fn tree_with(&mut self, node: &Node, compiler: Compiler) {
        for (line, column, message) in validate_tree_with(node, compiler) {
            self.errors
                .push(Location::new(&self.file, line, column).error(message));
        }
    }

    /// A `compiler:` field's language (the enclosing default when unset or invalid).
    fn compiler(&mut self, raw: Option<&S<String>>) -> Compiler {
        let Some(raw) = raw else {
            return self.compiler;
        };
        match Compiler::from_name(&raw.value) {
            Some(c) => c,
            None => {
                self.err(
                    raw,
                    format!("unknown compiler {:?}: expected jp or cel", raw.value),
                );
                self.compiler
            }
        }
    }

    /// A string field that may be an `(expr)`: compiled with the default compiler so a
    /// syntax error is reported at the field.
    fn text_expr(&mut self, s: &S<String>) {
        let t = s.value.as_str();
        if crate::assert::syntax::is_expression(t)
            && let Err(e) = crate::expr::compile_prefixed(&t[1..t.len() - 1], self.compiler)
        {
            self.err(s, format!("invalid expression {t}: {e}"));
        }
    }

    fn bindings(&mut self, raw: Option<Vec<S<RawBinding>>>) -> Vec<Binding> {
        self.named_values(raw, true)
    }

    fn env(&mut self, raw: Option<Vec<S<RawBinding>>>) -> Vec<Binding> {
        self.named_values(raw, false)
    }

    fn check_name(&mut self, name: &S<String>, reserved_apply: bool, what: &str) {
        let n = name.value.as_str();
        if crate::assert::syntax::is_expression(n) {
            if let Err(e) = crate::expr::compile(&n[1..n.len() - 1]) {
                self.err(name, format!("invalid {what} name expression: {e}"));
            }
        } else if !is_binding_name(n) {
            self.err(
                name,
                format!("invalid {what} name {n:?}: use letters, digits and underscores only"),
            );
        } else if reserved_apply && RESERVED_BINDINGS.contains(&n) {
            self.err(
                name,
                format!(
                    "{what} name {n:?} is reserved (reserved: {})",
                    RESERVED_BINDINGS.join(", ")
                ),
            );
        }
    }

    fn named_values(&mut self, raw: Option<Vec<S<RawBinding>>>, binding: bool) -> Vec<Binding> {
        let mut out = Vec::new();
        for b in raw.unwrap_or_default() {
            let location = self.loc(&b);
            let name = b.value.name;
            self.check_name(&name, binding, if binding { "binding" } else { "env" });
            let compiler = self.compiler(b.value.compiler.as_ref());
            self.tree_with(&b.value.value, compiler);
            out.push(Binding {
                location,
                name: name.value,
                value: b.value.value,
                compiler,
            });
        }
        out
    }

    fn outputs(&mut self, raw: Option<Vec<S<RawOutput>>>) -> Vec<Output> {
        let mut out = Vec::new();
        for o in raw.unwrap_or_default() {
            let location = self.loc(&o);
            let raw = o.value;
            self.check_name(&raw.name, true, "output");
            let compiler = self.compiler(raw.compiler.as_ref());
            self.tree_with(&raw.value, compiler);
            if let Some(m) = &raw.match_ {
                self.tree_with(m, compiler);
            }
            out.push(Output {
                location,
                name: raw.name.value,
                value: raw.value,
                match_: raw.match_,
                compiler,
            });
        }
        out
    }

    fn expectations(&mut self, raw: Option<Vec<S<RawExpectation>>>) -> Vec<Expectation> {
        let mut out = Vec::new();
        for e in raw.unwrap_or_default() {
            let location = self.loc(&e);
            let raw = e.value;
            if let Some(m) = &raw.match_ {
                self.tree(m);
            }
            self.tree(&raw.check);
            out.push(Expectation {
                location,
                match_: raw.match_,
                check: raw.check,
            });
        }
        out
    }

    /// Resolves `file` / `resource` of an action into manifests.
    fn manifests(
        &mut self,
        at: Location,
        file: Option<&S<String>>,
        resource: Option<Node>,
        required: bool,
    ) -> Vec<Manifest> {
        let mut out = Vec::new();
        match (file, resource) {
            (Some(f), Some(r)) => {
                self.node_err(&r, "set either `file` or `resource`, not both");
                let _ = f;
            }
            (None, Some(r)) => {
                if !matches!(r.value, NodeValue::Map(_)) {
                    self.node_err(
                        &r,
                        format!("`resource` must be a mapping, found a {}", r.type_name()),
                    );
                }
                self.tree(&r);
                out.push(Manifest {
                    file: Arc::clone(&self.file),
                    node: r,
                    source: ManifestSource::Inline,
                });
            }
            (Some(f), None) => {
                for path in self.resolve_files(f) {
                    match load_documents(&path) {
                        Ok(docs) => {
                            let file = Arc::new(path.clone());
                            for node in docs.into_iter().flat_map(Node::list_items) {
                                let mut sub = self.sub(&path);
                                sub.tree(&node);
                                self.errors.append(&mut sub.errors);
                                out.push(Manifest {
                                    file: Arc::clone(&file),
                                    node,
                                    source: ManifestSource::File(path.clone()),
                                });
                            }
                        }
                        Err(e) => self.errors.push(e),
                    }
                }
            }
            (None, None) => {
                if required {
                    self.errors
                        .push(at.error("missing `file` or `resource`: say what to send or check"));
                }
            }
        }
        out
    }

    /// Resolves a `file:` reference (a path or a glob) relative to the scenario file.
    fn resolve_files(&mut self, f: &S<String>) -> Vec<PathBuf> {
        let text = f.value.trim();
        if text.starts_with("http://") || text.starts_with("https://") {
            self.err(
                f,
                "remote file references are not supported; vendor the file next to the scenario",
            );
            return Vec::new();
        }
        let joined = self.base.join(text);
        if text.contains(['*', '?', '[']) {
            let pattern = if Path::new(text).is_absolute() {
                text.to_string()
            } else {
                // The scenario's own folder may contain glob metacharacters: escape it.
                Path::new(&glob::Pattern::escape(&self.base.to_string_lossy()))
                    .join(text)
                    .to_string_lossy()
                    .to_string()
            };
            match glob::glob(&pattern) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.flatten().filter(|p| p.is_file()).collect();
                    found.sort();
                    if found.is_empty() {
                        self.err(
                            f,
                            format!(
                                "no file matches {text:?} (relative to {})",
                                self.base.display()
                            ),
                        );
                    }
                    found
                }
                Err(e) => {
                    self.err(f, format!("invalid glob {text:?}: {e}"));
                    Vec::new()
                }
            }
        } else if joined.is_file() {
            vec![joined]
        } else {
            self.err(
                f,
                format!("referenced file not found: {}", joined.display()),
            );
            Vec::new()
        }
    }

    fn scenario(&mut self, doc: S<RawDocument>) -> Option<Scenario> {
        self.cluster_refs.clear();
        self.lazy_kubeconfigs = false;
        let location = self.loc(&doc);
        let doc = doc.value;
        let flavor = match (doc.api_version.value.as_str(), doc.kind.value.as_str()) {
            (KANON_API_VERSION, "Scenario") => Flavor::Kanon,
            (CHAINSAW_API_VERSION, "Test") => {
                self.lazy_kubeconfigs = true;
                Flavor::Chainsaw
            }
            (KANON_API_VERSION | CHAINSAW_API_VERSION, "StepTemplate") => {
                self.err(
                    &doc.kind,
                    "a StepTemplate is not a scenario; reference it from a step with `use: {template: FILE}`",
                );
                return None;
            }
            (KANON_API_VERSION | CHAINSAW_API_VERSION, other) => {
                self.err(
                    &doc.kind,
                    format!("unsupported kind {other:?}: expected Scenario ({KANON_API_VERSION}) or Test ({CHAINSAW_API_VERSION})"),
                );
                return None;
            }
            (other, _) => {
                self.err(
                    &doc.api_version,
                    format!("unsupported apiVersion {other:?}: expected {KANON_API_VERSION} or {CHAINSAW_API_VERSION}"),
                );
                return None;
            }
        };
        let (name, labels, annotations) = match doc.metadata {
            Some(m) => {
                let m = m.value;
                if let Some(ns) = &m.namespace {
                    self.err(ns, "metadata.namespace is not used; set spec.namespace to run in a fixed namespace");
                }
                (
                    Cx::string(m.name),
                    Cx::pairs(m.labels),
                    Cx::pairs(m.annotations),
                )
            }
            None => (None, BTreeMap::new(), BTreeMap::new()),
        };
        let name = name.unwrap_or_else(|| {
            self.file
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "scenario".to_string())
        });
        let spec_loc = self.loc(&doc.spec);
        let spec = doc.spec.value;
        for (field, present) in [
            ("try", spec.try_.is_some()),
            ("finally", spec.finally.is_some()),
            ("cleanup", spec.cleanup.is_some()),
        ] {
            if present {
                self.errors.push(spec_loc.error(format!(
                    "spec.{field} belongs to steps: move it under spec.steps[]"
                )));
            }
        }
        let Some(raw_steps) = spec.steps else {
            self.errors
                .push(spec_loc.error("missing spec.steps: a scenario needs at least one step"));
            return None;
        };
        if raw_steps.is_empty() {
            self.errors
                .push(spec_loc.error("spec.steps is empty: a scenario needs at least one step"));
        }
        let timeouts = self.timeouts(spec.timeouts.as_ref());
        let timeout = self.duration(spec.timeout.as_ref());
        self.compiler = self.default_compiler;
        self.compiler = self.compiler(spec.compiler.as_ref());
        let bindings = self.bindings(spec.bindings);
        let mut binding_sets = Vec::new();
        for set in spec.scenarios.unwrap_or_default() {
            binding_sets.push(self.bindings(set.value.bindings));
        }
        let mut steps = Vec::new();
        for (i, raw) in raw_steps.into_iter().enumerate() {
            steps.push(self.step(i, raw));
        }
        let catch = self.operations(spec.catch);
        self.no_disrupt(&catch, "catch");
        self.no_proxy(&catch, "catch");
        let disrupts = steps
            .iter()
            .flat_map(|s: &Step| s.try_.iter())
            .find(|o| matches!(o.operation, Operation::Disrupt(_)))
            .map(|o| o.location.clone());
        if let Some(at) = disrupts {
            match &spec.concurrent {
                Some(c) if !c.value => {}
                Some(c) => self.err(
                    c,
                    "a scenario with `disrupt` must run alone: set `concurrent: false`",
                ),
                None => self.errors.push(at.error(
                    "a scenario with `disrupt` must run alone: add `concurrent: false` to its spec",
                )),
            }
        }
        let clauses = spec
            .clauses
            .unwrap_or_default()
            .into_iter()
            .map(|c| Clause {
                location: self.loc(&c),
                id: c.value,
            })
            .collect();
        let mut mocks = Vec::new();
        for m in spec.mocks.unwrap_or_default() {
            if let Some(mock) = self.mock(m, &mocks) {
                mocks.push(mock);
            }
        }
        let namespace_template_compiler = self.compiler(spec.namespace_template_compiler.as_ref());
        if let Some(t) = &spec.namespace_template {
            self.tree_with(t, namespace_template_compiler);
        }
        let mut clusters = self.clusters(spec.clusters);
        merge_clusters(&self.run_clusters, &mut clusters);
        let cluster = self.cluster(spec.cluster);
        self.check_cluster_refs(&clusters);
        Some(Scenario {
            flavor,
            name,
            location,
            labels,
            annotations,
            description: Cx::string(spec.description),
            clauses,
            mocks,
            values: spec.values,
            timeouts,
            timeout,
            skip: Cx::flag(spec.skip).unwrap_or(false),
            concurrent: Cx::flag(spec.concurrent),
            skip_delete: Cx::flag(spec.skip_delete),
            fail_fast: Cx::flag(spec.fail_fast),
            template: Cx::flag(spec.template),
            namespace: Cx::string(spec.namespace),
            namespace_template: spec.namespace_template,
            namespace_template_compiler,
            bindings,
            binding_sets,
            steps,
            catch,
            deletion_propagation_policy: self
                .propagation(spec.deletion_propagation_policy.as_ref()),
            delay_before_cleanup: self.duration(spec.delay_before_cleanup.as_ref()),
            fast_namespace_deletion: None,
            force_termination_grace_period: self
                .duration(spec.force_termination_grace_period.as_ref()),
            cluster,
            clusters,
        })
    }

    /// A `clusters` registry (scenario, step or action): each kubeconfig resolved against the scenario's folder and
    /// required to exist, so a typo fails at load time rather than mid-run.
    fn clusters(&mut self, raw: Option<S<ClusterMap>>) -> Vec<ClusterDef> {
        let mut out: Vec<ClusterDef> = Vec::new();
        for (name, entry) in raw.map(|r| r.value.0).unwrap_or_default() {
            if name.value.is_empty() {
                self.err(
                    &name,
                    "a cluster needs a name: the empty name is the cluster kanon was given",
                );
                continue;
            }
            if out.iter().any(|c| c.name == name.value) {
                self.err(&name, format!("duplicate cluster name {:?}", name.value));
                continue;
            }
            let location = self.loc(&name);
            let entry = entry.value;
            let kubeconfig = self.base.join(&entry.kubeconfig.value);
            if !kubeconfig.is_file() && !self.lazy_kubeconfigs {
                self.err(
                    &entry.kubeconfig,
                    format!(
                        "cluster {:?}: kubeconfig not found: {}",
                        name.value,
                        kubeconfig.display()
                    ),
                );
            }
            out.push(ClusterDef {
                location,
                name: name.value,
                kubeconfig,
                context: Cx::string(entry.context).filter(|c| !c.is_empty()),
            });
        }
        out
    }

    /// Every `cluster:` of the scenario names one of the `clusters` declared around it:
    /// on its operation, its step or the scenario (a cluster whose entry was itself in
    /// error is not reported twice).
    fn check_cluster_refs(&mut self, clusters: &[ClusterDef]) {
        for (name, at, visible) in std::mem::take(&mut self.cluster_refs) {
            if !visible.contains(&name) && !clusters.iter().any(|c| c.name == name) {
                let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
                self.errors.push(at.error(format!(
                    "unknown cluster {name:?}: declare it under `clusters` of the operation, the step or the scenario{}",
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!(" (declared: {})", known.join(", "))
                    }
                )));
            }
        }
    }

    fn mock(&mut self, node: Node, existing: &[MockSpec]) -> Option<MockSpec> {
        let location = node.location(&self.file);
        let NodeValue::Map(entries) = node.value else {
            self.errors.push(location.error(format!(
                "a mock must be a mapping `{{name: N, type: otlp|webhook, ...}}`, found a {}",
                node.type_name()
            )));
            return None;
        };
        let mut name = None;
        let mut kind = None;
        let mut rest = Vec::new();
        for (k, v) in entries {
            match k.name.as_str() {
                "name" => match v.as_str() {
                    Some(s) if is_binding_name(s) => name = Some(s.to_string()),
                    _ => self.node_err(
                        &v,
                        "mock `name` must be a string usable as `$mocks.<name>` (letters, digits, underscores)",
                    ),
                },
                "type" => match v.as_str() {
                    Some("otlp") => kind = Some(MockKind::Otlp),
                    Some("webhook") => kind = Some(MockKind::Webhook),
                    _ => self.node_err(&v, "unknown mock `type`: expected otlp or webhook"),
                },
                _ => rest.push((k, v)),
            }
        }
        let (Some(name), Some(kind)) = (name, kind) else {
            self.errors
                .push(location.error("a mock needs a `name` and a `type` (otlp or webhook)"));
            return None;
        };
        if existing.iter().any(|m| m.name == name) {
            self.errors
                .push(location.error(format!("duplicate mock name {name:?}")));
        }
        Some(MockSpec {
            location: location.clone(),
            name,
            kind,
            config: Node {
                value: NodeValue::Map(rest),
                line: location.line,
                column: location.column,
            },
        })
    }

    fn step(&mut self, index: usize, raw: S<RawStep>) -> Step {
        let compiler = raw.value.compiler.clone();
        let scope = self.scope_clusters.len();
        let step = self
            .with_compiler(compiler.as_ref(), |cx| cx.step_body(index, raw))
            .0;
        self.scope_clusters.truncate(scope);
        step
    }

    fn step_body(&mut self, index: usize, raw: S<RawStep>) -> Step {
        let location = self.loc(&raw);
        let mut raw = raw.value;
        // The step's clusters first: its `cluster:` and its operations can name them.
        let clusters = self.clusters(raw.clusters.take());
        self.scope_clusters
            .extend(clusters.iter().map(|c| c.name.clone()));
        let mut bindings = Vec::new();
        let mut try_ = Vec::new();
        let mut catch = Vec::new();
        let mut finally = Vec::new();
        let mut cleanup = Vec::new();
        let mut template_file = None;
        if let Some(u) = raw.use_ {
            let u = u.value;
            if let Some(t) = self.step_template(&u.template) {
                template_file = Some(t.0);
                let (tb, tt, tc, tf, tcl) = t.1;
                bindings.extend(tb);
                try_.extend(tt);
                catch.extend(tc);
                finally.extend(tf);
                cleanup.extend(tcl);
            }
            if let Some(with) = u.with {
                bindings.extend(self.bindings(with.bindings));
            }
        } else if raw.try_.is_none() {
            self.errors
                .push(location.error("a step needs `try` (or `use` of a step template)"));
        }
        bindings.extend(self.bindings(raw.bindings));
        try_.extend(self.operations(raw.try_));
        catch.extend(self.operations(raw.catch));
        finally.extend(self.operations(raw.finally));
        cleanup.extend(self.operations(raw.cleanup));
        for (block, ops) in [
            ("catch", &catch),
            ("finally", &finally),
            ("cleanup", &cleanup),
        ] {
            self.no_disrupt(ops, block);
            self.no_proxy(ops, block);
        }
        Step {
            name: Cx::string(raw.name).unwrap_or_else(|| format!("step-{}", index + 1)),
            location,
            description: Cx::string(raw.description),
            timeouts: self.timeouts(raw.timeouts.as_ref()),
            skip_delete: Cx::flag(raw.skip_delete),
            template: Cx::flag(raw.template),
            bindings,
            try_,
            catch,
            finally,
            cleanup,
            deletion_propagation_policy: self.propagation(raw.deletion_propagation_policy.as_ref()),
            cluster: self.cluster(raw.cluster),
            clusters,
            skip: Cx::flag(raw.skip).unwrap_or(false),
            template_file,
        }
    }

    #[allow(clippy::type_complexity)]
    fn step_template(
        &mut self,
        reference: &S<String>,
    ) -> Option<(
        PathBuf,
        (
            Vec<Binding>,
            Vec<StepOperation>,
            Vec<StepOperation>,
            Vec<StepOperation>,
            Vec<StepOperation>,
        ),
    )> {
        let path = self.base.join(&reference.value);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.err(
                    reference,
                    format!("cannot read step template {}: {e}", path.display()),
                );
                return None;
            }
        };
        let docs: Vec<S<RawDocument>> = match serde_saphyr::from_multiple(&text) {
            Ok(d) => d,
            Err(e) => {
                self.errors.push(ParseError::from_saphyr(&path, &e));
                return None;
            }
        };
        let mut sub = Cx::new(&path);
        sub.compiler = self.compiler;
        sub.scope_clusters = self.scope_clusters.clone();
        let mut result = None;
        for doc in docs {
            let doc = doc.value;
            if doc.kind.value != "StepTemplate"
                || !matches!(
                    doc.api_version.value.as_str(),
                    KANON_API_VERSION | CHAINSAW_API_VERSION
                )
            {
                sub.err(&doc.kind, "expected a StepTemplate document");
                continue;
            }
            if result.is_some() {
                sub.err(&doc.kind, "a step template file must hold one StepTemplate");
                continue;
            }
            let spec_loc = sub.loc(&doc.spec);
            let spec = doc.spec.value;
            if spec.steps.is_some() {
                sub.errors.push(
                    spec_loc.error("a StepTemplate has no `steps`; put operations under spec.try"),
                );
            }
            let b = sub.bindings(spec.bindings);
            let t = sub.operations(spec.try_);
            let c = sub.operations(spec.catch);
            let f = sub.operations(spec.finally);
            let cl = sub.operations(spec.cleanup);
            result = Some((b, t, c, f, cl));
        }
        self.errors.append(&mut sub.errors);
        self.cluster_refs.append(&mut sub.cluster_refs);
        if result.is_none() {
            self.err(reference, "no StepTemplate found in referenced file");
        }
        result.map(|r| (path, r))
    }

    fn operations(&mut self, raw: Option<Vec<S<RawOperation>>>) -> Vec<StepOperation> {
        let mut out = Vec::new();
        for op in raw.unwrap_or_default() {
            if let Some(op) = self.operation(op) {
                out.push(op);
            }
        }
        out
    }

    fn operation(&mut self, raw: S<RawOperation>) -> Option<StepOperation> {
        let compiler = raw.value.compiler.clone();
        let scope = self.scope_clusters.len();
        let (op, compiler) = self.with_compiler(compiler.as_ref(), |cx| cx.operation_body(raw));
        self.scope_clusters.truncate(scope);
        let clusters = std::mem::take(&mut self.op_clusters);
        op.map(|mut op| {
            op.compiler = compiler;
            op.clusters = clusters;
            op
        })
    }

    fn operation_body(&mut self, raw: S<RawOperation>) -> Option<StepOperation> {
        let location = self.loc(&raw);
        let r = raw.value;
        let mut ops: Vec<Operation> = Vec::new();
        let mut names: Vec<&'static str> = Vec::new();
        macro_rules! one {
            ($field:expr, $name:literal, $conv:expr) => {
                if let Some(v) = $field {
                    names.push($name);
                    if let Some(op) = $conv(self, v) {
                        ops.push(op);
                    }
                }
            };
        }
        one!(r.apply, "apply", |cx: &mut Cx, v| cx
            .resource_op(v)
            .map(Operation::Apply));
        one!(r.create, "create", |cx: &mut Cx, v| cx
            .resource_op(v)
            .map(Operation::Create));
        one!(r.update, "update", |cx: &mut Cx, v| cx
            .resource_op(v)
            .map(Operation::Update));
        one!(r.patch, "patch", |cx: &mut Cx, v| cx
            .resource_op(v)
            .map(Operation::Patch));
        one!(r.assert, "assert", |cx: &mut Cx, v| Some(
            Operation::Assert(cx.check_op(v))
        ));
        one!(r.error, "error", |cx: &mut Cx, v| Some(Operation::Error(
            cx.check_op(v)
        )));
        one!(r.consistently, "consistently", |cx: &mut Cx, v| cx
            .consistently(v));
        one!(r.delete, "delete", |cx: &mut Cx, v| cx.delete(v));
        one!(r.wait, "wait", |cx: &mut Cx, v| cx.wait(v));
        one!(r.sleep, "sleep", |cx: &mut Cx, v: S<RawSleep>| {
            let location = cx.loc(&v);
            cx.duration(Some(&v.value.duration))
                .map(|duration| Operation::Sleep(SleepOp { location, duration }))
        });
        one!(r.command, "command", |cx: &mut Cx, v| Some(cx.command(v)));
        one!(r.script, "script", |cx: &mut Cx, v| Some(cx.script(v)));
        one!(r.get, "get", |cx: &mut Cx, v| Some(cx.get(v)));
        one!(r.describe, "describe", |cx: &mut Cx, v| Some(
            cx.describe(v)
        ));
        one!(r.events, "events", |cx: &mut Cx, v| Some(cx.events(v)));
        one!(r.pod_logs, "podLogs", |cx: &mut Cx, v| Some(cx.pod_logs(v)));
        one!(r.proxy, "proxy", |cx: &mut Cx, v| cx.proxy(v));
        one!(r.disrupt, "disrupt", |cx: &mut Cx, v| cx.disrupt(v));
        match names.len() {
            0 => {
                self.errors.push(location.error(
                    "operation has no action: expected one of apply, create, update, patch, assert, error, consistently, delete, wait, sleep, command, script, get, describe, events, podLogs, proxy, disrupt",
                ));
                return None;
            }
            1 => {}
            _ => {
                self.errors.push(location.error(format!(
                    "an operation holds exactly one action, found {}: split it into several list entries",
                    names.join(", ")
                )));
                return None;
            }
        }
        let operation = ops.pop()?;
        Some(StepOperation {
            location,
            description: Cx::string(r.description),
            continue_on_error: Cx::flag(r.continue_on_error).unwrap_or(false),
            compiler: self.compiler,
            clusters: Vec::new(),
            operation,
        })
    }

    /// `disrupt` only belongs in `try`: faults are started deliberately, and lifted by
    /// the engine when the scenario ends.
    fn no_disrupt(&mut self, ops: &[StepOperation], block: &str) {
        for op in ops {
            if matches!(op.operation, Operation::Disrupt(_)) {
                self.errors.push(op.location.error(format!(
                    "`disrupt` belongs in `try`, not in `{block}`: disruptions are lifted by themselves when the scenario ends"
                )));
            }
        }
    }

    /// `proxy` only belongs in `try`, as in Chainsaw (its catch, finally and cleanup
    /// entries take no `proxy`).
    fn no_proxy(&mut self, ops: &[StepOperation], block: &str) {
        for op in ops {
            if matches!(op.operation, Operation::Proxy(_)) {
                self.errors.push(op.location.error(format!(
                    "`proxy` belongs in `try`, not in `{block}` (as in Chainsaw); use a `script` with `kubectl get --raw` there"
                )));
            }
        }
    }

    /// A disruption's duration: parsed, positive, at most [`MAX_DISRUPTION`].
    fn disruption_duration(&mut self, s: &S<String>) -> Option<Duration> {
        let d = self.duration(Some(s))?;
        if d.is_zero() || d > MAX_DISRUPTION {
            self.err(
                s,
                format!(
                    "a disruption lasts more than 0s and at most {}s, found {:?}",
                    MAX_DISRUPTION.as_secs(),
                    s.value
                ),
            );
            return None;
        }
        Some(d)
    }

    /// The resource plurals of a fault's `resources:` list; `None` (after an error) when
    /// the list is empty or holds an empty name.
    fn fault_resources(&mut self, list: &S<Vec<S<String>>>) -> Option<Vec<String>> {
        let resources: Vec<String> = list.value.iter().map(|r| r.value.clone()).collect();
        if resources.is_empty() || resources.iter().any(|r| r.is_empty()) {
            self.err(
                list,
                "`resources` lists resource plurals (`[mcptelemetryconfigs]`)",
            );
            return None;
        }
        Some(resources)
    }

    fn status_codes(&mut self, node: &Node) -> Vec<u16> {
        let items: Vec<&Node> = match &node.value {
            NodeValue::Seq(items) if !items.is_empty() => items.iter().collect(),
            NodeValue::Seq(_) => {
                self.node_err(node, "`status` needs at least one status code");
                return Vec::new();
            }
            _ => vec![node],
        };
        let mut out = Vec::new();
        for item in items {
            let code = match &item.value {
                NodeValue::Number(n) => n.as_u64().and_then(|c| u16::try_from(c).ok()),
                _ => None,
            };
            match code {
                Some(c) if crate::faults::plan::reason(c).is_some() => out.push(c),
                _ => self.node_err(
                    item,
                    "unsupported `status`: expected 409 (Conflict), 429 (TooManyRequests), 500 (InternalError) or 503 (ServiceUnavailable)",
                ),
            }
        }
        out
    }

    fn disrupt(&mut self, v: S<RawDisrupt>) -> Option<Operation> {
        let location = self.loc(&v);
        let r = v.value;
        let timeout = self.duration(r.timeout.as_ref());
        let disruption = match (r.operator_api, r.api_server) {
            (Some(_), Some(_)) | (None, None) => {
                self.errors.push(
                    location.error("`disrupt` needs exactly one of `operatorApi` and `apiServer`"),
                );
                return None;
            }
            (Some(o), None) => {
                let at = self.loc(&o);
                let o = o.value;
                match (o.fail_writes, o.fail_reads, o.outage) {
                    (None, Some(f), None) => {
                        let Some(for_) = &o.for_ else {
                            self.errors.push(at.error(
                                "`failReads` needs `for`: how long the fault lasts (`for: 20s`)",
                            ));
                            return None;
                        };
                        let duration = self.disruption_duration(for_);
                        let statuses = self.status_codes(&f.value.status);
                        let resources = self.fault_resources(&f.value.resources)?;
                        if statuses.is_empty() {
                            return None;
                        }
                        Disruption::FailReads {
                            resources,
                            statuses,
                            duration: duration?,
                        }
                    }
                    (Some(f), None, None) => {
                        let Some(for_) = &o.for_ else {
                            self.errors.push(at.error(
                                "`failWrites` needs `for`: how long the fault lasts (`for: 20s`)",
                            ));
                            return None;
                        };
                        let duration = self.disruption_duration(for_);
                        let statuses = self.status_codes(&f.value.status);
                        let ratio = match f.value.ratio {
                            Some(r) if r.value > 0.0 && r.value <= 1.0 => r.value,
                            Some(r) => {
                                self.err(
                                    &r,
                                    format!(
                                        "`ratio` is a share of writes in (0, 1], found {}",
                                        r.value
                                    ),
                                );
                                return None;
                            }
                            None => 1.0,
                        };
                        let resources = match &f.value.resources {
                            Some(list) => self.fault_resources(list)?,
                            None => Vec::new(),
                        };
                        if statuses.is_empty() {
                            return None;
                        }
                        Disruption::FailWrites {
                            resources,
                            statuses,
                            ratio,
                            duration: duration?,
                        }
                    }
                    (None, None, Some(d)) => {
                        if let Some(f) = &o.for_ {
                            self.err(
                                f,
                                "`outage` carries its own duration (`outage: 8s`); drop `for`",
                            );
                        }
                        Disruption::Outage {
                            duration: self.disruption_duration(&d)?,
                        }
                    }
                    _ => {
                        self.errors.push(at.error(
                            "`operatorApi` needs exactly one of `failWrites` (with `for`), `failReads` (with `for`) and `outage`",
                        ));
                        return None;
                    }
                }
            }
            (None, Some(a)) => {
                let at = self.loc(&a);
                match a.value.restart {
                    Some(n) => {
                        if !matches!(&n.value, NodeValue::Map(m) if m.is_empty())
                            && !matches!(n.value, NodeValue::Null)
                        {
                            self.node_err(&n, "`restart` takes no options: write `restart: {}`");
                        }
                        Disruption::RestartApiServer
                    }
                    None => {
                        self.errors
                            .push(at.error("`apiServer` needs `restart: {}`"));
                        return None;
                    }
                }
            }
        };
        Some(Operation::Disrupt(DisruptOp {
            location,
            disruption,
            timeout,
        }))
    }

    fn resource_op(&mut self, v: S<RawResourceAction>) -> Option<ResourceOp> {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let resources = self.manifests(location.clone(), r.file.as_ref(), r.resource, true);
        if let Some(sub) = &r.subresource
            && sub.value != "status"
        {
            self.err(
                sub,
                format!("unsupported subresource {:?}: only `status`", sub.value),
            );
        }
        Some(ResourceOp {
            location,
            resources,
            file: r.file.map(|f| f.value),
            template: Cx::flag(r.template),
            dry_run: Cx::flag(r.dry_run),
            bindings: self.bindings(r.bindings),
            outputs: self.outputs(r.outputs),
            expect: self.expectations(r.expect),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
            subresource: Cx::string(r.subresource),
        })
    }

    fn check_op(&mut self, v: S<RawCheckAction>) -> CheckOp {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let trees = self.manifests(location.clone(), r.file.as_ref(), r.resource, true);
        CheckOp {
            location,
            trees,
            file: r.file.map(|f| f.value),
            template: Cx::flag(r.template),
            bindings: self.bindings(r.bindings),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
            mock: Cx::string(r.mock),
        }
    }

    fn consistently(&mut self, v: S<RawConsistently>) -> Option<Operation> {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let trees = self.manifests(location.clone(), r.file.as_ref(), r.resource, true);
        let duration = self.duration(Some(&r.duration))?;
        Some(Operation::Consistently(ConsistentlyOp {
            check: CheckOp {
                location,
                trees,
                file: r.file.map(|f| f.value),
                template: Cx::flag(r.template),
                bindings: self.bindings(r.bindings),
                timeout: None,
                cluster: self.cluster(r.cluster),
                mock: Cx::string(r.mock),
            },
            duration,
        }))
    }

    fn delete(&mut self, v: S<RawDelete>) -> Option<Operation> {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let target = match r.ref_ {
            Some(rf) => {
                if r.file.is_some() {
                    self.err(&rf, "set either `file` or `ref`, not both");
                }
                let ref_location = self.loc(&rf);
                let rf = rf.value;
                DeleteTarget::Ref(ObjectReference {
                    location: ref_location,
                    api_version: rf.api_version.value,
                    kind: rf.kind.value,
                    namespace: Cx::string(rf.namespace),
                    name: Cx::string(rf.name),
                    labels: Cx::pairs(rf.labels),
                })
            }
            None => {
                if r.file.is_none() {
                    self.errors
                        .push(location.error("delete needs `file` or `ref`"));
                }
                DeleteTarget::Resources(self.manifests(
                    location.clone(),
                    r.file.as_ref(),
                    None,
                    false,
                ))
            }
        };
        Some(Operation::Delete(DeleteOp {
            location,
            target,
            file: r.file.map(|f| f.value),
            template: Cx::flag(r.template),
            bindings: self.bindings(r.bindings),
            expect: self.expectations(r.expect),
            timeout: self.duration(r.timeout.as_ref()),
            propagation: self.propagation(r.deletion_propagation_policy.as_ref()),
            cluster: self.cluster(r.cluster),
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn selector(
        &mut self,
        at: &Location,
        api_version: Option<S<String>>,
        kind: Option<S<String>>,
        resource: Option<S<String>>,
        namespace: Option<S<String>>,
        name: Option<S<String>>,
        selector: Option<S<String>>,
        needs_kind: bool,
    ) -> ObjectSelector {
        if needs_kind && kind.is_none() && resource.is_none() {
            self.errors
                .push(at.error("missing `kind` (with `apiVersion`) or `resource`"));
        }
        if let (Some(n), Some(s)) = (&name, &selector) {
            let _ = n;
            self.err(s, "set either `name` or `selector`, not both");
        }
        // As in Chainsaw, these are expressions: `(expr)` is evaluated with the bindings.
        for field in [&namespace, &name, &selector].into_iter().flatten() {
            self.text_expr(field);
        }
        ObjectSelector {
            api_version: Cx::string(api_version),
            kind: Cx::string(kind),
            resource: Cx::string(resource),
            namespace: Cx::string(namespace),
            name: Cx::string(name),
            selector: Cx::string(selector),
        }
    }

    fn wait(&mut self, v: S<RawWait>) -> Option<Operation> {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let object = self.selector(
            &location,
            r.api_version,
            r.kind,
            r.resource,
            r.namespace,
            r.name,
            r.selector,
            true,
        );
        let for_loc = self.loc(&r.for_);
        let f = r.for_.value;
        let mut conditions = Vec::new();
        if f.deletion.is_some() {
            conditions.push(WaitFor::Deletion);
        }
        if f.creation.is_some() {
            conditions.push(WaitFor::Creation);
        }
        if let Some(c) = &f.condition {
            self.text_expr(&c.value.name);
            if let Some(v) = &c.value.value {
                self.text_expr(v);
            }
        }
        if let Some(j) = &f.json_path {
            self.text_expr(&j.value.path);
            if let Some(v) = &j.value.value {
                self.text_expr(v);
            }
        }
        if let Some(c) = f.condition {
            conditions.push(WaitFor::Condition {
                name: c.value.name.value,
                value: Cx::string(c.value.value),
            });
        }
        if let Some(j) = f.json_path {
            conditions.push(WaitFor::JsonPath {
                path: j.value.path.value,
                value: Cx::string(j.value.value),
            });
        }
        if conditions.len() != 1 {
            self.errors.push(
                for_loc.error("`for` needs exactly one of deletion, creation, condition, jsonPath"),
            );
            return None;
        }
        Some(Operation::Wait(WaitOp {
            location,
            object,
            for_: conditions.pop()?,
            format: self.format(r.format.as_ref()),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
        }))
    }

    fn command(&mut self, v: S<RawCommand>) -> Operation {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        if let Some(c) = &r.check {
            self.tree(c);
        }
        for a in r.args.iter().flatten() {
            self.text_expr(a);
        }
        Operation::Command(CommandOp {
            location,
            entrypoint: r.entrypoint.value,
            args: r
                .args
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.value)
                .collect(),
            env: self.env(r.env),
            work_dir: Cx::string(r.work_dir),
            check: r.check,
            outputs: self.outputs(r.outputs),
            bindings: self.bindings(r.bindings),
            timeout: self.duration(r.timeout.as_ref()),
            skip_log_output: Cx::flag(r.skip_log_output).unwrap_or(false),
            cluster: self.cluster(r.cluster),
        })
    }

    fn script(&mut self, v: S<RawScript>) -> Operation {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        if let Some(c) = &r.check {
            self.tree(c);
        }
        Operation::Script(ScriptOp {
            location,
            content: r.content.value,
            env: self.env(r.env),
            work_dir: Cx::string(r.work_dir),
            check: r.check,
            outputs: self.outputs(r.outputs),
            bindings: self.bindings(r.bindings),
            timeout: self.duration(r.timeout.as_ref()),
            skip_log_output: Cx::flag(r.skip_log_output).unwrap_or(false),
            cluster: self.cluster(r.cluster),
        })
    }

    fn get(&mut self, v: S<RawGet>) -> Operation {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let object = self.selector(
            &location,
            r.api_version,
            r.kind,
            r.resource,
            r.namespace,
            r.name,
            r.selector,
            true,
        );
        Operation::Get(GetOp {
            location,
            object,
            format: self.format(r.format.as_ref()),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
        })
    }

    fn describe(&mut self, v: S<RawDescribe>) -> Operation {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let object = self.selector(
            &location,
            r.api_version,
            r.kind,
            r.resource,
            r.namespace,
            r.name,
            r.selector,
            true,
        );
        Operation::Describe(DescribeOp {
            location,
            object,
            show_events: Cx::flag(r.show_events),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
        })
    }

    fn events(&mut self, v: S<RawEvents>) -> Operation {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let object = self.selector(
            &location,
            None,
            None,
            None,
            r.namespace,
            r.name,
            r.selector,
            false,
        );
        Operation::Events(EventsOp {
            location,
            object,
            format: self.format(r.format.as_ref()),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
        })
    }

    fn pod_logs(&mut self, v: S<RawPodLogs>) -> Operation {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        let object = self.selector(
            &location,
            None,
            None,
            None,
            r.namespace,
            r.name,
            r.selector,
            false,
        );
        if let Some(c) = &r.container {
            self.text_expr(c);
        }
        Operation::PodLogs(PodLogsOp {
            location,
            object,
            container: Cx::string(r.container),
            tail: r.tail.map(|t| t.value),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
        })
    }
}

impl Cx {
    /// `proxy`: the object (its name, namespace, port and path may be `(expr)`s), an
    /// optional `check` tree and `outputs`.
    fn proxy(&mut self, v: S<RawProxy>) -> Option<Operation> {
        let location = self.loc(&v);
        let mut r = v.value;
        self.action_clusters(r.clusters.take());
        for field in [Some(&r.name), r.namespace.as_ref(), r.path.as_ref()]
            .into_iter()
            .flatten()
        {
            self.text_expr(field);
        }
        if r.name.value.is_empty() {
            self.err(&r.name, "proxy needs the `name` of the object to proxy to");
        }
        let port = match r.port.as_ref().map(|n| (n, &n.value)) {
            None => None,
            Some((node, NodeValue::String(p))) => {
                let t = p.as_str();
                if crate::assert::syntax::is_expression(t)
                    && let Err(e) = crate::expr::compile_prefixed(&t[1..t.len() - 1], self.compiler)
                {
                    self.node_err(node, format!("invalid expression {t}: {e}"));
                }
                Some(p.clone())
            }
            Some((_, NodeValue::Number(n)))
                if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) =>
            {
                Some(n.to_string())
            }
            Some((node, _)) => {
                self.node_err(
                    node,
                    format!(
                        "proxy `port` must be a port name, a number in 1..=65535 or an (expression), found {}",
                        node.type_name()
                    ),
                );
                None
            }
        };
        if let Some(c) = &r.check {
            self.tree(c);
        }
        Some(Operation::Proxy(ProxyOp {
            location,
            api_version: r.api_version.value,
            kind: r.kind.value,
            namespace: Cx::string(r.namespace).filter(|n| !n.is_empty()),
            name: r.name.value,
            port,
            path: Cx::string(r.path),
            check: r.check,
            outputs: self.outputs(r.outputs),
            timeout: self.duration(r.timeout.as_ref()),
            cluster: self.cluster(r.cluster),
        }))
    }
}

/// The parts of a run configuration (a Chainsaw `Configuration`) that read like
/// scenario fields, still raw and positioned; [`run_defaults`] converts them with the
/// scenario loader's own rules.
#[derive(Debug, Default)]
pub(crate) struct RawRunDefaults {
    /// `timeouts`.
    pub timeouts: Option<S<RawTimeouts>>,
    /// `compiler` / `templating.compiler`.
    pub compiler: Option<S<String>>,
    /// `template` / `templating.enabled`.
    pub template: Option<S<bool>>,
    /// `namespaceTemplate` / `namespace.template`.
    pub namespace_template: Option<Node>,
    /// `namespaceTemplateCompiler` / `namespace.compiler`.
    pub namespace_template_compiler: Option<S<String>>,
    /// `deletionPropagationPolicy` / `deletion.propagation`.
    pub deletion_propagation_policy: Option<S<String>>,
    /// `delayBeforeCleanup` / `cleanup.delayBeforeCleanup`.
    pub delay_before_cleanup: Option<S<String>>,
    /// `forceTerminationGracePeriod` / `execution.forceTerminationGracePeriod`.
    pub force_termination_grace_period: Option<S<String>>,
    /// `clusters`.
    pub clusters: Option<S<ClusterMap>>,
    /// `catch` / `error.catch`.
    pub catch: Option<Vec<S<RawOperation>>>,
}

/// Converts the scenario-like parts of a run configuration read from `file`: its
/// timeouts and the defaults it gives every scenario. Relative paths (cluster
/// kubeconfigs, `file:` of catch operations) are relative to `file`'s folder. Every
/// error is positioned.
pub(crate) fn run_defaults(
    file: &Path,
    raw: RawRunDefaults,
) -> Result<(Timeouts, LoadOptions), Vec<ParseError>> {
    let mut cx = Cx::new(file);
    let timeouts = cx.timeouts(raw.timeouts.as_ref());
    let compiler = cx.compiler(raw.compiler.as_ref());
    cx.compiler = compiler;
    let namespace_template = raw.namespace_template.map(|node| {
        let c = cx.compiler(raw.namespace_template_compiler.as_ref());
        cx.tree_with(&node, c);
        (node, c)
    });
    if namespace_template.is_none()
        && let Some(c) = &raw.namespace_template_compiler
    {
        // Checked even without a template, so a typo is still reported.
        cx.compiler(Some(c));
    }
    let deletion_propagation_policy = cx.propagation(raw.deletion_propagation_policy.as_ref());
    let delay_before_cleanup = cx.duration(raw.delay_before_cleanup.as_ref());
    let force_termination_grace_period = cx.duration(raw.force_termination_grace_period.as_ref());
    let clusters = cx.clusters(raw.clusters);
    let catch = cx.operations(raw.catch);
    cx.no_disrupt(&catch, "catch");
    cx.check_cluster_refs(&clusters);
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    Ok((
        timeouts,
        LoadOptions {
            compiler: raw.compiler.is_some().then_some(compiler),
            template: raw.template.map(|t| t.value),
            namespace_template,
            deletion_propagation_policy,
            delay_before_cleanup,
            force_termination_grace_period,
            clusters,
            catch,
            test_file: None,
        },
    ))
}

/// Binding names set by the engine, which `bindings` and `outputs` cannot use
/// (Chainsaw's built-ins, `$test`, `$step` and `$operation` included, plus kanon's `mocks`
/// and `faults`).
pub const RESERVED_BINDINGS: &[&str] = &[
    "namespace",
    "client",
    "config",
    "error",
    "values",
    "stdout",
    "stderr",
    "mocks",
    "faults",
    "test",
    "step",
    "operation",
    "warnings",
];

/// Whether `name` can be referenced as `$name` (Chainsaw's `^\w+$`).
pub fn is_binding_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
