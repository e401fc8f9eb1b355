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
. scripts/lib/training.sh
training_setup train-reranker

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
