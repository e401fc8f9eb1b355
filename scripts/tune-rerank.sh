#!/usr/bin/env bash
# Chooses rerank.first_stage_share and rerank.depth where no reported number is measured: the AQUA valid
# paintings and the SciFact training queries that reranker training held out (`--split valid`). Prints
# quality against cost for each share and depth. Needs the trained reranker (scripts/train-reranker.sh).
#   SHARES="0 0.2 0.4 0.6" DEPTHS="10 20 30 50" scripts/tune-rerank.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
shared="${CURATOR_SHARED:-../shared}"
depths="$(echo ${DEPTHS:-30} | tr ' ' ',')"
for share in ${SHARES:-0 0.4}; do
  echo "## rerank.first_stage_share = $share"
  echo "### AQUA valid paintings"
  CURATOR_RERANK_FIRST_STAGE_SHARE=$share "$curator" eval "$shared/eval/aqua/aqua_val.json" --part valid \
    --modes hybrid,hybrid+rerank --rerank-depths "$depths" 2>/dev/null | grep -E '^\|'
  echo "### SciFact held-out training queries"
  CURATOR_RERANK_FIRST_STAGE_SHARE=$share "$curator" eval "$shared/eval/scifact" --split valid \
    --modes hybrid,hybrid+rerank --rerank-depths "$depths" 2>/dev/null | grep -E '^\|'
done
