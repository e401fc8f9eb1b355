#!/usr/bin/env bash
# The fuzz suite (issue 11): each record reader (SemArt, Tate and curator JSONL, Rijksmuseum JSON and CSV)
# and the HTTP request bodies under libFuzzer, through cargo fuzz on the nightly toolchain, outside CI.
#   SECONDS_EACH=600 JOBS=2 scripts/fuzz.sh [TARGET...]   (default: every target in fuzz/Cargo.toml, one at
#                                                         a time; JOBS runs that many side by side)
# Installs cargo-fuzz (pinned) when it is missing. Seeds each target with a few real records (from
# ../shared/corpus and corpus/) and bodies; the corpora grow in ~/.cache/curator/fuzz, outside the clone.
# A crash stops its target and is left in fuzz/artifacts/<target>/: each one found becomes a test.
# Writes eval/results/fuzz.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
shared="${CURATOR_SHARED:-../shared}"
seconds="${SECONDS_EACH:-600}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/curator/fuzz"
# Its own build folder: cargo fuzz builds with sanitizer flags that the main build must not share.
export CARGO_TARGET_DIR="$cache/target"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^curator-fuzz$')

rustup toolchain list | grep -q '^nightly' || { echo "fuzz: the nightly toolchain is needed (rustup toolchain install nightly)" >&2; exit 1; }
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --version 0.13.2 --locked || { echo "fuzz: could not install cargo-fuzz from crates.io" >&2; exit 1; }
fi

seed() { # target, then files to copy into its corpus (a seed already there is left as it is)
  local dir="$cache/corpus/$1"; shift
  mkdir -p "$dir"
  for file in "$@"; do cp -n "$file" "$dir/"; done
}
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
head -n 3 "$shared/corpus/semart/semart_val.jsonl" > "$scratch/semart.jsonl"
head -n 3 "$(ls "$shared"/corpus/tate/*.jsonl | head -1)" > "$scratch/tate.jsonl"
head -n 3 corpus/sample.jsonl > "$scratch/curator.jsonl"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[:2]))' "$(ls "$shared"/corpus/rijksmuseum/*.json | head -1)" > "$scratch/rijks.json"
head -n 4 "$(ls "$shared"/corpus/rijksmuseum/*.csv | head -1)" > "$scratch/rijks.csv"
cat > "$scratch/ingest.json" <<'EOF'
{"records": [{"id": "mymuseum:1", "source": "mymuseum", "title": "A title", "makers": ["A maker"], "date": "1650", "description": "Text."}], "delete": ["mymuseum:2"]}
EOF
echo '{"question": "Who painted The Milkmaid?", "k": 3, "filters": {"year": "1600..1700", "source": "tate"}, "history": [{"role": "user", "content": "hi"}]}' > "$scratch/ask.json"
echo '{"model": "curator", "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": [{"type": "text", "text": "Who?"}]}], "stream": true}' > "$scratch/chat.json"
echo '{"question": "q", "answer": "a", "sources": ["tate:N1"], "cited": [], "rating": "down", "comment": "wrong"}' > "$scratch/feedback.json"
echo '{"plus": ["tate:N01234", "a woman"], "minus": ["man"], "k": 3}' > "$scratch/arithmetic.json"
seed semart_jsonl "$scratch/semart.jsonl"
seed tate_jsonl "$scratch/tate.jsonl"
seed curator_jsonl "$scratch/curator.jsonl"
seed rijksmuseum_json "$scratch/rijks.json"
seed rijksmuseum_csv "$scratch/rijks.csv"
seed http_bodies "$scratch/ingest.json" "$scratch/ask.json" "$scratch/chat.json" "$scratch/feedback.json" "$scratch/arithmetic.json"

# FUZZ_REPORT: elsewhere, for a short run that should not replace the suite's results.
report="${FUZZ_REPORT:-eval/results/fuzz.md}"
mkdir -p eval/results
{
  echo "Each target for $seconds s under libFuzzer, ${JOBS:-1} at a time on this 2-core machine (\`SECONDS_EACH=$seconds JOBS=${JOBS:-1} scripts/fuzz.sh\`, $(date -u +%Y-%m-%d), $(cargo +nightly fuzz --version))."
  echo
  echo "| target | runs | corpus entries | coverage (edges) | crashes |"
  echo "|---|---|---|---|---|"
} > "$report"
# run_target TARGET: one target for $seconds s; leaves its table row in $scratch/TARGET.row and, when it
# stopped on a crash, its status in $scratch/TARGET.failed.
run_target() {
  local target="$1" log="$scratch/$1.log" status=0 runs edges entries crashes
  (cd fuzz && cargo +nightly fuzz run --release "$target" "$cache/corpus/$target" -- \
      -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1) > "$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  edges="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  entries="$(ls "$cache/corpus/$target" | wc -l)"
  crashes="$(ls "fuzz/artifacts/$target" 2>/dev/null | wc -l)"
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: $target stopped with status $status; its input is in fuzz/artifacts/$target/" >&2
    echo "$status" > "$scratch/$target.failed"
  fi
  echo "| $target | ${runs:-?} | $entries | ${edges:-?} | $crashes |" > "$scratch/$target.row"
  cat "$scratch/$target.row"
}
# Built once before the targets run side by side (JOBS at a time, default 1).
(cd fuzz && cargo +nightly fuzz build --release) || { echo "fuzz: the targets did not build" >&2; exit 1; }
jobs_at_once="${JOBS:-1}"
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_at_once" ]; do wait -n || true; done
  echo "== $target ($seconds s)"
  run_target "$target" &
done
wait
failed=0
for target in "${targets[@]}"; do
  cat "$scratch/$target.row" >> "$report"
  [ ! -f "$scratch/$target.failed" ] || failed=1
done
cat "$report"
exit "$failed"
