//! The on-disk shape of scenario documents, as serde types.
//!
//! These types mirror the YAML one to one (camelCase, `deny_unknown_fields` everywhere,
//! so an unknown or misspelled field is an error at its position). `load` converts them
//! into the model of `model.rs`; nothing outside this module sees them.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::node::Node;

pub(crate) type S<T> = Spanned<T>;

/// One YAML document of a scenario file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDocument {
    /// `kanon.dev/v1alpha1` for a kanon Scenario, `chainsaw.kyverno.io/v1alpha1` for a Chainsaw Test or StepTemplate.
    #[schemars(with = "String")]
    #[schemars(extend("enum" = ["kanon.dev/v1alpha1", "chainsaw.kyverno.io/v1alpha1"]))]
    pub api_version: S<String>,
    /// `Scenario` (kanon), `Test` (Chainsaw) or `StepTemplate` (a reusable step, referenced with `use.template`).
    #[schemars(with = "String")]
    #[schemars(extend("enum" = ["Scenario", "Test", "StepTemplate"]))]
    pub kind: S<String>,
    /// The scenario's name and labels.
    #[schemars(with = "Option<RawMetadata>")]
    pub metadata: Option<S<RawMetadata>>,
    /// What the scenario does: its steps and options.
    #[schemars(with = "RawSpec")]
    pub spec: S<RawSpec>,
}

/// Scenario metadata.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawMetadata {
    /// Scenario name, unique across the suite; reports and `--include` / `--exclude` use it. Default: the name of the scenario's folder.
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Not used: set `spec.namespace` to run in a fixed namespace (kanon reports an error here).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Labels, matched by `kanon test --selector`.
    pub labels: Option<Pairs>,
    /// Free-form annotations, kept in reports.
    pub annotations: Option<Pairs>,
}

/// The union of the `spec` fields of a kanon Scenario, a Chainsaw Test and a Chainsaw
/// StepTemplate; `load` checks which ones each kind may use.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(
    description = "The scenario: its steps, bindings and options (a StepTemplate uses `bindings`, `try`, `catch`, `finally` and `cleanup` only)."
)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSpec {
    /// Free text describing what the scenario checks, shown in reports.
    #[schemars(with = "Option<String>")]
    pub description: Option<S<String>>,
    /// Overall time limit for the whole scenario (a Go duration such as `5m`). Default: none.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// Default timeouts by operation class for this scenario (`apply: 5s`, `assert: 30s`...); steps and operations can override them.
    #[schemars(with = "Option<RawTimeouts>")]
    pub timeouts: Option<S<RawTimeouts>>,
    /// Skip this scenario (reported as skipped). Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub skip: Option<S<bool>>,
    /// Whether this scenario may run at the same time as others (`--parallel`). Default: true.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = true))]
    pub concurrent: Option<S<bool>>,
    /// Keep the objects the scenario created instead of deleting them at the end. Default: false (same as `--skip-delete`).
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub skip_delete: Option<S<bool>>,
    /// Chainsaw: stop the test at the first failure. kanon always ends a scenario's steps at the first failed step, so this changes nothing. Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub fail_fast: Option<S<bool>>,
    /// Whether resources and trees are templated with bindings (`(expr)` keys and values). Default: true.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = true))]
    pub template: Option<S<bool>>,
    /// Run in this fixed namespace instead of a fresh one (kanon never deletes a namespace it did not create). Default: a fresh namespace per scenario, bound as `$namespace`.
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// A template for the Namespace object kanon creates (labels, annotations); may use `$namespace`.
    pub namespace_template: Option<Node>,
    /// The language of the unprefixed `(expr)` strings of `namespaceTemplate`: `jp` or `cel`. Default: the scenario's `compiler`.
    #[schemars(with = "Option<CompilerName>")]
    pub namespace_template_compiler: Option<S<String>>,
    /// The default language of every unprefixed `(expr)` of the scenario (bindings, resources, assertion trees, checks, outputs): `jp` (JMESPath) or `cel`. Steps, operations and bindings can set their own; a `(jp;...)` / `(cel;...)` prefix still wins. Default: jp.
    #[schemars(with = "Option<CompilerName>")]
    #[schemars(extend("default" = "jp"))]
    pub compiler: Option<S<String>>,
    /// Table-driven runs: the scenario runs once per entry, with that entry's `bindings` added.
    #[schemars(with = "Option<Vec<RawBindingSet>>")]
    pub scenarios: Option<Vec<S<RawBindingSet>>>,
    /// Scenario bindings `{name, value}`, evaluated in order, visible in every step as `$name`.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// The steps, run in order; a failed step ends the scenario (its catch, finally and cleanup still run).
    #[schemars(with = "Option<Vec<RawStep>>")]
    pub steps: Option<Vec<S<RawStep>>>,
    /// Operations run when any step fails, after that step's own `catch` (diagnostics such as `events`, `podLogs`).
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub catch: Option<Vec<S<RawOperation>>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Other clusters the scenario can name with `cluster:` (on the scenario, a step or an operation), by name. Default: none; the cluster kanon was given is the default (empty) name.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Chainsaw: force this termination grace period on Pods and workloads the scenario creates (a Go duration such as `5s`); accepted but not applied by kanon.
    #[schemars(with = "Option<DurationText>")]
    pub force_termination_grace_period: Option<S<String>>,
    /// Wait this long after the last step before cleanup starts (a Go duration such as `5s`). Default: no delay.
    #[schemars(with = "Option<DurationText>")]
    pub delay_before_cleanup: Option<S<String>>,
    /// How deletions propagate to dependents: `Background`, `Foreground` or `Orphan`. Default: Background.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["Background", "Foreground", "Orphan", null], "default" = "Background"))]
    pub deletion_propagation_policy: Option<S<String>>,
    // kanon additions
    /// kanon: the contract clause IDs this scenario checks (e.g. `[CEL-1, TEL-4]`), for the conformance report.
    #[schemars(with = "Option<Vec<String>>")]
    #[schemars(extend("examples" = [["CEL-1", "TEL-4"]]))]
    pub clauses: Option<Vec<S<String>>>,
    /// kanon: mock servers started before the first step and bound as `$mocks.<name>` (`otlp` receivers, `webhook` HTTPS servers).
    #[schemars(with = "Option<Vec<MockDoc>>")]
    pub mocks: Option<Vec<Node>>,
    /// kanon: default `$values`, merged under `--values` files and `--set`.
    pub values: Option<Node>,
    // StepTemplate
    /// StepTemplate only: the operations of the template's step.
    #[serde(rename = "try")]
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub try_: Option<Vec<S<RawOperation>>>,
    /// StepTemplate only: operations always run after `try`.
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub finally: Option<Vec<S<RawOperation>>>,
    /// StepTemplate only: operations run at the end of the scenario, in reverse step order.
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub cleanup: Option<Vec<S<RawOperation>>>,
}

/// One row of a table-driven scenario.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBindingSet {
    /// Bindings added for this run, after the scenario's own.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
}

/// Timeouts by operation class, each a Go duration (`30s`, `1m30s`, `500ms`). Unset classes inherit from the enclosing level (operation → step → scenario → suite / command line → Chainsaw's defaults).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawTimeouts {
    /// apply, create, update and patch. Default: 5s.
    #[schemars(with = "Option<DurationText>")]
    #[schemars(extend("default" = "5s"))]
    pub apply: Option<S<String>>,
    /// assert and consistently (how long to wait for the tree to hold). Default: 30s.
    #[schemars(with = "Option<DurationText>")]
    #[schemars(extend("default" = "30s"))]
    pub assert: Option<S<String>>,
    /// error (how long to wait for the tree to stop matching). Default: 30s.
    #[schemars(with = "Option<DurationText>")]
    #[schemars(extend("default" = "30s"))]
    pub error: Option<S<String>>,
    /// delete, including waiting until the objects are gone. Default: 15s.
    #[schemars(with = "Option<DurationText>")]
    #[schemars(extend("default" = "15s"))]
    pub delete: Option<S<String>>,
    /// Deleting created objects and running `cleanup` blocks at the end. Default: 30s.
    #[schemars(with = "Option<DurationText>")]
    #[schemars(extend("default" = "30s"))]
    pub cleanup: Option<S<String>>,
    /// command, script, get, describe, events, podLogs, sleep. Default: 5s.
    #[schemars(with = "Option<DurationText>")]
    #[schemars(extend("default" = "5s"))]
    pub exec: Option<S<String>>,
}

/// A binding (or, under `env`, an environment variable): `name` and a `value` that may hold `(expr)` keys and values.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBinding {
    /// The name, referenced as `$name` in expressions (letters, digits and underscores; `namespace`, `values`, `mocks`, `error`, `stdout`, `stderr`, `client` and `config` are reserved).
    #[schemars(with = "String")]
    pub name: S<String>,
    /// The value: any YAML; `(expr)` strings are expressions (JMESPath unless `compiler` or a `cel;` prefix says otherwise) evaluated with the bindings before it.
    pub value: Node,
    /// The language of the value's unprefixed `(expr)` strings: `jp` (JMESPath) or `cel`. A `(jp;...)` / `(cel;...)` prefix still wins. Default: jp.
    #[schemars(with = "Option<CompilerName>")]
    #[schemars(extend("default" = "jp"))]
    pub compiler: Option<S<String>>,
}

/// An output: binds `$name` for the following operations from the operation's outcome.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOutput {
    /// The binding name, referenced as `$name` by later operations.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// The value, usually an expression over the outcome: `(metadata.name)` for a resource operation, `($stdout)` for a command.
    pub value: Node,
    /// Bind only when the outcome matches this assertion tree. Default: always.
    #[serde(rename = "match")]
    pub match_: Option<Node>,
    /// The language of the unprefixed `(expr)` strings in `value` and `match`: `jp` (JMESPath) or `cel`. A `(jp;...)` / `(cel;...)` prefix still wins. Default: jp.
    #[schemars(with = "Option<CompilerName>")]
    #[schemars(extend("default" = "jp"))]
    pub compiler: Option<S<String>>,
}

/// An expectation on an operation's outcome.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawExpectation {
    /// Apply this expectation only to outcomes matching this tree (e.g. one kind). Default: every outcome.
    #[serde(rename = "match")]
    pub match_: Option<Node>,
    /// Assertion tree the outcome must satisfy; `$error` holds the error text, null on success.
    pub check: Node,
}

/// One step: `try` operations, with `catch` on failure, `finally` always and `cleanup` at the end.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawStep {
    /// Step name in reports. Default: `step-<n>`.
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Free text shown in reports.
    #[schemars(with = "Option<String>")]
    pub description: Option<S<String>>,
    /// Build this step from a StepTemplate file: its bindings and operations come before this step's own.
    #[serde(rename = "use")]
    #[schemars(with = "Option<RawUse>")]
    pub use_: Option<S<RawUse>>,
    /// Timeouts by operation class for this step's operations (override the scenario's).
    #[schemars(with = "Option<RawTimeouts>")]
    pub timeouts: Option<S<RawTimeouts>>,
    /// How this step's deletions propagate: `Background`, `Foreground` or `Orphan`. Default: the scenario's (Background).
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["Background", "Foreground", "Orphan", null]))]
    pub deletion_propagation_policy: Option<S<String>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Skip this step: it is reported as skipped and none of its operations (nor its `cleanup`) run; the next step runs as usual. Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub skip: Option<S<bool>>,
    /// Keep the objects this step created: they leave the scenario's cleanup list (a namespace the scenario made is still deleted, and its contents with it). Default: false.
    #[schemars(with = "Option<bool>")]
    pub skip_delete: Option<S<bool>>,
    /// Whether this step's resources are templated. Default: the scenario's setting (true).
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    /// The default language of this step's unprefixed `(expr)` strings: `jp` (JMESPath) or `cel`. Operations and bindings can set their own; a `(jp;...)` / `(cel;...)` prefix still wins. Default: the scenario's `compiler` (jp).
    #[schemars(with = "Option<CompilerName>")]
    pub compiler: Option<S<String>>,
    /// Step bindings `{name, value}`, evaluated in order after the scenario's, visible to the step's operations.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// The operations, run in order; the first failure (unless `continueOnError`) fails the step.
    #[serde(rename = "try")]
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub try_: Option<Vec<S<RawOperation>>>,
    /// Operations run when `try` fails, e.g. `events`, `podLogs`, `describe` for diagnostics.
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub catch: Option<Vec<S<RawOperation>>>,
    /// Operations always run after `try` (and `catch`).
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub finally: Option<Vec<S<RawOperation>>>,
    /// Operations run at the end of the scenario, steps in reverse order, before created objects are deleted.
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub cleanup: Option<Vec<S<RawOperation>>>,
}

/// A reference to a StepTemplate.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawUse {
    /// Path of the StepTemplate file, relative to the scenario file.
    #[schemars(with = "String")]
    pub template: S<String>,
    /// Bindings passed to the template (after the template's own bindings).
    pub with: Option<RawWith>,
}

/// Arguments of a step template.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWith {
    /// Bindings `{name, value}` given to the template's operations.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
}

/// One entry of `try` / `catch` / `finally` / `cleanup`: exactly one action key.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("oneOf" = [{"required": ["apply"]}, {"required": ["create"]}, {"required": ["update"]}, {"required": ["patch"]}, {"required": ["assert"]}, {"required": ["error"]}, {"required": ["consistently"]}, {"required": ["delete"]}, {"required": ["wait"]}, {"required": ["sleep"]}, {"required": ["command"]}, {"required": ["script"]}, {"required": ["get"]}, {"required": ["describe"]}, {"required": ["events"]}, {"required": ["podLogs"]}, {"required": ["proxy"]}, {"required": ["disrupt"]}]))]
pub(crate) struct RawOperation {
    /// Free text shown in reports for this operation.
    #[schemars(with = "Option<String>")]
    pub description: Option<S<String>>,
    /// Keep running the step's next operations when this one fails (the step still fails). Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub continue_on_error: Option<S<bool>>,
    /// The default language of this operation's unprefixed `(expr)` strings (resources, assertion trees, `check`, `expect`, arguments, and its bindings and outputs unless they set their own): `jp` (JMESPath) or `cel`. A `(jp;...)` / `(cel;...)` prefix still wins. Default: the step's `compiler` (jp).
    #[schemars(with = "Option<CompilerName>")]
    pub compiler: Option<S<String>>,
    /// Create or update resources (server-side apply for kanon Scenarios, merge for Chainsaw Tests). Default timeout: apply, 5s.
    #[schemars(with = "Option<RawResourceAction>")]
    pub apply: Option<S<RawResourceAction>>,
    /// Create resources; fails if they exist. Default timeout: apply, 5s.
    #[schemars(with = "Option<RawResourceAction>")]
    pub create: Option<S<RawResourceAction>>,
    /// Update existing resources; fails if they do not exist. Default timeout: apply, 5s.
    #[schemars(with = "Option<RawResourceAction>")]
    pub update: Option<S<RawResourceAction>>,
    /// Patch existing resources (merge), or their `status` subresource. Default timeout: apply, 5s.
    #[schemars(with = "Option<RawResourceAction>")]
    pub patch: Option<S<RawResourceAction>>,
    /// Wait until objects (or mock records) match an assertion tree, re-checked on every watch event. Default timeout: assert, 30s.
    #[schemars(with = "Option<RawCheckAction>")]
    pub assert: Option<S<RawCheckAction>>,
    /// Wait until no object matches an assertion tree (the tree describes what must not be). Default timeout: error, 30s.
    #[schemars(with = "Option<RawCheckAction>")]
    pub error: Option<S<RawCheckAction>>,
    /// kanon: an assertion tree that must hold continuously for `duration`.
    #[schemars(with = "Option<RawConsistently>")]
    pub consistently: Option<S<RawConsistently>>,
    /// Delete objects and wait until they are gone. Default timeout: delete, 15s.
    #[schemars(with = "Option<RawDelete>")]
    pub delete: Option<S<RawDelete>>,
    /// Wait for a condition, a JSONPath value, creation or deletion of objects (no kubectl needed). Default timeout: exec, 5s.
    #[schemars(with = "Option<RawWait>")]
    pub wait: Option<S<RawWait>>,
    /// Pause for a fixed duration (the only operation that waits for time rather than state).
    #[schemars(with = "Option<RawSleep>")]
    pub sleep: Option<S<RawSleep>>,
    /// Run a program with arguments (`KUBECONFIG` and `NAMESPACE` set). Default timeout: exec, 5s.
    #[schemars(with = "Option<RawCommand>")]
    pub command: Option<S<RawCommand>>,
    /// Run a shell script with `sh -c` (`KUBECONFIG` and `NAMESPACE` set). Default timeout: exec, 5s.
    #[schemars(with = "Option<RawScript>")]
    pub script: Option<S<RawScript>>,
    /// Print objects into the report (diagnostics).
    #[schemars(with = "Option<RawGet>")]
    pub get: Option<S<RawGet>>,
    /// Print a description of objects, with their events, into the report (diagnostics).
    #[schemars(with = "Option<RawDescribe>")]
    pub describe: Option<S<RawDescribe>>,
    /// Print events of the namespace into the report (diagnostics).
    #[schemars(with = "Option<RawEvents>")]
    pub events: Option<S<RawEvents>>,
    /// Print pod logs into the report (diagnostics).
    #[schemars(with = "Option<RawPodLogs>")]
    pub pod_logs: Option<S<RawPodLogs>>,
    /// GET a path through the API server's proxy of a Service, Pod or Node (`kubectl get --raw .../proxy/...`, without kubectl); the response body is `$stdout`. `try` only. Default timeout: exec, 5s.
    #[schemars(with = "Option<RawProxy>")]
    pub proxy: Option<S<RawProxy>>,
    /// kanon: inject a fault into the operator's API traffic (`operatorApi`) or restart
    /// the API server (`apiServer`), to check that the operator retries and catches up
    /// (REC-2, REC-3). Only in `try`, only in scenarios with `concurrent: false`. A run
    /// that cannot perform it reports the scenario skipped, with the reason.
    #[schemars(with = "Option<RawDisrupt>")]
    pub disrupt: Option<S<RawDisrupt>>,
}

/// `disrupt`: exactly one of `operatorApi` and `apiServer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDisrupt {
    /// Faults on the operator's own API traffic, injected by kanon's fault proxy
    /// between the operator and the API server. Needs an operator kanon starts
    /// (`--operator-cmd`, the suite's `operator`, or the in-process test operator).
    /// Returns at once; the fault ends by itself after its duration.
    #[schemars(with = "Option<RawOperatorApi>")]
    pub operator_api: Option<S<RawOperatorApi>>,
    /// The API server itself. Needs a cluster kanon runs (`--cluster local`).
    #[schemars(with = "Option<RawApiServer>")]
    pub api_server: Option<S<RawApiServer>>,
    /// How long an API server restart may take (default 60s).
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
}

/// `disrupt.operatorApi`: `{failWrites: {...}, for: D}`, `{failReads: {...}, for: D}` or
/// `{outage: D}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOperatorApi {
    /// Answer a share of the operator's writes (POST, PUT, PATCH, DELETE) with an
    /// error instead of forwarding them; reads and watches pass. Needs `for`.
    #[schemars(with = "Option<RawFailWrites>")]
    pub fail_writes: Option<S<RawFailWrites>>,
    /// Answer every read of one named object of the given resources (a GET of
    /// `.../RESOURCE/NAME`; lists and watches pass, so informers keep working) with an
    /// error. Needs `for`.
    #[schemars(with = "Option<RawFailReads>")]
    pub fail_reads: Option<S<RawFailReads>>,
    /// How long `failWrites` or `failReads` lasts (`20s`; at most 5m).
    #[serde(rename = "for")]
    #[schemars(with = "Option<String>")]
    pub for_: Option<S<String>>,
    /// Cut every open connection of the operator (watches included) and refuse new
    /// ones for this long (`8s`; at most 5m), then recover.
    #[schemars(with = "Option<String>")]
    pub outage: Option<S<String>>,
}

/// `disrupt.operatorApi.failWrites`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawFailWrites {
    /// The status to answer with: 409 (Conflict), 429 (TooManyRequests, with
    /// Retry-After), 500 (InternalError) or 503 (ServiceUnavailable); a list is used
    /// in turn (`[409, 500]`). The body is a metav1.Status, as the API server sends.
    #[schemars(with = "StatusCodes")]
    pub status: Node,
    /// Share of writes to fail, in (0, 1] (default 1). Each write fails with this
    /// probability from a fixed pseudo-random pattern: the same writes fail on every run.
    #[schemars(with = "Option<f64>")]
    pub ratio: Option<S<f64>>,
    /// Only writes of these resource plurals (`[mcptelemetryconfigs]`: its creations,
    /// updates, patches, status writes and deletions); default: every write.
    #[schemars(with = "Option<Vec<String>>")]
    pub resources: Option<S<Vec<S<String>>>>,
}

/// `disrupt.operatorApi.failReads`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawFailReads {
    /// Resource plurals whose named reads fail (`[mcptelemetryconfigs]`).
    #[schemars(with = "Vec<String>")]
    pub resources: S<Vec<S<String>>>,
    /// The status to answer with: 409, 429, 500 or 503 (a list is used in turn).
    #[schemars(with = "StatusCodes")]
    pub status: Node,
}

/// `disrupt.apiServer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawApiServer {
    /// `{}`: stop the API server and start it again on the same port and storage;
    /// the operation returns once it is ready. The operator must reconnect by itself.
    pub restart: Option<Node>,
}

/// A status code or a list of them (schema only).
pub(crate) struct StatusCodes;

impl schemars::JsonSchema for StatusCodes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StatusCodes".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let code = serde_json::json!({"type": "integer", "enum": [409, 429, 500, 503]});
        schemars::json_schema!({
            "description": "An HTTP status to inject (409, 429, 500 or 503), or a list of them used in turn.",
            "oneOf": [code.clone(), {"type": "array", "items": code, "minItems": 1}]
        })
    }
}

/// apply / create / update / patch: resources to send, inline (`resource`) or from files (`file`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("oneOf" = [{"required": ["file"]}, {"required": ["resource"]}]))]
pub(crate) struct RawResourceAction {
    /// Bindings local to this operation (`{name, value}`, evaluated in order), available as `$name` in its templates and checks.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Send the request as a server-side dry run: validated and admitted, not stored. Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub dry_run: Option<S<bool>>,
    /// Checks on the outcome (`{match?, check}`): `check` is an assertion tree over the result object, with `$error` set when the call failed. Without `expect`, a failure fails the operation.
    #[schemars(with = "Option<Vec<RawExpectation>>")]
    pub expect: Option<Vec<S<RawExpectation>>>,
    /// Values bound for the following operations: `{name, value, match?}`; `value` is evaluated against the operation's outcome.
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    /// Path or glob of YAML file(s) holding the resources, relative to the scenario file; every document of every match is used. Mutually exclusive with `resource`.
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    /// The resource inline (a full object with apiVersion, kind, metadata.name); `(expr)` values are templated.
    pub resource: Option<Node>,
    /// Whether `(expr)` keys and values are templated with the bindings before use. Default: true (inherited from step and scenario).
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// kanon, patch only: patch this subresource instead of the object (`status`).
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["status", null]))]
    pub subresource: Option<S<String>>,
}

/// assert / error: assertion trees, inline (`resource`) or from files (`file`), checked against cluster objects or a mock's records.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("oneOf" = [{"required": ["file"]}, {"required": ["resource"]}]))]
pub(crate) struct RawCheckAction {
    /// Bindings local to this operation (`{name, value}`, evaluated in order), available as `$name` in its templates and checks.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Path or glob of YAML file(s) holding the resources, relative to the scenario file; every document of every match is used. Mutually exclusive with `resource`.
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    /// The assertion tree: apiVersion, kind and optionally name / namespace / labels select the objects; every other field is partially matched (`(expr)` keys project, `~` iterates, `->name` binds).
    pub resource: Option<Node>,
    /// Whether `(expr)` keys and values are templated with the bindings before use. Default: true (inherited from step and scenario).
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// kanon: check the requests recorded by the mock of this name (`spec.mocks`) instead of cluster objects.
    #[schemars(with = "Option<String>")]
    pub mock: Option<S<String>>,
}

/// kanon: an assertion tree that must hold on every check for a whole duration.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("oneOf" = [{"required": ["file"]}, {"required": ["resource"]}]))]
pub(crate) struct RawConsistently {
    /// Bindings local to this operation (`{name, value}`, evaluated in order), available as `$name` in its templates and checks.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Path or glob of YAML file(s) holding the resources, relative to the scenario file; every document of every match is used. Mutually exclusive with `resource`.
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    /// The assertion tree, as for `assert`.
    pub resource: Option<Node>,
    /// Whether `(expr)` keys and values are templated with the bindings before use. Default: true (inherited from step and scenario).
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    /// Check the requests recorded by this mock instead of cluster objects.
    #[schemars(with = "Option<String>")]
    pub mock: Option<S<String>>,
    /// How long the tree must keep holding (a Go duration such as `10s`). Required.
    #[schemars(with = "DurationText")]
    pub duration: S<String>,
}

/// The objects to delete, by reference.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawObjectReference {
    /// apiVersion of the objects, e.g. `apps/v1`.
    #[schemars(with = "String")]
    pub api_version: S<String>,
    /// Kind of the objects, e.g. `Deployment`.
    #[schemars(with = "String")]
    pub kind: S<String>,
    /// Namespace of the object(s); may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Name of the object. Default: every object matching `labels`.
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Label selector as a map; every matching object is deleted.
    pub labels: Option<Pairs>,
}

/// delete: objects by `ref` or from files, then wait until they are gone.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("oneOf" = [{"required": ["file"]}, {"required": ["ref"]}]))]
pub(crate) struct RawDelete {
    /// Bindings local to this operation (`{name, value}`, evaluated in order), available as `$name` in its templates and checks.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Checks on the outcome (`{match?, check}`): `check` is an assertion tree over the result object, with `$error` set when the call failed. Without `expect`, a failure fails the operation.
    #[schemars(with = "Option<Vec<RawExpectation>>")]
    pub expect: Option<Vec<S<RawExpectation>>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// Whether `(expr)` keys and values are templated with the bindings before use. Default: true (inherited from step and scenario).
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    /// Path or glob of YAML file(s) naming the objects to delete, relative to the scenario file.
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    /// The objects to delete by apiVersion, kind, name / labels.
    #[serde(rename = "ref")]
    #[schemars(with = "Option<RawObjectReference>")]
    pub ref_: Option<S<RawObjectReference>>,
    /// How the deletion propagates: `Background`, `Foreground` or `Orphan`. Default: the step's (Background).
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["Background", "Foreground", "Orphan", null]))]
    pub deletion_propagation_policy: Option<S<String>>,
}

/// wait: until objects satisfy a condition (like `kubectl wait`, without kubectl).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWait {
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// Output format of what is printed: `json` or `yaml`. Default: yaml.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["json", "yaml", null]))]
    pub format: Option<S<String>>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// apiVersion of the objects, e.g. `apps/v1`.
    #[schemars(with = "Option<String>")]
    pub api_version: Option<S<String>>,
    /// Kind of the objects, e.g. `Deployment`.
    #[schemars(with = "Option<String>")]
    pub kind: Option<S<String>>,
    /// Resource type (plural, `deployments`) as an alternative to `kind`; kanon still needs `apiVersion` and `kind` to look objects up.
    #[schemars(with = "Option<String>")]
    pub resource: Option<S<String>>,
    /// Namespace of the object(s); may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Name of the object; may be an `(expression)`. Default: every object matching `selector` (or all of that kind).
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Label selector (`app=web,tier!=db`) choosing the objects instead of `name`; may be an `(expression)`.
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    /// What to wait for: exactly one of `deletion`, `creation`, `condition`, `jsonPath`.
    #[serde(rename = "for")]
    #[schemars(with = "RawWaitFor")]
    pub for_: S<RawWaitFor>,
}

/// The condition of a `wait`: exactly one field.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("oneOf" = [{"required": ["deletion"]}, {"required": ["creation"]}, {"required": ["condition"]}, {"required": ["jsonPath"]}]))]
pub(crate) struct RawWaitFor {
    /// Wait until the objects are gone (`deletion: {}`).
    pub deletion: Option<Node>,
    /// Wait until the objects exist (`creation: {}`).
    pub creation: Option<Node>,
    /// Wait until a status condition has a value.
    #[schemars(with = "Option<RawWaitCondition>")]
    pub condition: Option<S<RawWaitCondition>>,
    /// Wait until a JSONPath expression has a value.
    #[schemars(with = "Option<RawWaitJsonPath>")]
    pub json_path: Option<S<RawWaitJsonPath>>,
}

/// A status condition to wait for.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitCondition {
    /// Condition type, e.g. `Available`, `Ready`; may be an `(expression)`.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Expected condition status; may be an `(expression)`. Default: `true` (case-insensitive).
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "true"))]
    pub value: Option<S<String>>,
}

/// A JSONPath value to wait for.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitJsonPath {
    /// kubectl-style JSONPath, e.g. `{.status.phase}`; may be an `(expression)`.
    #[schemars(with = "String")]
    pub path: S<String>,
    /// Expected value, compared as text, e.g. `Running`; may be an `(expression)`.
    #[schemars(with = "Option<String>")]
    pub value: Option<S<String>>,
}

/// sleep: pause for a fixed time.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSleep {
    /// How long to pause (a Go duration such as `2s`, `500ms`).
    #[schemars(with = "DurationText")]
    pub duration: S<String>,
}

/// command: run a program (no shell) in the scenario's folder, with `KUBECONFIG` and `NAMESPACE` set.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCommand {
    /// Bindings local to this operation (`{name, value}`, evaluated in order), available as `$name` in its templates and checks.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// Assertion tree over the result: `$stdout`, `$stderr` and `$error` (null on exit 0). Without `check`, a non-zero exit fails the operation.
    pub check: Option<Node>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Extra environment variables `{name, value}`; values may be `(expr)`.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub env: Option<Vec<S<RawBinding>>>,
    /// Do not copy the output into the report. Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub skip_log_output: Option<S<bool>>,
    /// Values bound for the following operations, e.g. `{name: id, value: ($stdout)}`.
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// The program to run (looked up on PATH).
    #[schemars(with = "String")]
    pub entrypoint: S<String>,
    /// Arguments; an argument written `(expr)` is evaluated with the bindings.
    #[schemars(with = "Option<Vec<String>>")]
    pub args: Option<Vec<S<String>>>,
    /// Working directory, relative to the scenario's folder. Default: the scenario's folder.
    #[schemars(with = "Option<String>")]
    pub work_dir: Option<S<String>>,
}

/// script: run shell text with `sh -c` in the scenario's folder, with `KUBECONFIG` and `NAMESPACE` set.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawScript {
    /// Bindings local to this operation (`{name, value}`, evaluated in order), available as `$name` in its templates and checks.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    /// Assertion tree over the result: `$stdout`, `$stderr` and `$error` (null on exit 0). Without `check`, a non-zero exit fails the operation.
    pub check: Option<Node>,
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Extra environment variables `{name, value}`; values may be `(expr)`.
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub env: Option<Vec<S<RawBinding>>>,
    /// Do not copy the output into the report. Default: false.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub skip_log_output: Option<S<bool>>,
    /// Values bound for the following operations, e.g. `{name: id, value: ($stdout)}`.
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// The script text, run with `sh -c`.
    #[schemars(with = "String")]
    pub content: S<String>,
    /// Working directory, relative to the scenario's folder. Default: the scenario's folder.
    #[schemars(with = "Option<String>")]
    pub work_dir: Option<S<String>>,
}

/// get: print objects into the report.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawGet {
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Output format of what is printed: `json` or `yaml`. Default: yaml.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["json", "yaml", null]))]
    pub format: Option<S<String>>,
    /// apiVersion of the objects, e.g. `apps/v1`.
    #[schemars(with = "Option<String>")]
    pub api_version: Option<S<String>>,
    /// Kind of the objects, e.g. `Deployment`.
    #[schemars(with = "Option<String>")]
    pub kind: Option<S<String>>,
    /// Resource type (plural, `deployments`) as an alternative to `kind`; kanon still needs `apiVersion` and `kind` to look objects up.
    #[schemars(with = "Option<String>")]
    pub resource: Option<S<String>>,
    /// Namespace of the object(s); may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Name of the object; may be an `(expression)`. Default: every object matching `selector` (or all of that kind).
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Label selector (`app=web,tier!=db`) choosing the objects instead of `name`; may be an `(expression)`.
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
}

/// describe: print a description of objects into the report.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDescribe {
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// apiVersion of the objects, e.g. `apps/v1`.
    #[schemars(with = "Option<String>")]
    pub api_version: Option<S<String>>,
    /// Kind of the objects, e.g. `Deployment`.
    #[schemars(with = "Option<String>")]
    pub kind: Option<S<String>>,
    /// Resource type (plural, `deployments`) as an alternative to `kind`; kanon still needs `apiVersion` and `kind` to look objects up.
    #[schemars(with = "Option<String>")]
    pub resource: Option<S<String>>,
    /// Namespace of the object(s); may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Name of the object; may be an `(expression)`. Default: every object matching `selector` (or all of that kind).
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Label selector (`app=web,tier!=db`) choosing the objects instead of `name`; may be an `(expression)`.
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    /// Include the objects' events. Default: true.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = true))]
    pub show_events: Option<S<bool>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
}

/// events: print the namespace's events into the report.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawEvents {
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Output format of what is printed: `json` or `yaml`. Default: yaml.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["json", "yaml", null]))]
    pub format: Option<S<String>>,
    /// Namespace of the object(s); may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Only the events of the object with this name; may be an `(expression)`. Default: all.
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Label selector on the events; may be an `(expression)`. Default: all.
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
}

/// podLogs: print container logs of pods into the report.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawPodLogs {
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Namespace of the object(s); may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Pod name; may be an `(expression)`. Default: the pods matching `selector`.
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// Label selector choosing the pods; may be an `(expression)`.
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    /// Container name; may be an `(expression)`. Default: every container.
    #[schemars(with = "Option<String>")]
    pub container: Option<S<String>>,
    /// Number of last lines per container. Default: 1000 with `name`, 10 with `selector`.
    #[schemars(with = "Option<i64>")]
    pub tail: Option<S<i64>>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
}

/// proxy: `GET /api/v1/namespaces/<namespace>/<resource>/<name>:<port>/proxy/<path>` through the API server, the answer exposed like a command's output.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawProxy {
    /// Name of the cluster to run against, declared in `clusters` here, on the step or on the scenario (the innermost declaration of a name counts); the innermost `cluster` of operation, step and scenario wins. Default: the cluster kanon was given.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    /// Clusters declared here, by name (`{kubeconfig, context}`, the path relative to the scenario file): `cluster:` here and inside can name them, and they hide entries of the same name declared further out. Default: none.
    #[schemars(with = "Option<std::collections::BTreeMap<String, RawCluster>>")]
    pub clusters: Option<S<ClusterMap>>,
    /// Values bound for the following operations from the answer, e.g. `{name: version, value: (json_parse($stdout).gitVersion)}`.
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    /// kanon: assertion tree over the answer: `$stdout` (the body), `$stderr` and `$error` (null on a 2xx answer). Without `check`, an error answer fails the operation.
    pub check: Option<Node>,
    /// Timeout of this operation (a Go duration such as `30s`, `1m30s`); overrides step, scenario and run timeouts.
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<String>>,
    /// apiVersion of the proxied object, e.g. `v1`.
    #[schemars(with = "String")]
    pub api_version: S<String>,
    /// Kind of the proxied object: `Service`, `Pod` or `Node`.
    #[schemars(with = "String")]
    pub kind: S<String>,
    /// Namespace of the object; may be an `(expression)`. Default: the scenario's namespace (`$namespace`).
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    /// Name of the object; may be an `(expression)`.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Port name or number on the target (`https`, `8080`); may be an `(expression)`. Default: the object's default port.
    #[schemars(with = "Option<PortText>")]
    pub port: Option<Node>,
    /// Path on the target (`/healthz`, `/metrics`); may be an `(expression)`. Default: `/`.
    #[schemars(with = "Option<String>")]
    pub path: Option<S<String>>,
}

/// A cluster a scenario can name with `cluster:` (Chainsaw's `clusters.<name>`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCluster {
    /// Path of the cluster's kubeconfig file, relative to the scenario file's folder unless absolute.
    #[schemars(with = "String")]
    pub kubeconfig: S<String>,
    /// Context of the kubeconfig to use. Default: its current context.
    #[schemars(with = "Option<String>")]
    pub context: Option<S<String>>,
}

/// A `clusters` registry (scenario, step or action): cluster names to [`RawCluster`]s, positioned, in source order.
#[derive(Debug, Default)]
pub(crate) struct ClusterMap(pub Vec<(S<String>, S<RawCluster>)>);

impl<'de> Deserialize<'de> for ClusterMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ClusterMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping of cluster names to {kubeconfig, context}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<ClusterMap, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<S<String>>()? {
                    v.push((k, m.next_value()?));
                }
                Ok(ClusterMap(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// A string-to-string mapping with positioned keys and values, in source order.
#[derive(Debug, Default)]
pub(crate) struct Pairs(pub Vec<(S<String>, S<String>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping of strings to strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Pairs, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<S<String>>()? {
                    v.push((k, m.next_value()?));
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl schemars::JsonSchema for Pairs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StringMap".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = <std::collections::BTreeMap<String, String>>::json_schema(g);
        schema.insert(
            "description".into(),
            "A mapping of strings to strings.".into(),
        );
        schema
    }
}

/// Schema only: an expression language name, as Chainsaw's `compiler` fields take it.
pub(crate) struct CompilerName;

impl schemars::JsonSchema for CompilerName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Compiler".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An expression language: `jp` (JMESPath, where `@` is the current value and `$name` a binding) or `cel` (CEL, where `object` is the current value and `bindings.resolve('name')` a binding).",
            "type": "string",
            "enum": ["jp", "cel"]
        })
    }
}

/// Schema only: a port name or number, or an `(expression)` giving one.
pub(crate) struct PortText;

impl schemars::JsonSchema for PortText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Port".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A port name (`https`), a port number (`8080`), or an `(expression)` giving one.",
            "type": ["string", "integer"],
            "minimum": 1,
            "maximum": 65535
        })
    }
}

/// Schema only: a Go duration string (`time.ParseDuration` syntax), as `parse_duration`
/// reads it.
pub(crate) struct DurationText;

impl schemars::JsonSchema for DurationText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Go duration: decimal numbers with a unit each (ns, us, ms, s, m, h), such as `30s`, `1m30s`, `500ms`, `1.5h`; `0` alone is zero.",
            "type": "string",
            "pattern": DURATION_PATTERN,
            "examples": ["5s", "30s", "1m30s", "500ms"]
        })
    }
}

/// The pattern of [`DurationText`]: what `parse_duration` accepts.
pub(crate) const DURATION_PATTERN: &str =
    r"^\s*\+?(0|(([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)\s*$";

/// Schema only: one `spec.mocks` entry (the loader reads mocks as nodes and
/// `crate::mocks::MockSpec::from_json` checks them).
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "type", deny_unknown_fields)]
#[schemars(
    description = "A mock server started before the first step: `{name, type: otlp | webhook, ...}`, bound as `$mocks.<name>`.",
    transform = describe_mock_type
)]
pub(crate) enum MockDoc {
    /// An OTLP/HTTP receiver (protobuf and JSON) recording every export;
    /// `$mocks.<name>.endpoint` is its base URL.
    #[serde(rename = "otlp")]
    Otlp {
        /// The mock's name: `$mocks.<name>` and `mock: <name>` refer to it.
        name: String,
    },
    /// An HTTPS server with a per-run CA and scripted responses, recording requests;
    /// `$mocks.<name>.url`, `.caPem`, `.certPem`, `.keyPem`.
    #[serde(rename = "webhook", rename_all = "camelCase")]
    Webhook {
        /// The mock's name: `$mocks.<name>` and `mock: <name>` refer to it.
        name: String,
        /// Scripted answers, first match wins. Default: 200 `{"allowed": true}`.
        #[serde(default)]
        responses: Vec<crate::mocks::webhook::ScriptedResponse>,
        /// HMAC-SHA256 key: every recorded request gets `signatureValid`.
        #[serde(default)]
        hmac_key: Option<String>,
        /// Require a client certificate issued by the mock's CA (mTLS). Default: false.
        #[serde(default)]
        client_ca: bool,
    },
}

/// Gives the `type` tag of each [`MockDoc`] variant a description (serde tags have no
/// doc comment of their own).
fn describe_mock_type(schema: &mut schemars::Schema) {
    let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) else {
        return;
    };
    for variant in variants {
        if let Some(tag) = variant.pointer_mut("/properties/type")
            && let Some(tag) = tag.as_object_mut()
        {
            tag.insert(
                "description".into(),
                "The kind of mock: `otlp` (an OTLP/HTTP receiver) or `webhook` (an HTTPS server)."
                    .into(),
            );
        }
    }
}
