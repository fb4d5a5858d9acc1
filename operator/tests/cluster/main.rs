//! Integration tests of the operator against a real local control plane.
//!
//! One cluster per test binary (`LocalCluster::shared`), CRDs applied once, the operator
//! started once on a thread with its own runtime; every test works in its own namespace
//! and waits on conditions with deadlines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admission;
mod configs;
mod harness;
mod restart;
mod servers;
