//! kanon: a declarative conformance harness for Kubernetes operators.
//!
//! The library holds the scenario model, the engine, the cluster providers, the mock
//! servers and the reports; the `kanon` binary is a thin CLI over it.

pub mod assert;
pub mod cluster;
pub mod engine;
pub mod expr;
pub mod faults;
pub mod k8s;
pub mod mocks;
pub mod ops;
pub mod pki;
pub mod report;
pub mod scenario;
