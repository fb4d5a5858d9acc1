#!/usr/bin/env bash
# Engine benchmark (issue: kanon engine): assertion latency and per-operation overhead
# against a local cluster. Not run in CI. Usage: ci/bench-engine.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
cargo run --quiet --release -p kanon --example bench_engine -- "${1:-100}"
