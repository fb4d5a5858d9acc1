#!/usr/bin/env bash
# Scale benchmark of mcp-operator on a local control plane (not run in CI).
#
#   ci/bench-operator.sh            # 1,000 MCPServers sharing one MCPTelemetryConfig
#   BENCH_SERVERS=200 ci/bench-operator.sh
#   BENCH_CONCURRENCY=8 ci/bench-operator.sh   # the operator's --concurrency (default 16)
#
# Prints: cold-start time until every server is reconciled, time from a config spec edit
# until every Deployment carries the new checksum, operator peak RSS, reconcile p50/p99
# (edit cascade, and 50 single-server edits made one at a time). Run it on an idle
# machine: it warns when the load average says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p mcp-operator --bin mcp-operator
target_dir="${CARGO_TARGET_DIR:-target}"
export MCP_OPERATOR_BIN="$(cd "$target_dir" && pwd)/release/mcp-operator"
cargo bench -p mcp-operator --bench scale
