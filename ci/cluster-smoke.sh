#!/usr/bin/env bash
# Starts a throwaway local cluster and checks it end to end: CEL admission, garbage
# collection, namespace deletion, a Deployment becoming Available, the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
exec cargo test -p kanon --test cluster_local "$@"
