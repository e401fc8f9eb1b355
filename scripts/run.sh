#!/usr/bin/env bash
# The main job on a fresh machine: set-up, ingest the default corpus, then answer a search.
# The default corpus is ../shared/corpus when it is there, else the repository's own corpus/ sample;
# CURATOR_CORPUS overrides it. Re-running skips everything already done (unchanged records write nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh main
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/target}"
curator="$CARGO_TARGET_DIR/release/curator"

corpus="${CURATOR_CORPUS:-}"
if [ -z "$corpus" ]; then
  if [ -d ../shared/corpus ]; then corpus=../shared/corpus; else corpus=corpus; fi
fi
printf '\n== ingest %s\n' "$corpus"
"$curator" ingest "$corpus"
"$curator" stats
printf '\n== search\n'
"$curator" search "${CURATOR_QUERY:-a warship towed up the Thames at sunset}" --k 5
