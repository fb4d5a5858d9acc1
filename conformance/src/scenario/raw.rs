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
    #[schemars(with = "String")]
    pub api_version: S<String>,
    #[schemars(with = "String")]
    pub kind: S<String>,
    #[schemars(with = "Option<RawMetadata>")]
    pub metadata: Option<S<RawMetadata>>,
    #[schemars(with = "RawSpec")]
    pub spec: S<RawSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawMetadata {
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    pub labels: Option<Pairs>,
    pub annotations: Option<Pairs>,
}

/// The union of the `spec` fields of a kanon Scenario, a Chainsaw Test and a Chainsaw
/// StepTemplate; `load` checks which ones each kind may use.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSpec {
    #[schemars(with = "Option<String>")]
    pub description: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[schemars(with = "Option<RawTimeouts>")]
    pub timeouts: Option<S<RawTimeouts>>,
    #[schemars(with = "Option<bool>")]
    pub skip: Option<S<bool>>,
    #[schemars(with = "Option<bool>")]
    pub concurrent: Option<S<bool>>,
    #[schemars(with = "Option<bool>")]
    pub skip_delete: Option<S<bool>>,
    #[schemars(with = "Option<bool>")]
    pub fail_fast: Option<S<bool>>,
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    pub namespace_template: Option<Node>,
    #[schemars(with = "Option<Vec<RawBindingSet>>")]
    pub scenarios: Option<Vec<S<RawBindingSet>>>,
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<Vec<RawStep>>")]
    pub steps: Option<Vec<S<RawStep>>>,
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub catch: Option<Vec<S<RawOperation>>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    pub clusters: Option<Node>,
    #[schemars(with = "Option<String>")]
    pub force_termination_grace_period: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub delay_before_cleanup: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub deletion_propagation_policy: Option<S<String>>,
    // kanon additions
    #[schemars(with = "Option<Vec<String>>")]
    pub clauses: Option<Vec<S<String>>>,
    pub mocks: Option<Vec<Node>>,
    pub values: Option<Node>,
    // StepTemplate
    #[serde(rename = "try")]
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub try_: Option<Vec<S<RawOperation>>>,
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub finally: Option<Vec<S<RawOperation>>>,
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub cleanup: Option<Vec<S<RawOperation>>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBindingSet {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawTimeouts {
    #[schemars(with = "Option<String>")]
    pub apply: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub assert: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub error: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub delete: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub cleanup: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub exec: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBinding {
    #[schemars(with = "String")]
    pub name: S<String>,
    pub value: Node,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOutput {
    #[schemars(with = "String")]
    pub name: S<String>,
    pub value: Node,
    #[serde(rename = "match")]
    pub match_: Option<Node>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawExpectation {
    #[serde(rename = "match")]
    pub match_: Option<Node>,
    pub check: Node,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawStep {
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub description: Option<S<String>>,
    #[serde(rename = "use")]
    #[schemars(with = "Option<RawUse>")]
    pub use_: Option<S<RawUse>>,
    #[schemars(with = "Option<RawTimeouts>")]
    pub timeouts: Option<S<RawTimeouts>>,
    #[schemars(with = "Option<String>")]
    pub deletion_propagation_policy: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<bool>")]
    pub skip_delete: Option<S<bool>>,
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[serde(rename = "try")]
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub try_: Option<Vec<S<RawOperation>>>,
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub catch: Option<Vec<S<RawOperation>>>,
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub finally: Option<Vec<S<RawOperation>>>,
    #[schemars(with = "Option<Vec<RawOperation>>")]
    pub cleanup: Option<Vec<S<RawOperation>>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawUse {
    #[schemars(with = "String")]
    pub template: S<String>,
    pub with: Option<RawWith>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWith {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
}

/// One entry of `try` / `catch` / `finally` / `cleanup`: exactly one action key.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOperation {
    #[schemars(with = "Option<String>")]
    pub description: Option<S<String>>,
    #[schemars(with = "Option<bool>")]
    pub continue_on_error: Option<S<bool>>,
    #[schemars(with = "Option<RawResourceAction>")]
    pub apply: Option<S<RawResourceAction>>,
    #[schemars(with = "Option<RawResourceAction>")]
    pub create: Option<S<RawResourceAction>>,
    #[schemars(with = "Option<RawResourceAction>")]
    pub update: Option<S<RawResourceAction>>,
    #[schemars(with = "Option<RawResourceAction>")]
    pub patch: Option<S<RawResourceAction>>,
    #[schemars(with = "Option<RawCheckAction>")]
    pub assert: Option<S<RawCheckAction>>,
    #[schemars(with = "Option<RawCheckAction>")]
    pub error: Option<S<RawCheckAction>>,
    #[schemars(with = "Option<RawConsistently>")]
    pub consistently: Option<S<RawConsistently>>,
    #[schemars(with = "Option<RawDelete>")]
    pub delete: Option<S<RawDelete>>,
    #[schemars(with = "Option<RawWait>")]
    pub wait: Option<S<RawWait>>,
    #[schemars(with = "Option<RawSleep>")]
    pub sleep: Option<S<RawSleep>>,
    #[schemars(with = "Option<RawCommand>")]
    pub command: Option<S<RawCommand>>,
    #[schemars(with = "Option<RawScript>")]
    pub script: Option<S<RawScript>>,
    #[schemars(with = "Option<RawGet>")]
    pub get: Option<S<RawGet>>,
    #[schemars(with = "Option<RawDescribe>")]
    pub describe: Option<S<RawDescribe>>,
    #[schemars(with = "Option<RawEvents>")]
    pub events: Option<S<RawEvents>>,
    #[schemars(with = "Option<RawPodLogs>")]
    pub pod_logs: Option<S<RawPodLogs>>,
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

/// `disrupt.operatorApi`: `{failWrites: {...}, for: D}` or `{outage: D}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOperatorApi {
    /// Answer a share of the operator's writes (POST, PUT, PATCH, DELETE) with an
    /// error instead of forwarding them; reads and watches pass. Needs `for`.
    #[schemars(with = "Option<RawFailWrites>")]
    pub fail_writes: Option<S<RawFailWrites>>,
    /// How long `failWrites` lasts (`20s`; at most 5m).
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
    /// Share of writes to fail, in (0, 1] (default 1). Deterministic, not random:
    /// 0.5 fails every second write, so runs are reproducible.
    #[schemars(with = "Option<f64>")]
    pub ratio: Option<S<f64>>,
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
            "oneOf": [code.clone(), {"type": "array", "items": code, "minItems": 1}]
        })
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawResourceAction {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<bool>")]
    pub dry_run: Option<S<bool>>,
    #[schemars(with = "Option<Vec<RawExpectation>>")]
    pub expect: Option<Vec<S<RawExpectation>>>,
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    pub resource: Option<Node>,
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    /// kanon: patch a subresource (`status`).
    #[schemars(with = "Option<String>")]
    pub subresource: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCheckAction {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    pub resource: Option<Node>,
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    /// kanon: assert on the requests recorded by a mock instead of cluster objects.
    #[schemars(with = "Option<String>")]
    pub mock: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawConsistently {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    pub resource: Option<Node>,
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    #[schemars(with = "Option<String>")]
    pub mock: Option<S<String>>,
    #[schemars(with = "String")]
    pub duration: S<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawObjectReference {
    #[schemars(with = "String")]
    pub api_version: S<String>,
    #[schemars(with = "String")]
    pub kind: S<String>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    pub labels: Option<Pairs>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDelete {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<Vec<RawExpectation>>")]
    pub expect: Option<Vec<S<RawExpectation>>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[schemars(with = "Option<bool>")]
    pub template: Option<S<bool>>,
    #[schemars(with = "Option<String>")]
    pub file: Option<S<String>>,
    #[serde(rename = "ref")]
    #[schemars(with = "Option<RawObjectReference>")]
    pub ref_: Option<S<RawObjectReference>>,
    #[schemars(with = "Option<String>")]
    pub deletion_propagation_policy: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWait {
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub format: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub api_version: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub kind: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub resource: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    #[serde(rename = "for")]
    #[schemars(with = "RawWaitFor")]
    pub for_: S<RawWaitFor>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitFor {
    pub deletion: Option<Node>,
    pub creation: Option<Node>,
    #[schemars(with = "Option<RawWaitCondition>")]
    pub condition: Option<S<RawWaitCondition>>,
    #[schemars(with = "Option<RawWaitJsonPath>")]
    pub json_path: Option<S<RawWaitJsonPath>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitCondition {
    #[schemars(with = "String")]
    pub name: S<String>,
    #[schemars(with = "Option<String>")]
    pub value: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitJsonPath {
    #[schemars(with = "String")]
    pub path: S<String>,
    #[schemars(with = "Option<String>")]
    pub value: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSleep {
    #[schemars(with = "String")]
    pub duration: S<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCommand {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub check: Option<Node>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub env: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<bool>")]
    pub skip_log_output: Option<S<bool>>,
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[schemars(with = "String")]
    pub entrypoint: S<String>,
    #[schemars(with = "Option<Vec<String>>")]
    pub args: Option<Vec<S<String>>>,
    #[schemars(with = "Option<String>")]
    pub work_dir: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawScript {
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub check: Option<Node>,
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<Vec<RawBinding>>")]
    pub env: Option<Vec<S<RawBinding>>>,
    #[schemars(with = "Option<bool>")]
    pub skip_log_output: Option<S<bool>>,
    #[schemars(with = "Option<Vec<RawOutput>>")]
    pub outputs: Option<Vec<S<RawOutput>>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[schemars(with = "String")]
    pub content: S<String>,
    #[schemars(with = "Option<String>")]
    pub work_dir: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawGet {
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub format: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub api_version: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub kind: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub resource: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDescribe {
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub api_version: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub kind: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub resource: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    #[schemars(with = "Option<bool>")]
    pub show_events: Option<S<bool>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawEvents {
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub format: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawPodLogs {
    #[schemars(with = "Option<String>")]
    pub cluster: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub namespace: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub selector: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub container: Option<S<String>>,
    #[schemars(with = "Option<i64>")]
    pub tail: Option<S<i64>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
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
        <std::collections::BTreeMap<String, String>>::json_schema(g)
    }
}
