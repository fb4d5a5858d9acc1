//! The scenario model and its loader.
//!
//! A scenario file holds one or more YAML documents, each a `kanon.dev/v1alpha1
//! Scenario` or a Chainsaw `chainsaw.kyverno.io/v1alpha1 Test`; both load into the same
//! [`Scenario`] (see [`Flavor`] for the few places where the engine must tell them
//! apart). The model is plain data; the engine (`ops/`, `engine/`) interprets it.
//!
//! Shape, top-down:
//! - [`Scenario`]: metadata (name, labels), kanon additions (`clauses`, `mocks`,
//!   `values`), options (timeouts, namespace, skipDelete, concurrent...), `bindings`,
//!   `steps` and a scenario-level `catch`.
//! - [`Step`]: `try`, `catch`, `finally`, `cleanup` lists of [`StepOperation`]s, plus
//!   step options. A step with `use: {template: FILE, with: {bindings}}` has the
//!   template's bindings and operations placed before its own.
//! - [`StepOperation`]: `description`, `continueOnError` and one [`Operation`] — an enum
//!   with one variant per action (apply, create, update, patch, assert, error,
//!   consistently, delete, wait, sleep, command, script, get, describe, events,
//!   podLogs, proxy).
//! - Resources and assertion trees are [`Manifest`]s: positioned YAML [`Node`]s, already
//!   read from `file:` references (relative to the scenario file; a path or a glob; every
//!   document of every matched file), or inline from `resource:`. Their `(expr)` keys
//!   and values were compiled at load time, so the engine can compile them again with
//!   [`crate::assert::Tree::from_node`] without failing.
//!
//! Every node keeps a [`Location`] (file:line:column). Loading never panics: malformed
//! YAML, wrong types, unknown fields or operations, bad durations, unparsable
//! expressions, missing referenced files are all [`ParseError`]s, displayed as
//! `file:line:column: message`, and all of them are collected where the YAML itself
//! could be read (serde stops at the first syntax or type error of a file).
//!
//! ```
//! use std::path::Path;
//! use kanon::scenario::{parse_str, Operation};
//!
//! let yaml = "apiVersion: chainsaw.kyverno.io/v1alpha1
//! kind: Test
//! metadata:
//!   name: demo
//! spec:
//!   steps:
//!   - try:
//!     - sleep:
//!         duration: 1m30s
//!     - aply: {}
//! ";
//! let errors = parse_str(Path::new("demo/chainsaw-test.yaml"), yaml).unwrap_err();
//! assert!(errors[0].to_string().starts_with("demo/chainsaw-test.yaml:10:7: unknown field `aply`"));
//!
//! let ok = parse_str(Path::new("demo.yaml"), &yaml.replace("    - aply: {}\n", "")).unwrap();
//! assert!(matches!(ok[0].steps[0].try_[0].operation, Operation::Sleep(_)));
//! ```
//!
//! Timeouts: [`Timeouts`] at config, scenario and step level plus an operation's own
//! `timeout` resolve with [`resolve_timeout`] (innermost wins; Chainsaw's defaults last).
#![warn(missing_docs)]

mod conventional;
mod duration;
pub mod lint;
mod load;
mod location;
mod model;
mod node;
mod raw;
pub mod scaffold;
pub mod schema;
mod timeouts;
mod validate;

pub use duration::{format_duration, parse_duration};
pub use load::{
    CHAINSAW_API_VERSION, KANON_API_VERSION, LoadOptions, LoadedSource, RESERVED_BINDINGS,
    SCENARIO_FILE_NAMES, is_binding_name, load, load_documents, load_each, load_file,
    load_file_with, load_with, parse_str, parse_str_with,
};
// The scenario loader's conversion of a run configuration's scenario-like fields.
pub(crate) use load::{RawRunDefaults, run_defaults};
pub use location::{Location, ParseError};
pub use model::*;
pub use node::{Key, Node, NodeValue};
pub use timeouts::{TimeoutClass, Timeouts, resolve_timeout};

/// Raw types shared with the suite file and the Chainsaw configuration (their schemas and
/// spanned parsing).
pub(crate) use raw::{
    ClusterMap, CompilerName, DurationText, RawCluster, RawOperation, RawTimeouts, S,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
