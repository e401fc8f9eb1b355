#!/usr/bin/env bash
# The main job on a fresh machine: set-up (apt packages, models, the release build), then serve the HTTP
# API as soon as the first records are indexed, while scripts/prepare.sh builds the rest in the
# background: the rest of the corpus, the answer gate, the reranker (trained here, about 90 minutes), the
# gate for its scores, the embedding model fine-tuned on museum data (about 30 minutes), the index embedded
# again with it and the gate for that. The server switches each piece in when it is ready; /healthz ("building"), the
# dashboard and <data_dir>/building.log say what is still being built. Ctrl-C stops both.
#
# CURATOR_SERVE=0 prepares everything in the foreground instead, then runs one search and stops.
# The default corpus is ../shared/corpus when it is there, else the repository's own corpus/ sample;
# CURATOR_CORPUS overrides it. Re-running skips everything already done (unchanged records write nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh main
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"

corpus="${CURATOR_CORPUS:-}"
if [ -z "$corpus" ]; then
  if [ -d ../shared/corpus ]; then corpus=../shared/corpus; else corpus=corpus; fi
fi

if [ "${CURATOR_SERVE:-1}" = 0 ]; then
  scripts/prepare.sh "$corpus"
  printf '\n== search\n'
  exec "$curator" search "${CURATOR_QUERY:-a warship towed up the Thames at sunset}" --k 5
fi

data_dir="$("$curator" settings | sed -n 's/^(resolved) data_dir = //p')"
mkdir -p "$data_dir"
log="$data_dir/building.log"
printf '\n== prepare in the background (scripts/prepare.sh %s; progress in %s)\n' "$corpus" "$log"
# Its own process group, so that stopping the server stops everything it started (training included).
setsid scripts/prepare.sh "$corpus" "$log" >"$log" 2>&1 &
preparer=$!
server=""
stop() {
  [ -z "$server" ] || kill -TERM "$server" 2>/dev/null || true
  kill -TERM -- "-$preparer" 2>/dev/null || true
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

# Serve once something is indexed (at once when an index is there already): CURRENT names a generation.
other_preparer=0
until [ -s "$data_dir/CURRENT" ]; do
  if [ "$other_preparer" = 0 ] && ! kill -0 "$preparer" 2>/dev/null; then
    wait "$preparer" && status=0 || status=$?
    # 75: another prepare.sh is building this data directory; wait for its first records instead.
    if [ "$status" = 75 ]; then
      other_preparer=1
    else
      echo "run: preparing stopped before any record was indexed (exit $status); the end of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
  fi
  sleep 2
done
printf '\n== serve (OpenAI-compatible chat at /v1/chat/completions, cited answers at /api/ask); still building: see /healthz\n'
# In the background, so that the INT and TERM traps above run (a shell waits for a foreground child first).
"$curator" serve &
server=$!
wait "$server"
