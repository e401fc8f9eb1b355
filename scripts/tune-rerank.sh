#!/usr/bin/env bash
# Chooses rerank.fused_weight on the AQUA valid paintings (never reported), and prints quality against
# cost for several rerank depths. Needs the trained reranker (scripts/train-reranker.sh).
#   scripts/tune-rerank.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/target}"
curator="$CARGO_TARGET_DIR/release/curator"
shared="${CURATOR_SHARED:-../shared}"
for w in ${WEIGHTS:-0 0.5 1}; do
  echo "## rerank.fused_weight = $w"
  CURATOR_RERANK_FUSED_WEIGHT=$w "$curator" eval "$shared/eval/aqua/aqua_val.json" --part valid \
    --modes hybrid,hybrid+rerank --rerank-depths ${DEPTHS:-30} 2>/dev/null | grep -E '^\|'
done
