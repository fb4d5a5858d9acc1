//! The scenario model: plain data, interpreted by the engine.
//!
//! One model for both `kanon.dev/v1alpha1 Scenario` and Chainsaw
//! `chainsaw.kyverno.io/v1alpha1 Test` documents. File references are already resolved
//! and their documents loaded; durations are parsed; every node has a [`Location`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Location;
use super::node::Node;
use super::timeouts::{TimeoutClass, Timeouts};
use crate::expr::Compiler;

/// Which format a scenario was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `kanon.dev/v1alpha1`, kind `Scenario`.
    Kanon,
    /// `chainsaw.kyverno.io/v1alpha1`, kind `Test`. The engine applies Chainsaw's
    /// semantics where they differ (for example, merge-patch `apply`).
    Chainsaw,
}

/// A scenario: a named, ordered list of steps run in its own namespace.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Source format.
    pub flavor: Flavor,
    /// `metadata.name` (the file stem when absent).
    pub name: String,
    /// Where the document starts.
    pub location: Location,
    /// `metadata.labels` (selected with `--selector`).
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `spec.description`.
    pub description: Option<String>,
    /// `spec.clauses`: the contract clauses this scenario checks (kanon).
    pub clauses: Vec<Clause>,
    /// `spec.mocks`: mock servers to start before the first step (kanon).
    pub mocks: Vec<MockSpec>,
    /// `spec.values`: default `$values`, overridden by `--values` / `--set` (kanon).
    pub values: Option<Node>,
    /// `spec.timeouts`: per-class timeouts for every operation of the scenario.
    pub timeouts: Timeouts,
    /// `spec.timeout`: an overall deadline for the whole scenario.
    pub timeout: Option<Duration>,
    /// `spec.skip`.
    pub skip: bool,
    /// `spec.concurrent` (`None`: the runner's default, concurrent).
    pub concurrent: Option<bool>,
    /// `spec.skipDelete`: keep what the scenario created.
    pub skip_delete: Option<bool>,
    /// `spec.failFast`.
    pub fail_fast: Option<bool>,
    /// `spec.template`: whether resources are templated (`None`: the default, true).
    pub template: Option<bool>,
    /// `spec.namespace`: a fixed namespace instead of a fresh one.
    pub namespace: Option<String>,
    /// `spec.namespaceTemplate`: a template for the namespace object.
    pub namespace_template: Option<Node>,
    /// The language of `namespace_template`'s unprefixed `(expr)` strings
    /// (`spec.namespaceTemplateCompiler`, else `spec.compiler`).
    pub namespace_template_compiler: Compiler,
    /// `spec.bindings`, in order (later ones may refer to earlier ones).
    pub bindings: Vec<Binding>,
    /// `spec.scenarios`: table-driven runs; one run per binding set (empty: one run).
    pub binding_sets: Vec<Vec<Binding>>,
    /// `spec.steps`.
    pub steps: Vec<Step>,
    /// `spec.catch`: run when any step fails, after the step's own catch.
    pub catch: Vec<StepOperation>,
    /// `spec.deletionPropagationPolicy`.
    pub deletion_propagation_policy: Option<PropagationPolicy>,
    /// `spec.delayBeforeCleanup`.
    pub delay_before_cleanup: Option<Duration>,
    /// `spec.fastNamespaceDeletion`: `Some(false)` waits at the end of the scenario
    /// until its namespace is gone (Chainsaw's blocking teardown); otherwise the run's
    /// setting applies (by default the deletion is followed in the background).
    pub fast_namespace_deletion: Option<bool>,
    /// `spec.forceTerminationGracePeriod`.
    pub force_termination_grace_period: Option<Duration>,
    /// `spec.cluster`: the name of the cluster (one of `clusters`) steps and operations
    /// run against unless they name another; none for the cluster kanon was given.
    pub cluster: Option<String>,
    /// `spec.clusters`: the other clusters this scenario can name, in source order.
    pub clusters: Vec<ClusterDef>,
}

/// A cluster a scenario can name with `cluster:` (`spec.clusters.<name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDef {
    /// Where the entry is.
    pub location: Location,
    /// The name steps and operations use.
    pub name: String,
    /// The kubeconfig file, resolved against the scenario file's folder.
    pub kubeconfig: PathBuf,
    /// The kubeconfig context to use; none for its current context.
    pub context: Option<String>,
}

/// The cluster an operation runs against: the innermost of the operation's, the step's
/// and the scenario's `cluster` (none: the cluster kanon was given).
pub fn selected_cluster<'a>(
    operation: Option<&'a str>,
    step: Option<&'a str>,
    scenario: Option<&'a str>,
) -> Option<&'a str> {
    operation.or(step).or(scenario)
}

/// The definition `name` has where an operation runs: the innermost registry that
/// declares it, of the operation's, the step's and the scenario's `clusters` (Chainsaw
/// scoping: an inner `clusters` entry hides an outer one of the same name).
pub fn find_cluster<'a>(
    name: &str,
    operation: &'a [ClusterDef],
    step: &'a [ClusterDef],
    scenario: &'a [ClusterDef],
) -> Option<&'a ClusterDef> {
    [operation, step, scenario]
        .into_iter()
        .find_map(|registry| registry.iter().find(|c| c.name == name))
}

impl Scenario {
    /// What the scenario's `disrupt` operations act on, each target once, in order.
    pub fn disrupt_targets(&self) -> Vec<DisruptTarget> {
        let mut out = Vec::new();
        for (_, op) in self.operations() {
            if let Operation::Disrupt(d) = &op.operation {
                let t = d.disruption.target();
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Every operation of the scenario with the block it sits in, in source order:
    /// each step's try, catch, finally and cleanup, then the scenario-level catch.
    pub fn operations(&self) -> impl Iterator<Item = (Block, &StepOperation)> {
        self.steps
            .iter()
            .flat_map(|s| {
                s.try_
                    .iter()
                    .map(|o| (Block::Try, o))
                    .chain(s.catch.iter().map(|o| (Block::Catch, o)))
                    .chain(s.finally.iter().map(|o| (Block::Finally, o)))
                    .chain(s.cleanup.iter().map(|o| (Block::Cleanup, o)))
            })
            .chain(self.catch.iter().map(|o| (Block::ScenarioCatch, o)))
    }
}

/// The list an operation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// A step's `try`.
    Try,
    /// A step's `catch`.
    Catch,
    /// A step's `finally`.
    Finally,
    /// A step's `cleanup`.
    Cleanup,
    /// The scenario's `catch`.
    ScenarioCatch,
}

/// A contract clause identifier listed in `spec.clauses`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// The identifier, such as `CEL-1`.
    pub id: String,
    /// Where it is written.
    pub location: Location,
}

/// The kind of a mock server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MockKind {
    /// An OTLP/HTTP receiver (`$mocks.<name>.endpoint`, `.records`).
    Otlp,
    /// An HTTPS webhook server (`$mocks.<name>.url`, `.caPem`, `.requests`).
    Webhook,
}

/// One entry of `spec.mocks`: `{name: N, type: otlp|webhook, ...}`.
///
/// Only `name` and `type` are checked here; every other field is kept in `config`
/// (positioned) for the mocks module to interpret and validate.
#[derive(Clone, Debug)]
pub struct MockSpec {
    /// Where the entry starts.
    pub location: Location,
    /// The name, bound as `$mocks.<name>`.
    pub name: String,
    /// The `type`.
    pub kind: MockKind,
    /// The remaining fields, as a mapping node (possibly empty).
    pub config: Node,
}

/// A step: operations in `try`, then `catch` on failure, `finally` always, and `cleanup`
/// at the end of the scenario (Chainsaw's order).
#[derive(Clone, Debug)]
pub struct Step {
    /// `name` (`step-N`, 1-based, when absent).
    pub name: String,
    /// Where the step starts.
    pub location: Location,
    /// `description`.
    pub description: Option<String>,
    /// `timeouts`, overriding the scenario's.
    pub timeouts: Timeouts,
    /// `skipDelete`.
    pub skip_delete: Option<bool>,
    /// `template`.
    pub template: Option<bool>,
    /// `bindings` (template bindings, then `use.with` bindings, then the step's own).
    pub bindings: Vec<Binding>,
    /// `try`.
    pub try_: Vec<StepOperation>,
    /// `catch`.
    pub catch: Vec<StepOperation>,
    /// `finally`.
    pub finally: Vec<StepOperation>,
    /// `cleanup`.
    pub cleanup: Vec<StepOperation>,
    /// `deletionPropagationPolicy`.
    pub deletion_propagation_policy: Option<PropagationPolicy>,
    /// `cluster`.
    pub cluster: Option<String>,
    /// `clusters`: clusters declared for this step (they hide the scenario's entries of
    /// the same name), in source order.
    pub clusters: Vec<ClusterDef>,
    /// `skip`: the step is reported skipped and not run (Chainsaw's TestStep `skip`).
    pub skip: bool,
    /// The step template this step was built from (`use.template`), resolved.
    pub template_file: Option<PathBuf>,
}

/// An entry of a `try` / `catch` / `finally` / `cleanup` list.
#[derive(Clone, Debug)]
pub struct StepOperation {
    /// Where the entry starts.
    pub location: Location,
    /// `description`.
    pub description: Option<String>,
    /// `continueOnError`: a failure is recorded but the step goes on.
    pub continue_on_error: bool,
    /// The language of the operation's unprefixed `(expr)` strings: its own
    /// `compiler`, else its step's, else its scenario's (JMESPath by default). Its
    /// bindings, outputs and `env` entries carry their own, already resolved.
    pub compiler: Compiler,
    /// The `clusters` declared on the operation's action (they hide the step's and the
    /// scenario's entries of the same name), in source order.
    pub clusters: Vec<ClusterDef>,
    /// The operation.
    pub operation: Operation,
}

/// One operation; one variant per action key.
#[derive(Clone, Debug)]
pub enum Operation {
    /// `apply`: server-side apply (kanon) or merge-patch apply (Chainsaw files).
    Apply(ResourceOp),
    /// `create`: fails if the object exists.
    Create(ResourceOp),
    /// `update`: fails if the object does not exist.
    Update(ResourceOp),
    /// `patch`: merge patch; `subresource: status` patches the status.
    Patch(ResourceOp),
    /// `assert`: waits until some object (or mock record) matches each tree.
    Assert(CheckOp),
    /// `error`: waits until no object matches each tree.
    Error(CheckOp),
    /// `consistently` (kanon): each tree must keep matching for `duration`.
    Consistently(ConsistentlyOp),
    /// `delete`: deletes and waits until gone.
    Delete(DeleteOp),
    /// `wait`: waits for a condition, a JSON path value, deletion or creation.
    Wait(WaitOp),
    /// `sleep`: the only fixed wait.
    Sleep(SleepOp),
    /// `command`: runs a program.
    Command(CommandOp),
    /// `script`: runs a shell script.
    Script(ScriptOp),
    /// `get`: prints objects (catch blocks).
    Get(GetOp),
    /// `describe`: describes objects (catch blocks).
    Describe(DescribeOp),
    /// `events`: prints events (catch blocks).
    Events(EventsOp),
    /// `podLogs`: prints pod logs (catch blocks).
    PodLogs(PodLogsOp),
    /// `proxy`: a GET through the API server's proxy subresource of a Service, Pod or
    /// Node; the response is exposed like a command's output (`$stdout`, `$error`).
    /// `try` blocks only, as in Chainsaw.
    Proxy(ProxyOp),
    /// `disrupt` (kanon): injects a fault into the operator's API traffic or restarts
    /// the API server (contract clauses REC-2, REC-3). `try` blocks only, in scenarios
    /// with `concurrent: false`.
    Disrupt(DisruptOp),
}

impl Operation {
    /// The action key, as written in YAML (`apply`, `podLogs`...).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Apply(_) => "apply",
            Operation::Create(_) => "create",
            Operation::Update(_) => "update",
            Operation::Patch(_) => "patch",
            Operation::Assert(_) => "assert",
            Operation::Error(_) => "error",
            Operation::Consistently(_) => "consistently",
            Operation::Delete(_) => "delete",
            Operation::Wait(_) => "wait",
            Operation::Sleep(_) => "sleep",
            Operation::Command(_) => "command",
            Operation::Script(_) => "script",
            Operation::Get(_) => "get",
            Operation::Describe(_) => "describe",
            Operation::Events(_) => "events",
            Operation::PodLogs(_) => "podLogs",
            Operation::Proxy(_) => "proxy",
            Operation::Disrupt(_) => "disrupt",
        }
    }

    /// Where the action's body is.
    pub fn location(&self) -> &Location {
        match self {
            Operation::Apply(o)
            | Operation::Create(o)
            | Operation::Update(o)
            | Operation::Patch(o) => &o.location,
            Operation::Assert(o) | Operation::Error(o) => &o.location,
            Operation::Consistently(o) => &o.check.location,
            Operation::Delete(o) => &o.location,
            Operation::Wait(o) => &o.location,
            Operation::Sleep(o) => &o.location,
            Operation::Command(o) => &o.location,
            Operation::Script(o) => &o.location,
            Operation::Get(o) => &o.location,
            Operation::Describe(o) => &o.location,
            Operation::Events(o) => &o.location,
            Operation::PodLogs(o) => &o.location,
            Operation::Proxy(o) => &o.location,
            Operation::Disrupt(o) => &o.location,
        }
    }

    /// The `cluster` the operation names, if any (`sleep` and `disrupt` name none).
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Operation::Apply(o)
            | Operation::Create(o)
            | Operation::Update(o)
            | Operation::Patch(o) => o.cluster.as_deref(),
            Operation::Assert(o) | Operation::Error(o) => o.cluster.as_deref(),
            Operation::Consistently(o) => o.check.cluster.as_deref(),
            Operation::Delete(o) => o.cluster.as_deref(),
            Operation::Wait(o) => o.cluster.as_deref(),
            Operation::Command(o) => o.cluster.as_deref(),
            Operation::Script(o) => o.cluster.as_deref(),
            Operation::Get(o) => o.cluster.as_deref(),
            Operation::Describe(o) => o.cluster.as_deref(),
            Operation::Events(o) => o.cluster.as_deref(),
            Operation::PodLogs(o) => o.cluster.as_deref(),
            Operation::Proxy(o) => o.cluster.as_deref(),
            Operation::Sleep(_) | Operation::Disrupt(_) => None,
        }
    }

    /// The timeout class used when the operation sets no `timeout` itself.
    pub fn timeout_class(&self) -> TimeoutClass {
        match self {
            Operation::Apply(_)
            | Operation::Create(_)
            | Operation::Update(_)
            | Operation::Patch(_) => TimeoutClass::Apply,
            Operation::Assert(_) | Operation::Consistently(_) | Operation::Wait(_) => {
                TimeoutClass::Assert
            }
            Operation::Error(_) => TimeoutClass::Error,
            Operation::Delete(_) => TimeoutClass::Delete,
            Operation::Sleep(_)
            | Operation::Command(_)
            | Operation::Script(_)
            | Operation::Get(_)
            | Operation::Describe(_)
            | Operation::Events(_)
            | Operation::PodLogs(_)
            | Operation::Proxy(_)
            | Operation::Disrupt(_) => TimeoutClass::Exec,
        }
    }

    /// The operation's `bindings` (empty for operations without).
    pub fn bindings(&self) -> &[Binding] {
        match self {
            Operation::Apply(o)
            | Operation::Create(o)
            | Operation::Update(o)
            | Operation::Patch(o) => &o.bindings,
            Operation::Assert(o) | Operation::Error(o) => &o.bindings,
            Operation::Consistently(o) => &o.check.bindings,
            Operation::Delete(o) => &o.bindings,
            Operation::Command(o) => &o.bindings,
            Operation::Script(o) => &o.bindings,
            _ => &[],
        }
    }

    /// The operation's `outputs` (empty for operations without).
    pub fn outputs(&self) -> &[Output] {
        match self {
            Operation::Apply(o)
            | Operation::Create(o)
            | Operation::Update(o)
            | Operation::Patch(o) => &o.outputs,
            Operation::Command(o) => &o.outputs,
            Operation::Script(o) => &o.outputs,
            Operation::Proxy(o) => &o.outputs,
            _ => &[],
        }
    }

    /// The operation's own `timeout`, if set.
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            Operation::Apply(o)
            | Operation::Create(o)
            | Operation::Update(o)
            | Operation::Patch(o) => o.timeout,
            Operation::Assert(o) | Operation::Error(o) => o.timeout,
            Operation::Consistently(o) => o.check.timeout,
            Operation::Delete(o) => o.timeout,
            Operation::Wait(o) => o.timeout,
            Operation::Sleep(_) => None,
            Operation::Command(o) => o.timeout,
            Operation::Script(o) => o.timeout,
            Operation::Get(o) => o.timeout,
            Operation::Describe(o) => o.timeout,
            Operation::Events(o) => o.timeout,
            Operation::PodLogs(o) => o.timeout,
            Operation::Proxy(o) => o.timeout,
            Operation::Disrupt(o) => o.timeout.or(match o.disruption {
                Disruption::RestartApiServer => Some(DEFAULT_RESTART_TIMEOUT),
                _ => None,
            }),
        }
    }
}

/// Where a manifest came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestSource {
    /// Written inline under `resource:`.
    Inline,
    /// Read from a file referenced by `file:` (resolved path).
    File(PathBuf),
}

/// One YAML document: a resource to send, or an assertion tree.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The file the document is in (the scenario file for inline ones).
    pub file: Arc<PathBuf>,
    /// The positioned document.
    pub node: Node,
    /// Where it came from.
    pub source: ManifestSource,
}

impl Manifest {
    /// Where the document starts.
    pub fn location(&self) -> Location {
        self.node.location(&self.file)
    }

    /// The document as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        self.node.to_json()
    }
}

/// A binding `{name, value}`; `value` may hold `(expr)` strings evaluated in order.
#[derive(Clone, Debug)]
pub struct Binding {
    /// Where the entry starts.
    pub location: Location,
    /// The name, referenced as `$name`.
    pub name: String,
    /// The value (an assertion-tree-like template).
    pub value: Node,
    /// The language of the value's unprefixed `(expr)` strings.
    pub compiler: Compiler,
}

/// An output `{name, value, match?}`: binds `$name` for the following operations.
#[derive(Clone, Debug)]
pub struct Output {
    /// Where the entry starts.
    pub location: Location,
    /// The name.
    pub name: String,
    /// The value template, evaluated against the operation's outcome.
    pub value: Node,
    /// Only bind when the outcome matches this tree.
    pub match_: Option<Node>,
    /// The language of the unprefixed `(expr)` strings in `value` and `match_`.
    pub compiler: Compiler,
}

/// An expectation `{match?, check}` on an operation's outcome (Chainsaw `expect`).
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Where the entry starts.
    pub location: Location,
    /// Apply `check` only to outcomes matching this tree.
    pub match_: Option<Node>,
    /// The assertion tree on the outcome (`$error`, the object...).
    pub check: Node,
}

/// `deletionPropagationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagationPolicy {
    /// Orphan the dependents.
    Orphan,
    /// Delete dependents in the background.
    Background,
    /// Delete dependents first.
    Foreground,
}

/// `format` of get / events / wait output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// apply / create / update / patch.
#[derive(Clone, Debug)]
pub struct ResourceOp {
    /// Where the action body is.
    pub location: Location,
    /// The documents to send: the inline `resource`, or every document of every file
    /// matched by `file`.
    pub resources: Vec<Manifest>,
    /// `file` as written (a path or glob relative to the scenario file).
    pub file: Option<String>,
    /// `template`.
    pub template: Option<bool>,
    /// `dryRun`.
    pub dry_run: Option<bool>,
    /// `bindings`.
    pub bindings: Vec<Binding>,
    /// `outputs`.
    pub outputs: Vec<Output>,
    /// `expect`.
    pub expect: Vec<Expectation>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
    /// `subresource` (kanon, patch only): `status`.
    pub subresource: Option<String>,
}

/// assert / error (and the check part of consistently).
#[derive(Clone, Debug)]
pub struct CheckOp {
    /// Where the action body is.
    pub location: Location,
    /// The assertion trees.
    pub trees: Vec<Manifest>,
    /// `file` as written.
    pub file: Option<String>,
    /// `template`.
    pub template: Option<bool>,
    /// `bindings`.
    pub bindings: Vec<Binding>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
    /// `mock` (kanon): assert on this mock's recorded requests instead of cluster objects.
    pub mock: Option<String>,
}

/// consistently (kanon).
#[derive(Clone, Debug)]
pub struct ConsistentlyOp {
    /// The trees and their options.
    pub check: CheckOp,
    /// How long every tree must keep holding.
    pub duration: Duration,
}

/// The object a `delete` targets.
#[derive(Clone, Debug)]
pub enum DeleteTarget {
    /// Objects described by documents (inline or files).
    Resources(Vec<Manifest>),
    /// `ref`.
    Ref(ObjectReference),
}

/// `ref` of delete: kind plus name or labels.
#[derive(Clone, Debug)]
pub struct ObjectReference {
    /// Where it is written.
    pub location: Location,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `labels`: a label selector as a map.
    pub labels: BTreeMap<String, String>,
}

/// delete.
#[derive(Clone, Debug)]
pub struct DeleteOp {
    /// Where the action body is.
    pub location: Location,
    /// What to delete.
    pub target: DeleteTarget,
    /// `file` as written.
    pub file: Option<String>,
    /// `template`.
    pub template: Option<bool>,
    /// `bindings`.
    pub bindings: Vec<Binding>,
    /// `expect`.
    pub expect: Vec<Expectation>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `deletionPropagationPolicy`.
    pub propagation: Option<PropagationPolicy>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// Objects selected by kind (or resource name), namespace, name and label selector.
#[derive(Clone, Debug, Default)]
pub struct ObjectSelector {
    /// `apiVersion`.
    pub api_version: Option<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `resource`: a `kubectl`-style name (plural, singular, short name or kind, with an
    /// optional `.group`), resolved through discovery, instead of apiVersion/kind.
    pub resource: Option<String>,
    /// `namespace` (`None`: the scenario's namespace).
    pub namespace: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `selector`: a label selector (`app=x,tier!=db`).
    pub selector: Option<String>,
}

/// What a `wait` waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// The objects are gone.
    Deletion,
    /// The objects exist.
    Creation,
    /// `condition {name, value}` (`value` defaults to `"true"`, compared case-insensitively).
    Condition {
        /// Condition type.
        name: String,
        /// Expected status.
        value: Option<String>,
    },
    /// `jsonPath {path, value}` (kubectl JSONPath such as `{.status.phase}`).
    JsonPath {
        /// The path.
        path: String,
        /// The expected value (`None`: the path exists).
        value: Option<String>,
    },
}

/// wait.
#[derive(Clone, Debug)]
pub struct WaitOp {
    /// Where the action body is.
    pub location: Location,
    /// The objects.
    pub object: ObjectSelector,
    /// The condition.
    pub for_: WaitFor,
    /// `format`.
    pub format: Option<OutputFormat>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// sleep.
#[derive(Clone, Debug)]
pub struct SleepOp {
    /// Where the action body is.
    pub location: Location,
    /// How long.
    pub duration: Duration,
}

/// command.
#[derive(Clone, Debug)]
pub struct CommandOp {
    /// Where the action body is.
    pub location: Location,
    /// `entrypoint`.
    pub entrypoint: String,
    /// `args` (templated with bindings).
    pub args: Vec<String>,
    /// `env`: extra environment variables (`{name, value}`).
    pub env: Vec<Binding>,
    /// `workDir` (default: the scenario's folder).
    pub work_dir: Option<String>,
    /// `check`: an assertion tree over `{$stdout, $stderr, $error}`.
    pub check: Option<Node>,
    /// `outputs`.
    pub outputs: Vec<Output>,
    /// `bindings`.
    pub bindings: Vec<Binding>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `skipLogOutput`.
    pub skip_log_output: bool,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// script.
#[derive(Clone, Debug)]
pub struct ScriptOp {
    /// Where the action body is.
    pub location: Location,
    /// `content`, run with `sh -c`.
    pub content: String,
    /// `env`.
    pub env: Vec<Binding>,
    /// `workDir`.
    pub work_dir: Option<String>,
    /// `check`.
    pub check: Option<Node>,
    /// `outputs`.
    pub outputs: Vec<Output>,
    /// `bindings`.
    pub bindings: Vec<Binding>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `skipLogOutput`.
    pub skip_log_output: bool,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// get.
#[derive(Clone, Debug)]
pub struct GetOp {
    /// Where the action body is.
    pub location: Location,
    /// The objects.
    pub object: ObjectSelector,
    /// `format`.
    pub format: Option<OutputFormat>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// describe.
#[derive(Clone, Debug)]
pub struct DescribeOp {
    /// Where the action body is.
    pub location: Location,
    /// The objects.
    pub object: ObjectSelector,
    /// `showEvents`.
    pub show_events: Option<bool>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// events.
#[derive(Clone, Debug)]
pub struct EventsOp {
    /// Where the action body is.
    pub location: Location,
    /// Namespace, name and selector of the events (kind fields unused).
    pub object: ObjectSelector,
    /// `format`.
    pub format: Option<OutputFormat>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// podLogs.
#[derive(Clone, Debug)]
pub struct PodLogsOp {
    /// Where the action body is.
    pub location: Location,
    /// Namespace, name and selector of the pods (kind fields unused).
    pub object: ObjectSelector,
    /// `container` (`None`: all containers).
    pub container: Option<String>,
    /// `tail`: last lines (`None`: 10 with a selector, all with a name).
    pub tail: Option<i64>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// proxy: `GET /api/v1/namespaces/<ns>/<resource>/<name>:<port>/proxy/<path>`, as
/// Chainsaw runs it with `kubectl get --raw`.
#[derive(Clone, Debug)]
pub struct ProxyOp {
    /// Where the action body is.
    pub location: Location,
    /// `apiVersion` of the proxied object (`v1`).
    pub api_version: String,
    /// `kind` of the proxied object (`Service`, `Pod`, `Node`).
    pub kind: String,
    /// `namespace` (may be an `(expr)`; `None`: the scenario's namespace).
    pub namespace: Option<String>,
    /// `name` (may be an `(expr)`).
    pub name: String,
    /// `port`: a port name or number (may be an `(expr)`; `None`: the default port).
    pub port: Option<String>,
    /// `path` on the target (may be an `(expr)`; `None`: `/`).
    pub path: Option<String>,
    /// `check` (kanon): an assertion tree over `{$stdout, $stderr, $error}`; without it
    /// an error answer fails the operation, as a failing command does.
    pub check: Option<Node>,
    /// `outputs`, evaluated with `$stdout`, `$stderr` and `$error` bound.
    pub outputs: Vec<Output>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `cluster`.
    pub cluster: Option<String>,
}

/// How long an API server restart may take when `disrupt` sets no `timeout`: stopping
/// it (a grace period of a few seconds) and waiting until it is ready again.
pub const DEFAULT_RESTART_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest a `failWrites`, `failReads` or `outage` disruption may last: faults end by themselves.
pub const MAX_DISRUPTION: Duration = Duration::from_secs(300);

/// What a disruption acts on, and so what the run must provide for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisruptTarget {
    /// The operator's API traffic: needs an operator kanon starts, behind its fault
    /// proxy.
    OperatorApi,
    /// The API server: needs a cluster kanon runs itself (`local`).
    ApiServer,
}

/// One disruption.
#[derive(Clone, Debug, PartialEq)]
pub enum Disruption {
    /// `operatorApi: {failWrites: {status, ratio}, for}`: for `duration`, a `ratio` of
    /// the operator's writes (POST, PUT, PATCH, DELETE; deterministic: 0.5 fails every
    /// second one) are answered with the codes of `statuses` in turn (409 Conflict, 429
    /// with Retry-After, 500, 503; a metav1.Status body) instead of reaching the API
    /// server. Returns at once; the fault ends by itself.
    FailWrites {
        /// Resource plurals whose writes may fail (`resources:`); empty: every write.
        resources: Vec<String>,
        /// Status codes, used in turn.
        statuses: Vec<u16>,
        /// Share of writes failed, in (0, 1].
        ratio: f64,
        /// How long the fault lasts.
        duration: Duration,
    },
    /// `operatorApi: {failReads: {resources, status}, for}`: for `duration`, every read
    /// of one named object of `resources` (a GET of `.../RESOURCE/NAME`; never a list
    /// or a watch, so informers keep working) is answered with the codes of `statuses`
    /// in turn. Returns at once; the fault ends by itself.
    FailReads {
        /// Resource plurals whose named reads fail (`mcptelemetryconfigs`).
        resources: Vec<String>,
        /// Status codes, used in turn.
        statuses: Vec<u16>,
        /// How long the fault lasts.
        duration: Duration,
    },
    /// `operatorApi: {outage: D}`: cuts every open connection of the operator (watches
    /// included) and refuses new ones for `duration`. Returns at once; the outage ends
    /// by itself.
    Outage {
        /// How long the outage lasts.
        duration: Duration,
    },
    /// `apiServer: {restart: {}}`: stops the API server and starts it again on the
    /// same port and storage; returns once it is ready (local clusters only).
    RestartApiServer,
}

impl Disruption {
    /// What the disruption acts on.
    pub fn target(&self) -> DisruptTarget {
        match self {
            Disruption::FailWrites { .. }
            | Disruption::FailReads { .. }
            | Disruption::Outage { .. } => DisruptTarget::OperatorApi,
            Disruption::RestartApiServer => DisruptTarget::ApiServer,
        }
    }
}

/// disrupt (kanon).
///
/// Every disruption is bounded (`failWrites`, `failReads` and `outage` by their duration, at most
/// [`MAX_DISRUPTION`]) and whatever is still in force is lifted when the scenario ends,
/// fails or times out. When the run cannot perform it (an operator kanon did not start,
/// a cluster it does not run), the scenario is reported skipped with the reason.
#[derive(Clone, Debug)]
pub struct DisruptOp {
    /// Where the action body is.
    pub location: Location,
    /// What to do.
    pub disruption: Disruption,
    /// `timeout`: bounds an API server restart (default [`DEFAULT_RESTART_TIMEOUT`]).
    pub timeout: Option<Duration>,
}
