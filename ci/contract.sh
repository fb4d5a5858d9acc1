#!/usr/bin/env bash
# The main job: the contract suite (scenarios/, see kanon.yaml) against the reference
# operator on a throwaway local cluster; reports in target/kanon-report/.
# Extra arguments go to `kanon test` (e.g. --include telemetry, --report-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
cargo build --quiet -p mcp-operator -p kanon
target="${CARGO_TARGET_DIR:-target}"
exec "$target/debug/kanon" test \
  --operator-cmd "$target/debug/mcp-operator run --metrics-port 0 --metrics-bind 127.0.0.1" "$@"
