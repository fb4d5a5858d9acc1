#!/usr/bin/env bash
# Engine benchmark (issue: kanon engine): assertion latency and per-operation overhead
# against a local cluster. Not run in CI. Usage: ci/bench-engine.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
cargo run --quiet --release -p kanon --example bench_engine -- "${1:-100}"

# 50 trivial scenarios (apply + assert), --parallel 1 versus --parallel 2. Each run starts
# its own local cluster; the figure printed is the whole `kanon test` wall time.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 50); do
  mkdir -p "$tmp/s$i"
  cat > "$tmp/s$i/scenario.yaml" <<YAML
apiVersion: kanon.dev/v1alpha1
kind: Scenario
metadata: {name: trivial-$i}
spec:
  steps:
  - try:
    - apply:
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {n: "$i"}}
    - assert:
        resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {n: "$i"}}
YAML
done
cargo build --quiet --release -p kanon
target="${CARGO_TARGET_DIR:-target}"
for p in 1 2; do
  start=$(date +%s.%N)
  "$target/release/kanon" test "$tmp" --parallel "$p" -q | tail -1
  end=$(date +%s.%N)
  printf '50 trivial scenarios, --parallel %s: %.2f s (cluster start included)\n' "$p" "$(python3 -c "print($end - $start)")"
done
