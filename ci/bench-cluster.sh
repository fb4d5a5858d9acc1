#!/usr/bin/env bash
# Benchmark of the local control plane (issue: real throwaway clusters). Not run in CI.
# Usage: ci/bench-cluster.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
cargo run --quiet --release -p kanon --example bench_cluster -- "${1:-5}"
