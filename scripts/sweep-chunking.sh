#!/usr/bin/env bash
# Measures retrieval quality against chunk size: ingests the SemArt paintings (the records with long
# descriptions) at each size into a scratch data directory, then evaluates AQUA development questions.
#   scripts/sweep-chunking.sh [SIZES...]     (default: 64 96 128 192 256)
# Writes eval/results/chunking-<size>.json and prints one Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
shared="${CURATOR_SHARED:-../shared}"
limit="${LIMIT:-800}"
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(64 96 128 192 256)
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
mkdir -p eval/results
echo "| max tokens | chunks | embed chunks/s | bm25 R@1 | bm25 R@5 | dense R@1 | dense R@5 | dense MRR@10 | hybrid R@1 | hybrid R@5 | hybrid MRR@10 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for size in "${sizes[@]}"; do
  export CURATOR_PATHS_DATA_DIR="$scratch/$size" CURATOR_CHUNKING_MAX_TOKENS="$size" CURATOR_CHUNKING_OVERLAP_TOKENS=$((size / 6))
  "$curator" ingest --json "$shared/corpus/semart" > "$scratch/ingest-$size.json"
  "$curator" eval "$shared/eval/aqua/aqua_val.json" --part dev --limit "$limit" --json "eval/results/chunking-$size.json" \
    > /dev/null 2> "$scratch/eval-$size.log" || { cat "$scratch/eval-$size.log" >&2; exit 1; }
  python3 - "$size" "$scratch/ingest-$size.json" "eval/results/chunking-$size.json" <<'PY'
import json, sys
size, ingest, ev = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
r = ingest["report"]; embed_s = r["timings"]["embed_ms"] / 1000
m = {x["mode"]: x["scores"] for x in ev["modes"]}
row = [size, r["chunks_embedded"], f'{r["chunks_embedded"] / embed_s:.0f}']
for mode, keys in (("bm25", ("recall_at_1", "recall_at_5")), ("dense", ("recall_at_1", "recall_at_5", "mrr_at_10")), ("hybrid", ("recall_at_1", "recall_at_5", "mrr_at_10"))):
    row += [f'{m[mode][k]:.3f}' for k in keys]
print("| " + " | ".join(str(x) for x in row) + " |")
PY
done
