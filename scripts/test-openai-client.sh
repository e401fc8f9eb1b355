#!/usr/bin/env bash
# Starts `curator serve` with the smallest model over the sample records on a free local port and runs
# tests/openai_client.py with the official openai Python client (pip-installed into a cached venv).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
venv="${CURATOR_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/test-venv}"

if ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  echo "== openai client in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "openai==3.54.0" || { echo "test-openai-client: pip could not install openai (is PyPI reachable?)" >&2; exit 1; }
fi

source scripts/lib/test-server.sh
prepare_test_server 64
"$curator" ingest corpus/sample.jsonl >/dev/null
start_test_server "$work/serve.log"
echo "== openai client against curator serve on port $port"
CURATOR_URL="http://127.0.0.1:$port" "$venv/bin/python" tests/openai_client.py
