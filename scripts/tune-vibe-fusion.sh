#!/usr/bin/env bash
# Chooses how hybrid fusion serves queries whose words are not the records' words (issue 12.2): the blend's
# dense share when BM25's best hit holds less than `blend_full_match` of the query (IDF-weighted), on the
# parts where settings are tuned: the vibe queries' valid half, AQUA's valid paintings, SciFact's valid
# queries. Hybrid alone (no reranker), so the reranker does not hide what fusion does. One Markdown row per
# setting on stdout; each setting's reports in eval/results/fusion-unmatched-valid.json.
#   scripts/tune-vibe-fusion.sh            (SETTINGS="full_match:unmatched ..." to choose the grid)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
shared="${CURATOR_SHARED:-../shared}"
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
out=eval/results/fusion-unmatched-valid.json

echo "| full match | unmatched dense share | vibe valid nDCG@10 | vibe valid P@10 | AQUA valid R@1 | AQUA valid nDCG@10 | SciFact valid nDCG@10 |"
echo "|---|---|---|---|---|---|---|"
echo "[" > "$scratch/all"
first=1
for setting in ${SETTINGS:-0.5:0.3 0.5:0.5 0.5:0.7 0.5:0.9 0.6:0.7 0.6:0.9}; do
  full="${setting%%:*}" unmatched="${setting##*:}"
  for data in "vibe eval/queries/vibe-valid.jsonl" "aqua $shared/eval/aqua/aqua_val.json --part valid" "scifact $shared/eval/scifact --split valid"; do
    set -- $data; name="$1"; shift
    CURATOR_RERANK_ENABLED=false CURATOR_RETRIEVAL_BLEND_FULL_MATCH="$full" CURATOR_RETRIEVAL_BLEND_DENSE_SHARE_UNMATCHED="$unmatched" \
      "$curator" eval "$@" --modes hybrid --json "$scratch/$name.json" > /dev/null 2>&1
  done
  python3 - "$full" "$unmatched" "$scratch" "$first" >> "$scratch/all" <<'PY'
import json, sys
full, unmatched, scratch, first = sys.argv[1:5]
reports = {n: json.load(open(f"{scratch}/{n}.json")) for n in ("vibe", "aqua", "scifact")}
s = {n: r["modes"][0]["scores"] for n, r in reports.items()}
print(f'| {full} | {unmatched} | {s["vibe"]["ndcg_at_10"]:.3f} | {s["vibe"]["precision_at_10"]:.3f} | {s["aqua"]["recall_at_1"]:.3f} | {s["aqua"]["ndcg_at_10"]:.3f} | {s["scifact"]["ndcg_at_10"]:.3f} |', file=sys.stderr)
print(("" if first == "1" else ",") + json.dumps({"full_match": float(full), "unmatched_dense_share": float(unmatched), "reports": reports}))
PY
  first=0
done 2>&1 >/dev/null | cat
echo "]" >> "$scratch/all"
cp "$scratch/all" "$out"
