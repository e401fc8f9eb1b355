#!/usr/bin/env bash
# Starts `curator serve` with the smallest model over the sample records on a free local port and runs
# tests/openai_client.py with the official openai Python client (pip-installed into a cached venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/target}"
curator="$CARGO_TARGET_DIR/release/curator"
venv="${CURATOR_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/test-venv}"

if ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  echo "== openai client in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "openai==3.54.0" || { echo "test-openai-client: pip could not install openai (is PyPI reachable?)" >&2; exit 1; }
fi

work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export CURATOR_PATHS_DATA_DIR="$work/data" CURATOR_GENERATION_MODEL=smollm2-135m-instruct-q4_1.gguf CURATOR_GENERATION_MAX_ANSWER_TOKENS=64 CURATOR_ANSWER_GATE=false
"$curator" ingest corpus/sample.jsonl >/dev/null
source scripts/lib/test-server.sh
start_test_server "$work/serve.log"
echo "== openai client against curator serve on port $port"
CURATOR_URL="http://127.0.0.1:$port" "$venv/bin/python" tests/openai_client.py
