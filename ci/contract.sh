#!/usr/bin/env bash
# The main job: the contract checks against the reference operator on a throwaway local
# cluster. Until `kanon test` runs the YAML suite in scenarios/, these are the operator's
# cluster tests, one per clause group (operator/tests/cluster/).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
exec cargo test -p mcp-operator --test cluster "$@"
