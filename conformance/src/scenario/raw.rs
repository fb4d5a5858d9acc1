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
