#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, and cluster tests against throwaway local
# control planes (built into ~/.cache/kanon on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
exec cargo test --workspace "$@"
