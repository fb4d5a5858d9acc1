//! Chainsaw's `Configuration` file (`chainsaw.kyverno.io/v1alpha1` and `v1alpha2`,
//! kind `Configuration`): what `chainsaw test --config FILE` reads, or `.chainsaw.yaml`
//! in the working directory when no `--config` is given.
//!
//! `kanon test --config FILE` reads the same file and maps every field onto kanon's run
//! options; command-line flags override it, as in Chainsaw. The two versions hold the
//! same settings, grouped differently:
//!
//! | v1alpha1 `spec.`              | v1alpha2 `spec.`                       | kanon                                   |
//! |-------------------------------|----------------------------------------|-----------------------------------------|
//! | `timeouts`                    | `timeouts`                             | run-level timeouts (`--suite`'s `timeouts` below them) |
//! | `skipDelete`                  | `cleanup.skipDelete`                   | `--skip-delete`                         |
//! | `delayBeforeCleanup`          | `cleanup.delayBeforeCleanup`           | each scenario's `delayBeforeCleanup`    |
//! | `template`                    | `templating.enabled`                   | each scenario's `template`              |
//! | `compiler`                    | `templating.compiler`                  | the default of every scenario's `compiler` |
//! | `failFast`                    | `execution.failFast`                   | `--fail-fast`                           |
//! | `parallel`                    | `execution.parallel`                   | `--parallel`                            |
//! | `repeatCount`                 | `execution.repeatCount`                | `--repeat`                              |
//! | `forceTerminationGracePeriod` | `execution.forceTerminationGracePeriod`| default for every test                 |
//! | `deletionPropagationPolicy`   | `deletion.propagation`                 | each scenario's `deletionPropagationPolicy` |
//! | `namespace`                   | `namespace.name`                       | `--namespace`                           |
//! | `namespaceTemplate`           | `namespace.template`                   | each scenario's `namespaceTemplate`     |
//! | `namespaceTemplateCompiler`   | `namespace.compiler`                   | its language                            |
//! | `includeTestRegex`            | `discovery.includeTestRegex`           | `--include`                             |
//! | `excludeTestRegex`            | `discovery.excludeTestRegex`           | `--exclude`                             |
//! | `testFile`                    | `discovery.testFile`                   | another scenario file name in folders   |
//! | `fullName`                    | `discovery.fullName`                   | not supported (when true): a warning    |
//! | `reportFormat/Path/Name`      | `report.format/path/name`              | one report file (kanon's JSON or JUnit) |
//! | `clusters`                    | `clusters`                             | clusters every scenario can name        |
//! | `catch`                       | `error.catch`                          | run before each scenario's own `catch`  |
//!
//! Relative paths (`reportPath`, cluster kubeconfigs, `file:` in catch operations) are
//! relative to the configuration file's folder. Unknown fields and wrong types are
//! positioned errors; a field kanon cannot honour is a positioned warning
//! ([`ChainsawConfig::warnings`]), never silently ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::report::{ReportFormat, ReportSpec};
use crate::scenario::{
    ClusterMap, CompilerName, DurationText, LoadOptions, Node, ParseError, RawOperation,
    RawRunDefaults, RawTimeouts, S, Timeouts, run_defaults,
};

/// The file `kanon test` reads as a Chainsaw configuration when `--config` is not
/// given and it exists in the working directory (Chainsaw's default).
pub const CHAINSAW_CONFIG_FILE: &str = ".chainsaw.yaml";

const V1ALPHA1: &str = "chainsaw.kyverno.io/v1alpha1";
const V1ALPHA2: &str = "chainsaw.kyverno.io/v1alpha2";

/// A loaded Chainsaw configuration, mapped onto kanon's run options.
#[derive(Debug, Clone, Default)]
pub struct ChainsawConfig {
    /// Run-level timeouts.
    pub timeouts: Timeouts,
    /// Keep what scenarios create.
    pub skip_delete: Option<bool>,
    /// Stop starting scenarios after the first failure.
    pub fail_fast: Option<bool>,
    /// Scenarios at once.
    pub parallel: Option<usize>,
    /// Runs of each scenario.
    pub repeat: Option<usize>,
    /// Run every scenario in this namespace.
    pub namespace: Option<String>,
    /// Only scenarios whose name matches.
    pub include: Option<String>,
    /// Not scenarios whose name matches.
    pub exclude: Option<String>,
    /// The report file to write.
    pub report: Option<ReportSpec>,
    /// Defaults for every scenario loaded (compiler, template, namespace template,
    /// deletion propagation, delay before cleanup, clusters, catch, test file name).
    pub load: LoadOptions,
    /// Fields kanon cannot honour, positioned; print them with [`warning_line`].
    pub warnings: Vec<ParseError>,
}

/// `file:line:column: warning: message`.
pub fn warning_line(w: &ParseError) -> String {
    format!(
        "{}:{}:{}: warning: {}",
        w.file.display(),
        w.line,
        w.column,
        w.message
    )
}

/// Only `apiVersion` and `kind`, to pick the version before the strict parse.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHeader {
    api_version: Option<S<String>>,
    kind: Option<S<String>>,
}

/// A `chainsaw.kyverno.io/v1alpha1` Configuration.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "Chainsaw Configuration (v1alpha1)")]
// `apiVersion` and `kind` are checked through `RawHeader`, `metadata` is not used: they
// are here so that the strict parse accepts them and the schema describes them.
#[allow(dead_code)]
struct RawConfigV1 {
    /// Always `chainsaw.kyverno.io/v1alpha1`.
    #[schemars(with = "String", extend("const" = "chainsaw.kyverno.io/v1alpha1"))]
    api_version: S<String>,
    /// Always `Configuration`.
    #[schemars(with = "String", extend("const" = "Configuration"))]
    kind: S<String>,
    /// Standard object metadata (`name`, `labels`...); not used by kanon.
    #[serde(default)]
    metadata: Option<Node>,
    /// The run configuration.
    #[schemars(with = "RawSpecV1")]
    spec: S<RawSpecV1>,
}

/// `spec` of a v1alpha1 Configuration.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpecV1 {
    /// Run-wide default timeouts by operation class; tests, steps and operations
    /// override them. Default: Chainsaw's (apply 5s, assert 30s, error 30s, delete 15s,
    /// cleanup 30s, exec 5s).
    #[schemars(with = "Option<RawTimeouts>")]
    timeouts: Option<S<RawTimeouts>>,
    /// Keep the objects tests create (like `--skip-delete`). Default: false.
    #[schemars(with = "Option<bool>")]
    skip_delete: Option<S<bool>>,
    /// Whether resources are templated with bindings, for tests that do not say. Default: true.
    #[schemars(with = "Option<bool>")]
    template: Option<S<bool>>,
    /// The default language of unprefixed `(expr)` strings in every test: `jp` or `cel`. Default: jp.
    #[schemars(with = "Option<CompilerName>")]
    compiler: Option<S<String>>,
    /// Stop starting tests after the first failure (like `--fail-fast`). Default: false.
    #[schemars(with = "Option<bool>")]
    fail_fast: Option<S<bool>>,
    /// How many tests run at once (like `--parallel`). Default: the number of cores.
    #[schemars(with = "Option<u32>", range(min = 1))]
    parallel: Option<S<i64>>,
    /// How deletions propagate, for tests that do not say: `Background`, `Foreground` or `Orphan`. Default: Background.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["Background", "Foreground", "Orphan", null]))]
    deletion_propagation_policy: Option<S<String>>,
    /// Write one report file: `JSON` (kanon's report.json) or `XML` / `JUNIT-TEST` / `JUNIT-STEP` / `JUNIT-OPERATION` (kanon's JUnit, one testcase per scenario). Default: none.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["JSON", "XML", "JUNIT-TEST", "JUNIT-STEP", "JUNIT-OPERATION", "", null]))]
    report_format: Option<S<String>>,
    /// The report file's folder, relative to this file. Default: this file's folder.
    #[schemars(with = "Option<String>")]
    report_path: Option<S<String>>,
    /// The report file's name (`.json` / `.xml` added when it has no extension). Default: `chainsaw-report`.
    #[schemars(with = "Option<String>")]
    report_name: Option<S<String>>,
    /// Run every test in this namespace instead of a fresh one each (like `--namespace`). Default: a fresh namespace per test.
    #[schemars(with = "Option<String>")]
    namespace: Option<S<String>>,
    /// The language of `namespaceTemplate`'s unprefixed `(expr)` strings: `jp` or `cel`. Default: `compiler`.
    #[schemars(with = "Option<CompilerName>")]
    namespace_template_compiler: Option<S<String>>,
    /// A template for the Namespace object of tests without their own `namespaceTemplate`; may use `$namespace`.
    namespace_template: Option<Node>,
    /// Name tests by their full folder path. Not supported by kanon (a warning when true). Default: false.
    #[schemars(with = "Option<bool>")]
    full_name: Option<S<bool>>,
    /// Skip tests whose name matches this regular expression (like `--exclude`).
    #[schemars(with = "Option<String>")]
    exclude_test_regex: Option<S<String>>,
    /// Only tests whose name matches this regular expression (like `--include`).
    #[schemars(with = "Option<String>")]
    include_test_regex: Option<S<String>>,
    /// Run each test this many times (like `--repeat`). Default: 1.
    #[schemars(with = "Option<u32>", range(min = 1))]
    repeat_count: Option<S<i64>>,
    /// The test file name looked for in folders (`.yaml`, then `.yml`, when it has no extension), besides kanon's own names. Default: `chainsaw-test`.
    #[schemars(with = "Option<String>")]
    test_file: Option<S<String>>,
    /// Force this termination grace period on Pods and workloads. Not supported by kanon (a warning).
    #[schemars(with = "Option<DurationText>")]
    force_termination_grace_period: Option<S<String>>,
    /// Wait this long after a test's last step before its cleanup, for tests that do not say. Default: no delay.
    #[schemars(with = "Option<DurationText>")]
    delay_before_cleanup: Option<S<String>>,
    /// Clusters every test can name with `cluster:` (kubeconfig relative to this file); a test's own entry of the same name wins.
    #[schemars(with = "Option<std::collections::BTreeMap<String, crate::scenario::RawCluster>>")]
    clusters: Option<S<ClusterMap>>,
    /// Operations run when a step fails, before the test's own `catch` (diagnostics such as `events`, `podLogs`).
    #[schemars(with = "Option<Vec<RawOperation>>")]
    catch: Option<Vec<S<RawOperation>>>,
}

/// A `chainsaw.kyverno.io/v1alpha2` Configuration.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "Chainsaw Configuration (v1alpha2)")]
// `apiVersion` and `kind` are checked through `RawHeader`, `metadata` is not used: they
// are here so that the strict parse accepts them and the schema describes them.
#[allow(dead_code)]
struct RawConfigV2 {
    /// Always `chainsaw.kyverno.io/v1alpha2`.
    #[schemars(with = "String", extend("const" = "chainsaw.kyverno.io/v1alpha2"))]
    api_version: S<String>,
    /// Always `Configuration`.
    #[schemars(with = "String", extend("const" = "Configuration"))]
    kind: S<String>,
    /// Standard object metadata (`name`, `labels`...); not used by kanon.
    #[serde(default)]
    metadata: Option<Node>,
    /// The run configuration.
    #[schemars(with = "RawSpecV2")]
    spec: S<RawSpecV2>,
}

/// `spec` of a v1alpha2 Configuration.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpecV2 {
    /// Run-wide default timeouts by operation class; tests, steps and operations override them.
    #[schemars(with = "Option<RawTimeouts>")]
    timeouts: Option<S<RawTimeouts>>,
    /// Cleanup options.
    #[schemars(with = "Option<RawCleanupV2>")]
    cleanup: Option<S<RawCleanupV2>>,
    /// Clusters every test can name with `cluster:` (kubeconfig relative to this file); a test's own entry of the same name wins.
    #[schemars(with = "Option<std::collections::BTreeMap<String, crate::scenario::RawCluster>>")]
    clusters: Option<S<ClusterMap>>,
    /// Deletion options.
    #[schemars(with = "Option<RawDeletionV2>")]
    deletion: Option<S<RawDeletionV2>>,
    /// Test discovery options.
    #[schemars(with = "Option<RawDiscoveryV2>")]
    discovery: Option<S<RawDiscoveryV2>>,
    /// Error handling options.
    #[schemars(with = "Option<RawErrorV2>")]
    error: Option<S<RawErrorV2>>,
    /// Execution options.
    #[schemars(with = "Option<RawExecutionV2>")]
    execution: Option<S<RawExecutionV2>>,
    /// Namespace options.
    #[schemars(with = "Option<RawNamespaceV2>")]
    namespace: Option<S<RawNamespaceV2>>,
    /// Report options: one report file.
    #[schemars(with = "Option<RawReportV2>")]
    report: Option<S<RawReportV2>>,
    /// Templating options.
    #[schemars(with = "Option<RawTemplatingV2>")]
    templating: Option<S<RawTemplatingV2>>,
}

/// v1alpha2 `spec.cleanup`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCleanupV2 {
    /// Keep the objects tests create (like `--skip-delete`). Default: false.
    #[schemars(with = "Option<bool>")]
    skip_delete: Option<S<bool>>,
    /// Wait this long after a test's last step before its cleanup, for tests that do not say.
    #[schemars(with = "Option<DurationText>")]
    delay_before_cleanup: Option<S<String>>,
}

/// v1alpha2 `spec.deletion`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDeletionV2 {
    /// How deletions propagate, for tests that do not say: `Background`, `Foreground` or `Orphan`. Default: Background.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["Background", "Foreground", "Orphan", null]))]
    propagation: Option<S<String>>,
}

/// v1alpha2 `spec.discovery`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDiscoveryV2 {
    /// Skip tests whose name matches this regular expression (like `--exclude`).
    #[schemars(with = "Option<String>")]
    exclude_test_regex: Option<S<String>>,
    /// Only tests whose name matches this regular expression (like `--include`).
    #[schemars(with = "Option<String>")]
    include_test_regex: Option<S<String>>,
    /// The test file name looked for in folders (`.yaml`, then `.yml`, when it has no extension), besides kanon's own names. Default: `chainsaw-test`.
    #[schemars(with = "Option<String>")]
    test_file: Option<S<String>>,
    /// Name tests by their full folder path. Not supported by kanon (a warning when true).
    #[schemars(with = "Option<bool>")]
    full_name: Option<S<bool>>,
}

/// v1alpha2 `spec.error`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawErrorV2 {
    /// Operations run when a step fails, before the test's own `catch`.
    #[schemars(with = "Option<Vec<RawOperation>>")]
    catch: Option<Vec<S<RawOperation>>>,
}

/// v1alpha2 `spec.execution`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExecutionV2 {
    /// Stop starting tests after the first failure (like `--fail-fast`).
    #[schemars(with = "Option<bool>")]
    fail_fast: Option<S<bool>>,
    /// How many tests run at once (like `--parallel`).
    #[schemars(with = "Option<u32>", range(min = 1))]
    parallel: Option<S<i64>>,
    /// Run each test this many times (like `--repeat`).
    #[schemars(with = "Option<u32>", range(min = 1))]
    repeat_count: Option<S<i64>>,
    /// Force this termination grace period on Pods and workloads. Not supported by kanon (a warning).
    #[schemars(with = "Option<DurationText>")]
    force_termination_grace_period: Option<S<String>>,
}

/// v1alpha2 `spec.namespace`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawNamespaceV2 {
    /// Run every test in this namespace instead of a fresh one each (like `--namespace`).
    #[schemars(with = "Option<String>")]
    name: Option<S<String>>,
    /// A template for the Namespace object of tests without their own `namespaceTemplate`.
    template: Option<Node>,
    /// The language of `template`'s unprefixed `(expr)` strings: `jp` or `cel`.
    #[schemars(with = "Option<CompilerName>")]
    compiler: Option<S<String>>,
}

/// v1alpha2 `spec.report`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawReportV2 {
    /// `JSON` (kanon's report.json) or `XML` / `JUNIT-TEST` / `JUNIT-STEP` / `JUNIT-OPERATION` (kanon's JUnit, one testcase per scenario). Default: JSON.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["JSON", "XML", "JUNIT-TEST", "JUNIT-STEP", "JUNIT-OPERATION", null]))]
    format: Option<S<String>>,
    /// The report file's folder, relative to this file. Default: this file's folder.
    #[schemars(with = "Option<String>")]
    path: Option<S<String>>,
    /// The report file's name (`.json` / `.xml` added when it has no extension). Default: `chainsaw-report`.
    #[schemars(with = "Option<String>")]
    name: Option<S<String>>,
}

/// v1alpha2 `spec.templating`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTemplatingV2 {
    /// Whether resources are templated with bindings, for tests that do not say. Default: true.
    #[schemars(with = "Option<bool>")]
    enabled: Option<S<bool>>,
    /// The default language of unprefixed `(expr)` strings in every test: `jp` or `cel`.
    #[schemars(with = "Option<CompilerName>")]
    compiler: Option<S<String>>,
}

/// Schema only: either version.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum RawConfigSchema {
    V1alpha1(Box<RawConfigV1>),
    V1alpha2(Box<RawConfigV2>),
}

/// The JSON Schema of a Chainsaw Configuration as kanon reads it (either version),
/// pretty-printed with a trailing newline.
pub fn config_schema() -> String {
    let mut schema = schemars::schema_for!(RawConfigSchema);
    schema.insert(
        "title".into(),
        serde_json::Value::String("Chainsaw Configuration (as kanon reads it)".into()),
    );
    schema.insert(
        "description".into(),
        serde_json::Value::String(
            "A chainsaw.kyverno.io/v1alpha1 or v1alpha2 Configuration, for `kanon test --config`."
                .into(),
        ),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A report's raw format, folder and name.
type RawReport = (Option<S<String>>, Option<S<String>>, Option<S<String>>);

/// The version-independent settings (v1alpha1's shape, as Chainsaw converts them).
#[derive(Default)]
struct Flat {
    skip_delete: Option<S<bool>>,
    fail_fast: Option<S<bool>>,
    parallel: Option<S<i64>>,
    repeat_count: Option<S<i64>>,
    namespace: Option<S<String>>,
    include: Option<S<String>>,
    exclude: Option<S<String>>,
    test_file: Option<S<String>>,
    full_name: Option<S<bool>>,
    /// Format (none: the version's default, JSON in v1alpha2), path, name; `None`
    /// when no report was asked for.
    report: Option<RawReport>,
    defaults: RawRunDefaults,
}

impl From<RawSpecV1> for Flat {
    fn from(s: RawSpecV1) -> Self {
        let asked = s
            .report_format
            .as_ref()
            .is_some_and(|f| !f.value.is_empty());
        Flat {
            skip_delete: s.skip_delete,
            fail_fast: s.fail_fast,
            parallel: s.parallel,
            repeat_count: s.repeat_count,
            namespace: s.namespace.filter(|n| !n.value.is_empty()),
            include: s.include_test_regex.filter(|r| !r.value.is_empty()),
            exclude: s.exclude_test_regex.filter(|r| !r.value.is_empty()),
            test_file: s.test_file.filter(|t| !t.value.is_empty()),
            full_name: s.full_name,
            report: asked.then_some((s.report_format, s.report_path, s.report_name)),
            defaults: RawRunDefaults {
                timeouts: s.timeouts,
                compiler: s.compiler,
                template: s.template,
                namespace_template: s.namespace_template,
                namespace_template_compiler: s.namespace_template_compiler,
                deletion_propagation_policy: s.deletion_propagation_policy,
                delay_before_cleanup: s.delay_before_cleanup,
                force_termination_grace_period: s.force_termination_grace_period,
                clusters: s.clusters,
                catch: s.catch,
            },
        }
    }
}

impl From<RawSpecV2> for Flat {
    fn from(s: RawSpecV2) -> Self {
        let (skip_delete, delay_before_cleanup) = s
            .cleanup
            .map(|c| (c.value.skip_delete, c.value.delay_before_cleanup))
            .unwrap_or_default();
        let (include, exclude, test_file, full_name) = s
            .discovery
            .map(|d| {
                let d = d.value;
                (
                    d.include_test_regex,
                    d.exclude_test_regex,
                    d.test_file,
                    d.full_name,
                )
            })
            .unwrap_or_default();
        let (fail_fast, parallel, repeat_count, grace) = s
            .execution
            .map(|e| {
                let e = e.value;
                (
                    e.fail_fast,
                    e.parallel,
                    e.repeat_count,
                    e.force_termination_grace_period,
                )
            })
            .unwrap_or_default();
        let (namespace, namespace_template, namespace_template_compiler) = s
            .namespace
            .map(|n| (n.value.name, n.value.template, n.value.compiler))
            .unwrap_or_default();
        let (template, compiler) = s
            .templating
            .map(|t| (t.value.enabled, t.value.compiler))
            .unwrap_or_default();
        Flat {
            skip_delete,
            fail_fast,
            parallel,
            repeat_count,
            namespace: namespace.filter(|n| !n.value.is_empty()),
            include: include.filter(|r| !r.value.is_empty()),
            exclude: exclude.filter(|r| !r.value.is_empty()),
            test_file: test_file.filter(|t| !t.value.is_empty()),
            full_name,
            report: s
                .report
                .map(|r| (r.value.format, r.value.path, r.value.name)),
            defaults: RawRunDefaults {
                timeouts: s.timeouts,
                compiler,
                template,
                namespace_template,
                namespace_template_compiler,
                deletion_propagation_policy: s.deletion.and_then(|d| d.value.propagation),
                delay_before_cleanup,
                force_termination_grace_period: grace,
                clusters: s.clusters,
                catch: s.error.and_then(|e| e.value.catch),
            },
        }
    }
}

/// Where a spanned value is, in `file`.
fn at<T>(file: &Path, s: &S<T>) -> ParseError {
    ParseError {
        file: file.to_path_buf(),
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
        message: String::new(),
    }
}

fn positioned<T>(file: &Path, s: &S<T>, message: impl Into<String>) -> ParseError {
    ParseError {
        message: message.into(),
        ..at(file, s)
    }
}

impl ChainsawConfig {
    /// Reads and checks a Chainsaw configuration file. Every error is positioned; the
    /// file must hold exactly one `Configuration` document, as Chainsaw requires.
    pub fn load(path: &Path) -> Result<Self, Vec<ParseError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ParseError::file(
                path,
                format!("cannot read the Chainsaw configuration: {e}"),
            )]
        })?;
        Self::parse(path, &text)
    }

    /// [`ChainsawConfig::load`] on `text`, as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Vec<ParseError>> {
        let one = |e: ParseError| vec![e];
        let headers: Vec<RawHeader> = serde_saphyr::from_multiple(text)
            .map_err(|e| one(ParseError::from_saphyr(path, &e)))?;
        let header = match headers.as_slice() {
            [h] => h,
            [] => {
                return Err(one(ParseError::file(
                    path,
                    "no Configuration in file: expected one chainsaw.kyverno.io Configuration document",
                )));
            }
            many => {
                return Err(one(ParseError::file(
                    path,
                    format!(
                        "found {} documents: a Chainsaw configuration file holds exactly one Configuration",
                        many.len()
                    ),
                )));
            }
        };
        let Some(api_version) = &header.api_version else {
            return Err(one(ParseError {
                line: 1,
                column: 1,
                ..ParseError::file(
                    path,
                    format!("missing apiVersion: expected {V1ALPHA1} or {V1ALPHA2}"),
                )
            }));
        };
        match &header.kind {
            Some(k) if k.value == "Configuration" => {}
            Some(k) => {
                return Err(one(positioned(
                    path,
                    k,
                    format!(
                        "unsupported kind {:?}: a Chainsaw configuration is kind Configuration",
                        k.value
                    ),
                )));
            }
            None => {
                return Err(one(ParseError {
                    line: 1,
                    column: 1,
                    ..ParseError::file(path, "missing kind: expected Configuration")
                }));
            }
        }
        let flat: Flat = match api_version.value.as_str() {
            V1ALPHA1 => serde_saphyr::from_str::<RawConfigV1>(text)
                .map_err(|e| one(ParseError::from_saphyr(path, &e)))?
                .spec
                .value
                .into(),
            V1ALPHA2 => serde_saphyr::from_str::<RawConfigV2>(text)
                .map_err(|e| one(ParseError::from_saphyr(path, &e)))?
                .spec
                .value
                .into(),
            other => {
                return Err(one(positioned(
                    path,
                    api_version,
                    format!("unsupported apiVersion {other:?}: expected {V1ALPHA1} or {V1ALPHA2}"),
                )));
            }
        };
        Self::convert(path, flat)
    }

    fn convert(path: &Path, flat: Flat) -> Result<Self, Vec<ParseError>> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut count = |field: &str, v: Option<S<i64>>| -> Option<usize> {
            let v = v?;
            match usize::try_from(v.value) {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    errors.push(positioned(
                        path,
                        &v,
                        format!("{field} must be at least 1, found {}", v.value),
                    ));
                    None
                }
            }
        };
        let parallel = count("parallel", flat.parallel);
        let repeat = count("repeatCount", flat.repeat_count);
        let mut regex = |field: &str, v: Option<S<String>>| -> Option<String> {
            let v = v?;
            match regex::Regex::new(&v.value) {
                Ok(_) => Some(v.value),
                Err(e) => {
                    errors.push(positioned(
                        path,
                        &v,
                        format!("{field}: invalid regular expression: {e}"),
                    ));
                    None
                }
            }
        };
        let include = regex("includeTestRegex", flat.include);
        let exclude = regex("excludeTestRegex", flat.exclude);
        if let Some(f) = &flat.full_name
            && f.value
        {
            warnings.push(positioned(
                path,
                f,
                "field `fullName` is not supported by kanon, ignored: scenarios are named by metadata.name, else their folder's name",
            ));
        }
        let report = match flat.report {
            None => None,
            Some((format, dir, name)) => {
                let kind = match &format {
                    None => Some(ReportFormat::Json),
                    Some(f) => match ReportFormat::from_chainsaw(&f.value) {
                        Ok((kind, warning)) => {
                            warnings.extend(warning.map(|w| positioned(path, f, w)));
                            Some(kind)
                        }
                        Err(e) => {
                            errors.push(positioned(path, f, e));
                            None
                        }
                    },
                };
                let dir = match dir.as_ref().map(|d| d.value.as_str()) {
                    Some(d) if !d.is_empty() => base.join(d),
                    _ => base.clone(),
                };
                let name = name
                    .map(|n| n.value)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| ReportSpec::default().name);
                kind.map(|format| ReportSpec {
                    format,
                    dir: (!dir.as_os_str().is_empty()).then_some(dir),
                    name,
                })
            }
        };
        let converted = run_defaults(path, flat.defaults);
        let (timeouts, mut load) = match converted {
            Ok(v) => v,
            Err(mut e) => {
                errors.append(&mut e);
                (Timeouts::default(), LoadOptions::default())
            }
        };
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(errors);
        }
        load.test_file = flat.test_file.map(|t| t.value);
        Ok(Self {
            timeouts,
            skip_delete: flat.skip_delete.map(|s| s.value),
            fail_fast: flat.fail_fast.map(|s| s.value),
            parallel,
            repeat,
            namespace: flat.namespace.map(|n| n.value),
            include,
            exclude,
            report,
            load,
            warnings,
        })
    }
}

/// The configuration `kanon test` uses: `explicit` (`--config`), else
/// [`CHAINSAW_CONFIG_FILE`] in the working directory when it exists.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        let p = PathBuf::from(CHAINSAW_CONFIG_FILE);
        p.is_file().then_some(p)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::scenario::PropagationPolicy;
    use std::time::Duration;

    fn parse(text: &str) -> Result<ChainsawConfig, Vec<ParseError>> {
        ChainsawConfig::parse(Path::new("cfg/.chainsaw.yaml"), text)
    }

    fn errors(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    const V1: &str = "apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Configuration
metadata:
  name: custom
spec:
  timeouts:
    apply: 7s
    assert: 45s
  skipDelete: true
  template: false
  compiler: cel
  failFast: true
  parallel: 3
  deletionPropagationPolicy: Foreground
  reportFormat: XML
  reportPath: out
  reportName: my-report
  namespace: fixed
  namespaceTemplate:
    metadata:
      labels:
        team: (object.metadata.name)
  namespaceTemplateCompiler: cel
  excludeTestRegex: ^skip-
  includeTestRegex: ^run-
  repeatCount: 2
  testFile: my-test
  delayBeforeCleanup: 3s
  catch:
  - events: {}
";

    #[test]
    fn every_v1alpha1_field_maps_onto_run_options() {
        let c = parse(V1).unwrap();
        assert_eq!(c.timeouts.apply, Some(Duration::from_secs(7)));
        assert_eq!(c.timeouts.assert, Some(Duration::from_secs(45)));
        assert_eq!(c.timeouts.exec, None);
        assert_eq!(c.skip_delete, Some(true));
        assert_eq!(c.fail_fast, Some(true));
        assert_eq!(c.parallel, Some(3));
        assert_eq!(c.repeat, Some(2));
        assert_eq!(c.namespace.as_deref(), Some("fixed"));
        assert_eq!(c.include.as_deref(), Some("^run-"));
        assert_eq!(c.exclude.as_deref(), Some("^skip-"));
        assert_eq!(
            c.report.map(|r| r.file()),
            Some(crate::report::ReportFile {
                format: ReportFormat::JUnit,
                path: PathBuf::from("cfg/out/my-report.xml"),
            })
        );
        assert_eq!(c.load.compiler, Some(crate::expr::Compiler::Cel));
        assert_eq!(c.load.template, Some(false));
        assert_eq!(
            c.load.deletion_propagation_policy,
            Some(PropagationPolicy::Foreground)
        );
        assert_eq!(c.load.delay_before_cleanup, Some(Duration::from_secs(3)));
        let (_, compiler) = c.load.namespace_template.as_ref().unwrap();
        assert_eq!(*compiler, crate::expr::Compiler::Cel);
        assert_eq!(c.load.catch.len(), 1);
        assert_eq!(c.load.test_file.as_deref(), Some("my-test"));
        assert!(c.load.is_scenario_file("my-test.yml"));
        assert!(c.load.is_scenario_file("chainsaw-test.yaml"));
        assert!(!c.load.is_scenario_file("my-test.json"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn v1alpha2_groups_the_same_settings() {
        let c = parse(
            "apiVersion: chainsaw.kyverno.io/v1alpha2
kind: Configuration
spec:
  timeouts: {exec: 9s}
  cleanup: {skipDelete: true, delayBeforeCleanup: 1s}
  deletion: {propagation: Orphan}
  discovery: {includeTestRegex: a, excludeTestRegex: b, testFile: t.yaml}
  error:
    catch:
    - podLogs: {selector: app=x}
  execution: {failFast: true, parallel: 2, repeatCount: 4}
  namespace: {name: ns, template: {metadata: {labels: {a: b}}}, compiler: jp}
  report: {}
  templating: {enabled: false, compiler: cel}
",
        )
        .unwrap();
        assert_eq!(c.timeouts.exec, Some(Duration::from_secs(9)));
        assert_eq!(
            (c.skip_delete, c.fail_fast, c.parallel, c.repeat),
            (Some(true), Some(true), Some(2), Some(4))
        );
        assert_eq!(c.load.delay_before_cleanup, Some(Duration::from_secs(1)));
        assert_eq!(
            c.load.deletion_propagation_policy,
            Some(PropagationPolicy::Orphan)
        );
        assert_eq!(
            (c.include.as_deref(), c.exclude.as_deref()),
            (Some("a"), Some("b"))
        );
        assert!(c.load.is_scenario_file("t.yaml") && !c.load.is_scenario_file("t.yml"));
        assert_eq!(c.load.catch.len(), 1);
        assert_eq!(c.namespace.as_deref(), Some("ns"));
        assert_eq!(
            c.load.namespace_template.as_ref().unwrap().1,
            crate::expr::Compiler::Jp
        );
        assert_eq!(c.load.template, Some(false));
        assert_eq!(c.load.compiler, Some(crate::expr::Compiler::Cel));
        // `report: {}` is JSON named chainsaw-report next to the file (v1alpha2 defaults).
        assert_eq!(
            c.report.map(|r| r.file()),
            Some(crate::report::ReportFile {
                format: ReportFormat::Json,
                path: PathBuf::from("cfg/chainsaw-report.json"),
            })
        );
    }

    #[test]
    fn fields_kanon_cannot_honour_are_positioned_warnings() {
        let c = parse(
            "apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Configuration
spec:
  fullName: true
  forceTerminationGracePeriod: 5s
  reportFormat: JUNIT-STEP
",
        )
        .unwrap();
        assert_eq!(
            c.load.force_termination_grace_period,
            Some(Duration::from_secs(5)),
            "a default for every scenario, not a warning"
        );
        let w: Vec<String> = c.warnings.iter().map(warning_line).collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("cfg/.chainsaw.yaml:4:13: warning: field `fullName` is not supported by kanon, ignored"),
            "{w:?}"
        );
        assert!(
            w[1].contains(":6:17: warning: report format JUNIT-STEP"),
            "{w:?}"
        );
        // The defaults (fullName false) are what kanon does: no warning.
        let quiet = parse(
            "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  discovery: {fullName: false}\n",
        )
        .unwrap();
        assert!(quiet.warnings.is_empty());
    }

    #[rstest::rstest]
    #[case::unknown_field(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  paralel: 2\n",
        "cfg/.chainsaw.yaml:4:3: unknown field `paralel`"
    )]
    #[case::v1alpha1_field_in_v1alpha2(
        "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  skipDelete: true\n",
        "cfg/.chainsaw.yaml:4:3: unknown field `skipDelete`"
    )]
    #[case::wrong_type(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  parallel: many\n",
        "cfg/.chainsaw.yaml:4:13:"
    )]
    #[case::bad_duration(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  timeouts:\n    assert: soon\n",
        "cfg/.chainsaw.yaml:5:13:"
    )]
    #[case::zero_parallel(
        "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  execution: {parallel: 0}\n",
        "cfg/.chainsaw.yaml:4:25: parallel must be at least 1"
    )]
    #[case::bad_regex(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  includeTestRegex: '(a'\n",
        "cfg/.chainsaw.yaml:4:21: includeTestRegex: invalid regular expression"
    )]
    #[case::bad_compiler(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  compiler: rego\n",
        "cfg/.chainsaw.yaml:4:13: unknown compiler \"rego\""
    )]
    #[case::bad_propagation(
        "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  deletion: {propagation: Later}\n",
        "cfg/.chainsaw.yaml:4:27: unknown deletionPropagationPolicy"
    )]
    #[case::bad_report_format(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  reportFormat: HTML\n",
        "cfg/.chainsaw.yaml:4:17: unknown report format \"HTML\""
    )]
    #[case::bad_catch_expression(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  catch:\n  - script:\n      content: echo\n      check:\n        ($error == ): true\n",
        "cfg/.chainsaw.yaml:8:20: invalid expression"
    )]
    #[case::missing_kubeconfig(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec:\n  clusters:\n    other: {kubeconfig: nowhere.yaml}\n",
        "cfg/.chainsaw.yaml:5:25: cluster \"other\": kubeconfig not found"
    )]
    #[case::wrong_kind(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nspec: {}\n",
        "cfg/.chainsaw.yaml:2:7: unsupported kind \"Test\""
    )]
    #[case::wrong_version(
        "apiVersion: chainsaw.kyverno.io/v1\nkind: Configuration\nspec: {}\n",
        "cfg/.chainsaw.yaml:1:13: unsupported apiVersion"
    )]
    #[case::two_documents(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec: {}\n---\napiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Configuration\nspec: {}\n",
        "cfg/.chainsaw.yaml:0:0: found 2 documents"
    )]
    #[case::empty("", "cfg/.chainsaw.yaml:0:0: no Configuration")]
    fn mistakes_are_positioned_errors(#[case] text: &str, #[case] expected: &str) {
        let e = errors(text);
        assert!(e.iter().any(|e| e.starts_with(expected)), "{e:?}");
    }

    #[derive(serde::Deserialize)]
    struct Corpus {
        cases: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        file: String,
        #[serde(default)]
        severity: Option<String>,
        line: u32,
        column: u32,
        message: String,
    }

    #[test]
    fn bad_config_corpus_is_positioned() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bad-input/config");
        let corpus: Corpus =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join("expected.yaml")).unwrap())
                .unwrap();
        let mut failures = Vec::new();
        for case in &corpus.cases {
            let path = dir.join(&case.file);
            let found = match (
                ChainsawConfig::load(&path),
                case.severity.as_deref() == Some("warning"),
            ) {
                (Ok(c), true) => c.warnings,
                (Err(e), false) => e,
                (Ok(_), false) => {
                    failures.push(format!("{}: loaded without error", case.file));
                    continue;
                }
                (Err(e), true) => {
                    failures.push(format!("{}: failed: {e:?}", case.file));
                    continue;
                }
            };
            if !found.iter().any(|e| {
                e.file == path
                    && (e.line, e.column) == (case.line, case.column)
                    && e.message.contains(&case.message)
            }) {
                failures.push(format!(
                    "{}: wanted {}:{} {:?}, got {:?}",
                    case.file,
                    case.line,
                    case.column,
                    case.message,
                    found.iter().map(ToString::to_string).collect::<Vec<_>>()
                ));
            }
        }
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name != "expected.yaml" && !corpus.cases.iter().any(|c| c.file == name) {
                failures.push(format!("{name} is not listed in expected.yaml"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn the_fixture_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/chainsaw-config/.chainsaw.yaml");
        let c = ChainsawConfig::load(&path).unwrap();
        assert_eq!(c.timeouts.assert, Some(Duration::from_secs(4)));
        assert_eq!(c.namespace.as_deref(), Some("kanon-config-fixture"));
        assert_eq!(c.warnings.len(), 1, "fullName: {:?}", c.warnings);
        let scenarios = crate::scenario::load_with(path.parent().unwrap(), &c.load).unwrap();
        let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a-keeps", "c-times-out"]);
        // The configuration's catch comes first in every test's catch.
        assert!(scenarios.iter().all(|s| s.catch.len() == 1));
        // Without the configuration, kanon-test.yaml files are not scenario files.
        assert!(crate::scenario::load(path.parent().unwrap()).is_err_or_empty());
    }

    trait ErrOrEmpty {
        fn is_err_or_empty(&self) -> bool;
    }

    impl<T, E> ErrOrEmpty for Result<Vec<T>, E> {
        fn is_err_or_empty(&self) -> bool {
            self.as_ref().map(|v| v.is_empty()).unwrap_or(true)
        }
    }

    #[test]
    fn run_wide_defaults_fill_what_a_test_leaves_unset() {
        let c = parse(
            "apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Configuration
spec:
  template: false
  compiler: cel
  deletionPropagationPolicy: Orphan
  delayBeforeCleanup: 2s
  namespaceTemplate:
    metadata:
      labels:
        from: config
  catch:
  - events: {}
",
        )
        .unwrap();
        let test = |extra: &str| {
            format!(
                "apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {{name: t}}
spec:
{extra}  steps:
  - try:
    - assert:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: x}}
          (object.metadata.name): x
  catch:
  - describe: {{apiVersion: v1, kind: Pod}}
"
            )
        };
        let unset = &crate::scenario::parse_str_with(Path::new("t.yaml"), &test(""), &c.load)
            .unwrap_or_else(|e| panic!("{e:?}"))[0];
        assert_eq!(unset.template, Some(false));
        assert_eq!(
            unset.deletion_propagation_policy,
            Some(PropagationPolicy::Orphan)
        );
        assert_eq!(unset.delay_before_cleanup, Some(Duration::from_secs(2)));
        assert!(unset.namespace_template.is_some());
        // The configuration's catch first, then the test's own.
        assert_eq!(unset.catch.len(), 2);
        assert!(matches!(
            unset.catch[0].operation,
            crate::scenario::Operation::Events(_)
        ));
        assert_eq!(
            unset.steps[0].try_[0].compiler,
            crate::expr::Compiler::Cel,
            "the configuration's compiler is the default"
        );
        let own = &crate::scenario::parse_str_with(
            Path::new("t.yaml"),
            &test("  template: true\n  compiler: jp\n  deletionPropagationPolicy: Foreground\n"),
            &c.load,
        )
        .unwrap_or_else(|e| panic!("{e:?}"))[0];
        assert_eq!(own.template, Some(true));
        assert_eq!(
            own.deletion_propagation_policy,
            Some(PropagationPolicy::Foreground)
        );
        assert_eq!(own.steps[0].try_[0].compiler, crate::expr::Compiler::Jp);
    }

    #[test]
    fn the_default_compiler_reaches_conventional_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("00-assert.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n(size(object.metadata.name) > 0): true\n",
        )
        .unwrap();
        // CEL, not JMESPath (a bare 0 is not a JMESPath literal).
        let e = crate::scenario::load(dir.path()).unwrap_err();
        assert!(e[0].message.contains("invalid expression"), "{e:?}");
        let c = parse(
            "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  templating: {compiler: cel}\n",
        )
        .unwrap();
        let s = crate::scenario::load_with(dir.path(), &c.load).unwrap();
        assert_eq!(s[0].steps[0].try_[0].compiler, crate::expr::Compiler::Cel);
    }

    #[test]
    fn configuration_clusters_can_be_named_by_tests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("other.kubeconfig"), "apiVersion: v1\n").unwrap();
        let cfg = dir.path().join(".chainsaw.yaml");
        std::fs::write(
            &cfg,
            "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\nspec:\n  clusters:\n    other: {kubeconfig: other.kubeconfig, context: ctx}\n",
        )
        .unwrap();
        let c = ChainsawConfig::load(&cfg).unwrap();
        assert_eq!(c.load.clusters.len(), 1);
        assert_eq!(
            c.load.clusters[0].kubeconfig,
            dir.path().join("other.kubeconfig")
        );
        let test = "apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
spec:
  cluster: other
  steps:
  - try:
    - sleep: {duration: 1s}
";
        let s = crate::scenario::parse_str_with(Path::new("t.yaml"), test, &c.load).unwrap();
        assert_eq!(s[0].cluster.as_deref(), Some("other"));
        assert_eq!(s[0].clusters.len(), 1);
        // Without the configuration the name is unknown.
        let e = crate::scenario::parse_str(Path::new("t.yaml"), test).unwrap_err();
        assert!(e[0].message.contains("unknown cluster"), "{e:?}");
    }

    #[test]
    fn the_schema_describes_both_versions() {
        let schema: serde_json::Value = serde_json::from_str(&config_schema()).unwrap();
        let text = schema.to_string();
        for field in [
            "repeatCount",
            "namespaceTemplateCompiler",
            "discovery",
            "templating",
        ] {
            assert!(text.contains(field), "{field}");
        }
    }
}
