# Sourced by scripts/train-reranker.sh and scripts/train-embedding.sh: the Python environment both train
# in, and the training groups both learn from. Expects build-env.sh sourced and `curator` built.
#   training_setup NAME   sets: venv, shared, curator, models, data (mined when missing)

training_setup() {
  local name="$1"
  venv="${CURATOR_TRAIN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/train-venv}"
  shared="${CURATOR_SHARED:-../shared}"
  curator="$CARGO_TARGET_DIR/release/curator"

  [ -x "$curator" ] || { echo "$name: build curator first (scripts/setup.sh)" >&2; exit 1; }
  # The model cache as curator resolves it (config.toml, CURATOR_PATHS_MODEL_DIR, or the default).
  models="$("$curator" settings | sed -n 's/^(resolved) model_dir = //p')"
  [ -f "$models/all-minilm-l6-v2-hf/config.json" ] || { echo "$name: base weights missing; run scripts/fetch-models.sh embed" >&2; exit 1; }
  [ -f "$shared/eval/aqua/aqua_val.json" ] || { echo "$name: $shared/eval is missing (AQUA and SciFact are the training data)" >&2; exit 1; }

  if ! "$venv/bin/python" -c "import torch, sentence_transformers, onnx, onnxruntime" 2>/dev/null; then
    echo "== training environment in $venv (torch, sentence-transformers, onnx: about 3 GB to download)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch==2.15.0 sentence-transformers==6.2.0 transformers==5.23.0 onnx==1.23.2 onnxruntime==1.24.4 \
      || { echo "$name: pip could not install the training packages (is PyPI reachable?)" >&2; exit 1; }
  fi

  # Named by how it is mined: a change to what `curator rerank-data` writes gets a new name, so a machine
  # that mined before mines again. 2026-12-01: plain questions in varied wordings, maker queries, positives
  # that hold the answer. 2026-12-02: dense candidates by exact scan and BM25 ties by chunk id, so that
  # every index of the same corpus mines the same groups. 2026-12-03: dense candidates from vectors that
  # read no dimensions or credit line (`chunking.embed_bookkeeping`).
  data="$models/reranker-data/groups-2026-12-03.jsonl"
  mkdir -p "$(dirname "$data")"
  if [ ! -s "$data" ]; then
    echo "== mining training groups with curator's retrieval"
    # Mined with the fetched embedding model, whatever config.toml names: the file's name says how it was
    # mined. So the index must be the fetched model's (it is, until the fine-tuned model is trained from
    # these groups and `curator reembed` switches the index to it).
    local fetched="$models/all-minilm-l6-v2-int8"
    CURATOR_EMBEDDING_MODEL_DIR="$fetched" "$curator" reembed --status >/dev/null || {
      echo "$name: mining needs an index embedded with the fetched model ($fetched); this one is not (\`curator stats\` says which it is). Point CURATOR_PATHS_DATA_DIR at one, or ingest the corpus into an empty data directory with CURATOR_EMBEDDING_MODEL_DIR=$fetched" >&2
      exit 1
    }
    CURATOR_EMBEDDING_MODEL_DIR="$fetched" "$curator" rerank-data --aqua "$shared/eval/aqua/aqua_val.json" --beir "$shared/eval/scifact" --out "$data.tmp"
    mv "$data.tmp" "$data"
  fi
}
