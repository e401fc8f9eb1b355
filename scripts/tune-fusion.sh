#!/usr/bin/env bash
# Chooses the hybrid fusion settings on data that is never reported: AQUA paintings of the train part
# (the reported numbers use the dev paintings) against the current museum index, and SciFact's *train*
# queries against its own index. Prints one Markdown row per setting.
#   scripts/tune-fusion.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
shared="${CURATOR_SHARED:-../shared}"
limit="${1:-600}"
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT

run() {  # run NAME ENV... : one row
  local name="$1"; shift
  env "$@" CURATOR_RERANK_ENABLED=false "$curator" eval "$shared/eval/aqua/aqua_val.json" --part valid \
    --modes hybrid --json "$scratch/aqua.json" > /dev/null 2>&1
  env "$@" CURATOR_RERANK_ENABLED=false "$curator" eval "$shared/eval/scifact" --split train --modes hybrid \
    --json "$scratch/scifact.json" > /dev/null 2>&1
  python3 - "$name" "$scratch/aqua.json" "$scratch/scifact.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[2]))["modes"][0]["scores"]
s = json.load(open(sys.argv[3]))["modes"][0]["scores"]
print(f'| {sys.argv[1]} | {a["recall_at_1"]:.3f} | {a["recall_at_5"]:.3f} | {a["mrr_at_10"]:.3f} | {s["ndcg_at_10"]:.3f} | {s["recall_at_100"]:.3f} |')
PY
}

echo "| fusion | AQUA valid R@1 | AQUA valid R@5 | AQUA valid MRR@10 | SciFact train nDCG@10 | SciFact train R@100 |"
echo "|---|---|---|---|---|---|"
for w in ${WEIGHTS:-1 2 3}; do
  run "rrf bm25 $w : dense 1" CURATOR_RETRIEVAL_FUSION=rrf CURATOR_RETRIEVAL_BM25_WEIGHT=$w CURATOR_RETRIEVAL_DENSE_WEIGHT=1
done
for share in ${SHARES:-0.2 0.3 0.4 0.5}; do
  run "blend, dense share $share" CURATOR_RETRIEVAL_FUSION=blend CURATOR_RETRIEVAL_BLEND_DENSE_SHARE=$share
done
