#!/usr/bin/env bash
# Trains curator's cross-encoder reranker into the model cache (never into git):
#   1. a Python virtual environment with torch, sentence-transformers and onnx from PyPI (about 6 GB,
#      outside the clone, made once);
#   2. training groups mined with curator's own retrieval (`curator rerank-data`) from the AQUA train
#      paintings, SciFact's train queries, questions made from Tate and Rijksmuseum metadata, and plain
#      title, maker, date and medium questions in varied wordings and maker queries ("paintings of the
#      Thames by Turner") about the train part's records;
#   3. scripts/train-reranker.py: fine-tuning from all-MiniLM-L6-v2 with a fixed seed and a fixed number of
#      steps (900 by default; mining and training took 85 minutes on 2 cores on 2026-12-02), ONNX + int8 export,
#      manifest.json with data, settings and validation scores;
#   4. `curator rerank-check`: how it scores the fixture questions' records (printed).
# The finished model replaces $MODEL_DIR/reranker only when complete.
#
#   scripts/train-reranker.sh [--steps N] [other train-reranker.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
venv="${CURATOR_TRAIN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/train-venv}"
shared="${CURATOR_SHARED:-../shared}"
curator="$CARGO_TARGET_DIR/release/curator"

[ -x "$curator" ] || { echo "train-reranker: build curator first (scripts/setup.sh)" >&2; exit 1; }
# The model cache as curator resolves it (config.toml, CURATOR_PATHS_MODEL_DIR, or the default).
models="$("$curator" settings | sed -n 's/^(resolved) model_dir = //p')"
[ -f "$models/all-minilm-l6-v2-hf/config.json" ] || { echo "train-reranker: base weights missing; run scripts/fetch-models.sh embed" >&2; exit 1; }
[ -f "$shared/eval/aqua/aqua_val.json" ] || { echo "train-reranker: $shared/eval is missing (AQUA and SciFact are the training data)" >&2; exit 1; }

if ! "$venv/bin/python" -c "import torch, sentence_transformers, onnx, onnxruntime" 2>/dev/null; then
  echo "== training environment in $venv (torch, sentence-transformers, onnx: about 3 GB to download)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch==2.15.0 sentence-transformers==6.2.0 transformers==5.23.0 onnx==1.23.2 onnxruntime==1.24.4 \
    || { echo "train-reranker: pip could not install the training packages (is PyPI reachable?)" >&2; exit 1; }
fi

# Named by how it is mined: a change to what `curator rerank-data` writes gets a new name, so a machine
# that mined before mines again. 2026-12-01: plain questions in varied wordings, maker queries, positives
# that hold the answer. 2026-12-02: dense candidates by exact scan and BM25 ties by chunk id, so that every
# index of the same corpus mines the same groups.
data="$models/reranker-data/groups-2026-12-02.jsonl"
mkdir -p "$(dirname "$data")"
if [ ! -s "$data" ]; then
  echo "== mining training groups with curator's retrieval"
  "$curator" rerank-data --aqua "$shared/eval/aqua/aqua_val.json" --beir "$shared/eval/scifact" --out "$data.tmp"
  mv "$data.tmp" "$data"
fi

out="$models/reranker.training"
rm -rf "$out"
echo "== training"
"$venv/bin/python" scripts/train-reranker.py --data "$data" --base "$models/all-minilm-l6-v2-hf" --out "$out" --oversample scifact=3 "$@"
rm -rf "$out/checkpoint" "$models/reranker.previous"
# The fixture questions (plain title, maker and date questions, eval/reranker-fixtures.jsonl): how the new
# model scores the records that answer them. Printed, not a gate on installing the model (README
# "Reranker" says how the installed model does).
echo "== fixture questions"
CURATOR_RERANK_MODEL_DIR="$out" "$curator" rerank-check --records corpus/sample.jsonl "$shared/corpus/tate" \
  || echo "train-reranker: the new model does not pass every fixture question (above)" >&2
[ -d "$models/reranker" ] && mv "$models/reranker" "$models/reranker.previous"
mv "$out" "$models/reranker"
rm -rf "$models/reranker.previous"
echo "reranker in $models/reranker"
