#!/usr/bin/env bash
# Mutation check of the contract suite: builds the reference operator with one deliberate
# fault at a time, runs the suite against it, and prints which scenarios caught each
# fault. Exits 1 when a fault goes uncaught. Not run in CI (it builds and runs the suite
# once per fault); usage: ci/mutation-check.sh [FAULT...]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ensure-tools.sh
repo=$(pwd)
target="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --quiet -p kanon
kanon="$target/debug/kanon"

faults=("${@:-no-finalizer no-secret-key-ref hash-not-copied referencing-never-pruned cel-rule-removed}")
# shellcheck disable=SC2206
faults=(${faults[*]})

# Each fault is a Python edit of the operator's source; it fails loudly when the code it
# expects is not there, so a drifted mutation is never silently a no-op.
mutate() {
  local fault=$1 src=$2
  python3 - "$fault" "$src" <<'PY'
import re, sys
fault, src = sys.argv[1], sys.argv[2]
def edit(path, fn):
    p = f"{src}/{path}"
    text = open(p).read()
    new = fn(text)
    if new == text:
        sys.exit(f"mutation {fault}: nothing changed in {path}")
    open(p, "w").write(new)
def replace(old, new):
    def fn(t):
        if old not in t:
            sys.exit(f"mutation {fault}: expected code not found: {old[:60]!r}")
        return t.replace(old, new, 1)
    return fn
if fault == "no-finalizer":
    # CFG-1: the finalizer is never added.
    edit("operator/src/controllers/config.rs", lambda t: re.sub(
        r"\} else if !has_finalizer \{\s*set_finalizer\(&api, obj, true\)\.await\?;\s*\}", "}", t))
elif fault == "no-secret-key-ref":
    # TEL-4/TEL-5: sensitive headers become plain env values instead of secretKeyRefs.
    edit("operator/src/resources/env.rs", replace(
        "    env\n}",
        "    for e in env.iter_mut().filter(|e| e.name.starts_with(\"TOOLHIVE_OTEL_HEADER_\")) {\n"
        "        e.value_from = None;\n        e.value = Some(\"header-value\".into());\n    }\n    env\n}"))
elif fault == "hash-not-copied":
    # TEL-2: the server never records the telemetry config's hash.
    def fn(t):
        start = t.index("let status = MCPServerStatus {")
        end = t.index("\n    };\n", start) + len("\n    };\n")
        t = t[:start] + "let mut status = MCPServerStatus {" + t[start + len("let status = MCPServerStatus {"):]
        end += len("mut ")
        return t[:end] + "    status.telemetry_config_hash = None;\n" + t[end:]
    edit("operator/src/controllers/mcp_server.rs", fn)
elif fault == "referencing-never-pruned":
    # CFG-4: names are added to referencingServers but never removed.
    edit("operator/src/controllers/config.rs", replace(
        "referencing_servers: referencing.clone(),",
        "referencing_servers: {\n            let mut all = referencing.clone();\n"
        "            for p in &previous.referencing_servers {\n                if !all.contains(p) {\n"
        "                    all.push(p.clone());\n                }\n            }\n            all.sort();\n            all\n        },"))
elif fault == "cel-rule-removed":
    # CEL-1: telemetry and telemetryConfigRef are no longer mutually exclusive.
    edit("operator/src/api/mcp_server.rs", lambda t: re.sub(
        r"#\[x_kube\(validation = Rule::new\(\"!\(has\(self\.telemetry\) && has\(self\.telemetryConfigRef\)\)\"\)\s*\.message\([^)]*\)\)\]\n", "", t))
else:
    sys.exit(f"unknown fault {fault}")
PY
}

declare -A caught
status=0
for fault in "${faults[@]}"; do
  work=$(mktemp -d)
  git worktree add --quiet --detach "$work/src" HEAD
  cp -r scenarios kanon.yaml "$work/src/" 2>/dev/null || true
  mutate "$fault" "$work/src"
  (cd "$work/src" && CARGO_TARGET_DIR="$target/mutation" cargo build --quiet -p mcp-operator)
  op="$target/mutation/debug/mcp-operator"
  mkdir -p "$work/crds"
  "$op" crds > "$work/crds/crds.yaml"
  "$kanon" test scenarios --catalogue scenarios/clauses.yaml --crds "$work/crds" \
    --operator-cmd "$op run --metrics-port 0 --metrics-bind 127.0.0.1" \
    --report-dir "$work/report" -q > "$work/console.txt" 2>&1 || true
  failed=$(python3 -c "
import json,sys
r=json.load(open('$work/report/report.json'))
print(', '.join(s['name'] for s in r['scenarios'] if s['status']=='failed'))" 2>/dev/null || echo "")
  caught[$fault]="$failed"
  [ -n "$failed" ] || status=1
  git worktree remove --force "$work/src"
  rm -rf "$work"
done

printf '\n| fault | caught by |\n|---|---|\n'
for fault in "${faults[@]}"; do
  printf '| %s | %s |\n' "$fault" "${caught[$fault]:-NOT CAUGHT}"
done
exit $status
