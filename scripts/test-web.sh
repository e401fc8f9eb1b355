#!/usr/bin/env bash
# Browser tests of the web pages: Debian's chromium driven by playwright-core (pinned in
# tests/web/package.json), run with `node --test` against `curator serve` over corpus/sample.jsonl plus a
# record written to attack the page, with the smallest model. Installs chromium (apt) and the npm package
# when missing. Screenshots go to docs/screenshots (CURATOR_SCREENSHOTS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
[ -x "$curator" ] || { echo "test-web: $curator is missing; run scripts/setup.sh test first" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "== chromium (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || { echo "test-web: apt-get update failed: is the Debian package registry reachable?" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || { echo "test-web: could not install chromium with apt-get" >&2; exit 1; }
fi
command -v node >/dev/null 2>&1 || { echo "test-web: node is not installed (it runs the browser tests)" >&2; exit 1; }
if [ ! -d tests/web/node_modules/playwright-core ]; then
  echo "== npm packages (tests/web/package-lock.json)"
  (cd tests/web && npm ci --no-audit --no-fund --silent) || { echo "test-web: npm could not install playwright-core (is the npm registry reachable?)" >&2; exit 1; }
fi
echo "chromium: $(chromium --version 2>/dev/null | head -1); node $(node --version); playwright-core $(node -p "require('./tests/web/node_modules/playwright-core/package.json').version")"

# 200 tokens: the 135M model must get to the end of a sentence, where the grammar puts its citation.
source scripts/lib/test-server.sh
prepare_test_server 200
key="web-test-key-$RANDOM$RANDOM"
read_key="web-read-key-$RANDOM$RANDOM"
# The relevance threshold sits between the declined test question's best dense match over the sample
# records (0.12) and the answerable ones' (0.65), as `curator ask --json` reports them.
export CURATOR_SERVER_API_KEY="$key" CURATOR_ANSWER_ABSTAIN_BELOW_DENSE=0.25
# With a read key, as a server bound beyond loopback should have: the pages sign in through /key.
export CURATOR_SERVER_READ_KEY="$read_key"
# A record whose every field tries to run script in the page: it must show as text.
cat > "$work/malicious.jsonl" <<'JSON'
{"id": "evil:1", "source": "evil", "title": "<script>window.__pwned=1</script>Evil title", "makers": ["<b onmouseover=window.__pwned=1>Mallory</b>"], "date": "1900", "description": "<img src=x onerror=\"window.__pwned=1\"> An evil onerror description.", "url": "javascript:window.__pwned=1", "language": "en"}
JSON
"$curator" ingest corpus/sample.jsonl "$work/malicious.jsonl" >/dev/null
start_test_server "$work/serve.log"
echo "== browser tests against curator serve on port $port"
CURATOR_URL="http://127.0.0.1:$port" CURATOR_API_KEY="$key" CURATOR_READ_KEY="$read_key" CURATOR_SCREENSHOTS="${CURATOR_SCREENSHOTS:-$PWD/docs/screenshots}" \
  node --test --test-concurrency=1 tests/web/pages.test.mjs
