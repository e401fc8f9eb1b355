#!/usr/bin/env bash
# Fine-tunes the embedding model on museum data into the model cache (never into git), issue 12.1:
#   1. the training environment and the groups the reranker learns from (scripts/lib/training.sh: mined
#      with curator's own retrieval, hard negatives included);
#   2. scripts/train-embedding.py: all-MiniLM-L6-v2 with a multiple-negatives ranking loss, a fixed seed
#      and a fixed number of steps, ONNX + int8 export, manifest.json with data, settings and validation.
# The model goes to $MODEL_DIR/embedding-tuned (replaced only when complete). It is then the default model
# (unless `embedding.model_dir` names another); an index built with the fetched model is searched with that
# model until `curator reembed` embeds its records again with this one (scripts/prepare.sh does both;
# README "Embedding model").
#
#   scripts/train-embedding.sh [--out DIR] [--steps N] [other train-embedding.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
. scripts/lib/training.sh
training_setup train-embedding

final="$models/embedding-tuned"
if [ "${1:-}" = "--out" ]; then final="$2"; shift 2; fi
for arg in "$@"; do
  [ "$arg" != "--out" ] || { echo "train-embedding: --out must come first (the model is trained beside it, then moved there)" >&2; exit 1; }
done
out="$final.training"
rm -rf "$out"
echo "== training"
"$venv/bin/python" scripts/train-embedding.py --data "$data" --base "$models/all-minilm-l6-v2-hf" --out "$out" "$@"
rm -rf "$final"
mv "$out" "$final"
echo "embedding model in $final"
