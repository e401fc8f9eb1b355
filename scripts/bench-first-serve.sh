#!/usr/bin/env bash
# How soon the main command serves (issue 12.8): runs scripts/run.sh over an empty, temporary data
# directory and the default corpus, and reports the seconds from its start until /healthz first answers
# 200 (set-up included: on a machine where the build and the models are cached that part takes seconds),
# with what /healthz then says is indexed and still being built. Then stops it and removes the directory.
#   scripts/bench-first-serve.sh            (PORT=8699 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8699}"
data="$(mktemp -d)"
log="$data.run.log"
started=$(date +%s.%N)
CURATOR_PATHS_DATA_DIR="$data" CURATOR_SERVER_BIND="127.0.0.1:$port" setsid scripts/run.sh >"$log" 2>&1 &
runner=$!
cleanup() {
  kill -TERM "$runner" 2>/dev/null || true
  wait "$runner" 2>/dev/null || true
  # The background ingest may take a moment to stop writing into the directory.
  for _ in 1 2 3 4 5 6 7 8 9 10; do rm -rf "$data" 2>/dev/null && break; sleep 1; done
  rm -f "$log"
}
trap cleanup EXIT
until health="$(curl -sf "http://127.0.0.1:$port/healthz")"; do
  kill -0 "$runner" 2>/dev/null || { echo "bench-first-serve: scripts/run.sh stopped before serving; its output:" >&2; tail -n 30 "$log" >&2; exit 1; }
  sleep 1
done
seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$started" "$(date +%s.%N)")
echo "scripts/run.sh served after $seconds s"
python3 -c 'import json, sys; h = json.loads(sys.argv[1]); print("index:", json.dumps(h["index"])); print("building:", json.dumps(h["building"]))' "$health"
