//! The engine: runs scenarios against a cluster.
//!
//! - [`chainsaw_config`]: Chainsaw's `Configuration` file, mapped onto the run options;
//! - [`crds`]: CRDs installed before a run;
//! - [`namespace`]: one fresh namespace per scenario;
//! - [`operator`]: the operator under test as a child process;
//! - [`schedule`]: parallelism, `concurrent: false`, fail-fast, retries and repeats.
//!
//! The runner that interprets the scenario model (bindings, try / catch / finally /
//! cleanup, timeouts, parallelism) builds on these and on [`crate::ops`].

pub mod chainsaw_config;
pub mod clusters;
pub mod crds;
pub mod eval;
mod exec;
pub mod lookup;
pub mod namespace;
pub mod operator;
pub mod run;
pub mod runner;
pub mod schedule;
pub mod suite;
