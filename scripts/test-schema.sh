#!/usr/bin/env bash
# Schema suite: schemathesis (PyPI, pinned, in the test virtual environment) against `curator serve`'s own
# /openapi.json, every route, ingest and feedback with the API key, at a bounded number of examples and a
# fixed seed. It fails on any server error (5xx) and on any response (status, content type, body, headers,
# each server-sent event) that the document does not allow.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
[ -x "$curator" ] || { echo "test-schema: $curator is missing; run scripts/setup.sh test first" >&2; exit 1; }
venv="${CURATOR_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/test-venv}"
if ! "$venv/bin/python" -c "import schemathesis" 2>/dev/null; then
  echo "== schemathesis in $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5" \
    || { echo "test-schema: pip could not install schemathesis (is PyPI reachable?)" >&2; exit 1; }
fi
echo "schemathesis $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))')"

source scripts/lib/test-server.sh
prepare_test_server 16
key="schema-test-key-$RANDOM$RANDOM"
# The rate limit is off so that every generated request reaches its handler (a 429 is documented for
# every route, and tests/server.rs checks the limit itself).
export CURATOR_SERVER_API_KEY="$key" CURATOR_SERVER_RATE_LIMIT_PER_SECOND=0
"$curator" ingest corpus/sample.jsonl >/dev/null
start_test_server "$work/serve.log"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
run() {
  "$venv/bin/schemathesis" --no-color run "http://127.0.0.1:$port/openapi.json" -H "Authorization: Bearer $key" --seed 20261130 \
    --checks "$checks" --request-timeout 120 "$@"
}
echo "== schemathesis: search, records, ingest, feedback, pages, health ($port)"
run -n "${CURATOR_SCHEMA_EXAMPLES:-25}" --exclude-path-regex '^/(v1/chat|api/ask)'
echo "== schemathesis: the answering routes, with the 135M model"
run -n "${CURATOR_SCHEMA_ANSWER_EXAMPLES:-5}" --include-path-regex '^/(v1/chat|api/ask)'
