//! The engine: runs scenarios against a cluster.
//!
//! - [`chainsaw_config`]: Chainsaw's `Configuration` file, mapped onto the run options;
//! - [`chainsaw_flags`]: `chainsaw test`'s flags that set what that file sets;
//! - [`crds`]: CRDs installed before a run;
//! - [`interrupt`]: SIGINT / SIGTERM stop a run that still reports what ran;
//! - [`load_failure`]: a scenario file that does not load, as a failed test of its own;
//! - [`namespace`]: one fresh namespace per scenario;
//! - [`operator`]: the operator under test as a child process;
//! - [`schedule`]: parallelism, `concurrent: false`, fail-fast, retries and repeats;
//! - [`shard`]: one machine's share of a suite split over several;
//! - [`teardown`]: namespace deletions followed in the background.
//!
//! The runner that interprets the scenario model (bindings, try / catch / finally /
//! cleanup, timeouts, parallelism) builds on these and on [`crate::ops`].

pub mod chainsaw_config;
pub mod chainsaw_flags;
pub mod clusters;
pub mod crds;
pub mod eval;
mod exec;
pub mod interrupt;
pub mod load_failure;
pub mod lookup;
pub mod namespace;
pub mod operator;
pub mod run;
pub mod runner;
pub mod schedule;
pub mod shard;
pub mod suite;
pub mod teardown;
