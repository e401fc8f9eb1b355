#!/usr/bin/env bash
# Fault injection (issue 11): ingests of slices of the shared Tate corpus, each stopped abruptly, and after
# every stop the index must load and answer a known query, and the same ingest run again must complete.
#   1. real SIGKILLs at KILLS moments (default 20) spread evenly over a clean ingest's length, each moved
#      by a seeded random jitter: every moment of an ingest (reading, embedding, the text index, the HNSW
#      dump, the commit) is hit by some kill;
#   2. a stop at each named step of the commit (CURATOR_FAULT_AT, index::FAULT_STEPS: text index written,
#      HNSW dumped, store written, files synced, manifest written, verified, CURRENT switched, old
#      generations removed, ...), which a random kill would rarely hit exactly.
# Each ingest adds a slice of SLICE (default 1500) records the index does not hold yet, on top of
# corpus/sample.jsonl, so every run writes a new generation. Writes a Markdown table of every stop to
# OUT (default eval/results/faults.md). Outside CI: it takes about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
kills="${KILLS:-20}"
slice="${SLICE:-1500}"
seed="${SEED:-20261130}"
out="${OUT:-eval/results/faults.md}"
tate="${CURATOR_SHARED:-../shared}/corpus/tate/tate_artworks.jsonl"
[ -f "$tate" ] || { echo "test-faults: $tate is missing (../shared beside the repository)" >&2; exit 1; }

# BINARY: a curator binary to test instead of building one (while another build holds the target).
[ -n "${BINARY:-}" ] || cargo build --release --locked --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy: a build into the shared target while the suite runs must not swap the binary under it.
curator="$work/curator"
cp "${BINARY:-$CARGO_TARGET_DIR/release/curator}" "$curator"
# And of the settings it was built with, for the same reason.
cp config.toml "$work/config.toml"
export CURATOR_CONFIG="$work/config.toml"
export CURATOR_PATHS_DATA_DIR="$work/data"
# The fetched embedding model throughout: a fine-tuned one trained meanwhile must not change the model midway.
export CURATOR_EMBEDDING_MODEL_DIR="$("$curator" settings | sed -n 's/^(resolved) model_dir = //p')/all-minilm-l6-v2-int8"
"$curator" ingest corpus/sample.jsonl >/dev/null

# Slice n of the Tate records (0-based), as its own file.
slice_file() {
  local file="$work/slice-$1.jsonl"
  [ -f "$file" ] || tail -n "+$(( $1 * slice + 1 ))" "$tate" | head -n "$slice" > "$file"
  echo "$file"
}
records() { "$curator" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])'; }
# The index loads, and a pasted record id finds that record first (a title query would drift as Tate's
# own milkmaids arrive).
check_index() {
  "$curator" search "sample:milkmaid" --mode hybrid --json 2>"$work/check.err" \
    | python3 -c 'import json,sys; hits=json.load(sys.stdin)["hits"]; print("first:", hits[0]["record_id"] if hits else None, file=sys.stderr); sys.exit(0 if hits and hits[0]["record_id"]=="sample:milkmaid" else 1)' 2>>"$work/check.err"
}
failures=0
rows=()
# after_stop WHAT SLICE_FILE RECORDS_BEFORE: the checks every stop is followed by.
after_stop() {
  local what="$1" file="$2" before="$3" loads landed finished
  if check_index; then loads=yes; else loads="NO: $(tail -c 300 "$work/check.err")"; failures=$((failures + 1)); fi
  landed=no
  [ "$loads" = yes ] && [ "$(records)" -gt "$before" ] && landed=yes
  if "$curator" ingest "$file" >/dev/null 2>"$work/finish.err" && check_index \
      && [ "$(records)" -eq "$(( before + $(wc -l < "$file") ))" ]; then
    finished=yes
  else
    finished="NO: $(tail -c 300 "$work/finish.err")"; failures=$((failures + 1))
  fi
  local leftovers
  leftovers=$(find "$work/data/generations" -mindepth 1 -maxdepth 1 -type d ! -exec test -e '{}/manifest.json' \; -print | wc -l)
  rows+=("| $what | $loads | $landed | $finished | $leftovers |")
  echo "$what: index loads and answers: $loads; the stopped ingest landed: $landed; the next ingest completed: $finished"
}

# How long a clean ingest of one slice takes (slice 0, then taken out again).
started=$(date +%s.%N)
"$curator" ingest "$(slice_file 0)" >/dev/null
length=$(python3 -c "import time; print(round(time.time() - $started, 2))")
echo "a clean ingest of $slice records takes ${length} s; $kills kills over that length (seed $seed)"
n=1
for i in $(seq 1 "$kills"); do
  at=$(python3 -c "import random; r=random.Random($seed*1000+$i); print(round($length * ($i - 0.5 + r.uniform(-0.4, 0.4)) / $kills, 2))")
  file="$(slice_file $n)"; n=$((n + 1))
  before=$(records || echo 0)
  "$curator" ingest "$file" >/dev/null 2>&1 &
  pid=$!
  sleep "$at"
  if kill -KILL "$pid" 2>/dev/null; then stopped="SIGKILL at ${at} s"; else stopped="(ended before ${at} s)"; fi
  wait "$pid" 2>/dev/null || true
  after_stop "$stopped" "$file" "$before"
done
for step in $(sed -n '/^pub const FAULT_STEPS/,/^];/p' src/index/mod.rs | grep -o '"[a-z-]*"' | tr -d '"'); do
  file="$(slice_file $n)"; n=$((n + 1))
  before=$(records || echo 0)
  CURATOR_FAULT_AT="$step" "$curator" ingest "$file" >/dev/null 2>&1 || true
  after_stop "CURATOR_FAULT_AT=$step" "$file" "$before"
done

mkdir -p "$(dirname "$out")"
{
  echo "Produced by \`scripts/test-faults.sh\` (KILLS=$kills SLICE=$slice SEED=$seed) on $(date -u +%Y-%m-%d): a clean ingest of $slice Tate records took ${length} s."
  echo
  echo "| stop | index loads and finds sample:milkmaid first | the stopped ingest landed | the same ingest then completed | unfinished generations left |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "$failures failed checks; $(records) records in the index at the end."
} > "$out"
echo "wrote $out: $failures failed checks"
[ "$failures" -eq 0 ]
