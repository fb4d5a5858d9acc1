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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDocument {
    pub api_version: S<String>,
    pub kind: S<String>,
    pub metadata: Option<S<RawMetadata>>,
    pub spec: S<RawSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawMetadata {
    pub name: Option<S<String>>,
    pub namespace: Option<S<String>>,
    pub labels: Option<Pairs>,
    pub annotations: Option<Pairs>,
}

/// The union of the `spec` fields of a kanon Scenario, a Chainsaw Test and a Chainsaw
/// StepTemplate; `load` checks which ones each kind may use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSpec {
    pub description: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub timeouts: Option<S<RawTimeouts>>,
    pub skip: Option<S<bool>>,
    pub concurrent: Option<S<bool>>,
    pub skip_delete: Option<S<bool>>,
    pub fail_fast: Option<S<bool>>,
    pub template: Option<S<bool>>,
    pub namespace: Option<S<String>>,
    pub namespace_template: Option<Node>,
    pub scenarios: Option<Vec<S<RawBindingSet>>>,
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub steps: Option<Vec<S<RawStep>>>,
    pub catch: Option<Vec<S<RawOperation>>>,
    pub cluster: Option<S<String>>,
    pub clusters: Option<Node>,
    pub force_termination_grace_period: Option<S<String>>,
    pub delay_before_cleanup: Option<S<String>>,
    pub deletion_propagation_policy: Option<S<String>>,
    // kanon additions
    pub clauses: Option<Vec<S<String>>>,
    pub mocks: Option<Vec<Node>>,
    pub values: Option<Node>,
    // StepTemplate
    #[serde(rename = "try")]
    pub try_: Option<Vec<S<RawOperation>>>,
    pub finally: Option<Vec<S<RawOperation>>>,
    pub cleanup: Option<Vec<S<RawOperation>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBindingSet {
    pub bindings: Option<Vec<S<RawBinding>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawTimeouts {
    pub apply: Option<S<String>>,
    pub assert: Option<S<String>>,
    pub error: Option<S<String>>,
    pub delete: Option<S<String>>,
    pub cleanup: Option<S<String>>,
    pub exec: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBinding {
    pub name: S<String>,
    pub value: Node,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOutput {
    pub name: S<String>,
    pub value: Node,
    #[serde(rename = "match")]
    pub match_: Option<Node>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawExpectation {
    #[serde(rename = "match")]
    pub match_: Option<Node>,
    pub check: Node,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawStep {
    pub name: Option<S<String>>,
    pub description: Option<S<String>>,
    #[serde(rename = "use")]
    pub use_: Option<S<RawUse>>,
    pub timeouts: Option<S<RawTimeouts>>,
    pub deletion_propagation_policy: Option<S<String>>,
    pub cluster: Option<S<String>>,
    pub skip_delete: Option<S<bool>>,
    pub template: Option<S<bool>>,
    pub bindings: Option<Vec<S<RawBinding>>>,
    #[serde(rename = "try")]
    pub try_: Option<Vec<S<RawOperation>>>,
    pub catch: Option<Vec<S<RawOperation>>>,
    pub finally: Option<Vec<S<RawOperation>>>,
    pub cleanup: Option<Vec<S<RawOperation>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawUse {
    pub template: S<String>,
    pub with: Option<RawWith>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWith {
    pub bindings: Option<Vec<S<RawBinding>>>,
}

/// One entry of `try` / `catch` / `finally` / `cleanup`: exactly one action key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOperation {
    pub description: Option<S<String>>,
    pub continue_on_error: Option<S<bool>>,
    pub apply: Option<S<RawResourceAction>>,
    pub create: Option<S<RawResourceAction>>,
    pub update: Option<S<RawResourceAction>>,
    pub patch: Option<S<RawResourceAction>>,
    pub assert: Option<S<RawCheckAction>>,
    pub error: Option<S<RawCheckAction>>,
    pub consistently: Option<S<RawConsistently>>,
    pub delete: Option<S<RawDelete>>,
    pub wait: Option<S<RawWait>>,
    pub sleep: Option<S<RawSleep>>,
    pub command: Option<S<RawCommand>>,
    pub script: Option<S<RawScript>>,
    pub get: Option<S<RawGet>>,
    pub describe: Option<S<RawDescribe>>,
    pub events: Option<S<RawEvents>>,
    pub pod_logs: Option<S<RawPodLogs>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawResourceAction {
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub cluster: Option<S<String>>,
    pub dry_run: Option<S<bool>>,
    pub expect: Option<Vec<S<RawExpectation>>>,
    pub outputs: Option<Vec<S<RawOutput>>>,
    pub file: Option<S<String>>,
    pub resource: Option<Node>,
    pub template: Option<S<bool>>,
    pub timeout: Option<S<String>>,
    /// kanon: patch a subresource (`status`).
    pub subresource: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCheckAction {
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub cluster: Option<S<String>>,
    pub file: Option<S<String>>,
    pub resource: Option<Node>,
    pub template: Option<S<bool>>,
    pub timeout: Option<S<String>>,
    /// kanon: assert on the requests recorded by a mock instead of cluster objects.
    pub mock: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawConsistently {
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub cluster: Option<S<String>>,
    pub file: Option<S<String>>,
    pub resource: Option<Node>,
    pub template: Option<S<bool>>,
    pub mock: Option<S<String>>,
    pub duration: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawObjectReference {
    pub api_version: S<String>,
    pub kind: S<String>,
    pub namespace: Option<S<String>>,
    pub name: Option<S<String>>,
    pub labels: Option<Pairs>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDelete {
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub cluster: Option<S<String>>,
    pub expect: Option<Vec<S<RawExpectation>>>,
    pub timeout: Option<S<String>>,
    pub template: Option<S<bool>>,
    pub file: Option<S<String>>,
    #[serde(rename = "ref")]
    pub ref_: Option<S<RawObjectReference>>,
    pub deletion_propagation_policy: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWait {
    pub timeout: Option<S<String>>,
    pub format: Option<S<String>>,
    pub cluster: Option<S<String>>,
    pub api_version: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub resource: Option<S<String>>,
    pub namespace: Option<S<String>>,
    pub name: Option<S<String>>,
    pub selector: Option<S<String>>,
    #[serde(rename = "for")]
    pub for_: S<RawWaitFor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitFor {
    pub deletion: Option<Node>,
    pub creation: Option<Node>,
    pub condition: Option<S<RawWaitCondition>>,
    pub json_path: Option<S<RawWaitJsonPath>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitCondition {
    pub name: S<String>,
    pub value: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawWaitJsonPath {
    pub path: S<String>,
    pub value: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSleep {
    pub duration: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCommand {
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub check: Option<Node>,
    pub cluster: Option<S<String>>,
    pub env: Option<Vec<S<RawBinding>>>,
    pub skip_log_output: Option<S<bool>>,
    pub outputs: Option<Vec<S<RawOutput>>>,
    pub timeout: Option<S<String>>,
    pub entrypoint: S<String>,
    pub args: Option<Vec<S<String>>>,
    pub work_dir: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawScript {
    pub bindings: Option<Vec<S<RawBinding>>>,
    pub check: Option<Node>,
    pub cluster: Option<S<String>>,
    pub env: Option<Vec<S<RawBinding>>>,
    pub skip_log_output: Option<S<bool>>,
    pub outputs: Option<Vec<S<RawOutput>>>,
    pub timeout: Option<S<String>>,
    pub content: S<String>,
    pub work_dir: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawGet {
    pub cluster: Option<S<String>>,
    pub format: Option<S<String>>,
    pub api_version: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub resource: Option<S<String>>,
    pub namespace: Option<S<String>>,
    pub name: Option<S<String>>,
    pub selector: Option<S<String>>,
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawDescribe {
    pub cluster: Option<S<String>>,
    pub api_version: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub resource: Option<S<String>>,
    pub namespace: Option<S<String>>,
    pub name: Option<S<String>>,
    pub selector: Option<S<String>>,
    pub show_events: Option<S<bool>>,
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawEvents {
    pub cluster: Option<S<String>>,
    pub format: Option<S<String>>,
    pub namespace: Option<S<String>>,
    pub name: Option<S<String>>,
    pub selector: Option<S<String>>,
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawPodLogs {
    pub cluster: Option<S<String>>,
    pub namespace: Option<S<String>>,
    pub name: Option<S<String>>,
    pub selector: Option<S<String>>,
    pub container: Option<S<String>>,
    pub tail: Option<S<i64>>,
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
