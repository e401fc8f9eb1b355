#!/usr/bin/env bash
# Issue 12.1: the fetched embedding model and the one fine-tuned by scripts/train-embedding.sh, side by
# side on the same questions: dense, hybrid and hybrid + rerank (the served reranker, depth 30) on AQUA dev
# and SciFact test, and the vibe queries' valid and heldout halves. The fetched model's figures come from
# the index in CURATOR_BASE_DATA_DIR (default: the default data directory, until `curator reembed` switches it
# to the tuned model; a run against the other model's index is refused, not mixed); the tuned model gets a data directory of its own
# (CURATOR_TUNED_DATA_DIR, default ~/.local/share/curator-embedding-<model checksum>), where the whole corpus is
# ingested (about half an hour the first time, on 2 cores). Reports in eval/results/embedding-{base,tuned}-*.json;
# one Markdown table on stdout.
#   scripts/compare-embedding.sh [CORPUS]      (default ../shared/corpus)
# MODES=dense,hybrid leaves the reranker out (on AQUA dev it takes about 10 minutes a model); SETS="aqua vibe"
# measures only those (of scifact, aqua, vibe).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
shared="${CURATOR_SHARED:-../shared}"
corpus="${1:-$shared/corpus}"
models="$("$curator" settings | sed -n 's/^(resolved) model_dir = //p')"
tuned_model="${CURATOR_TUNED_MODEL_DIR:-$models/embedding-tuned}"
[ -f "$tuned_model/model.onnx" ] || { echo "compare-embedding: no tuned model at $tuned_model; run scripts/train-embedding.sh" >&2; exit 1; }
# Named by the model's checksum: an index is refused by any other model, a retrained one included.
tuned_sha="$(sha256sum "$tuned_model/model.onnx" | cut -c1-12)"
tuned_data="${CURATOR_TUNED_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/curator-embedding-$tuned_sha}"

base_data="${CURATOR_BASE_DATA_DIR:-$("$curator" settings | sed -n 's/^(resolved) data_dir = //p')}"

run_as() {  # run_as base|tuned curator-arguments...
  local which="$1"; shift
  if [ "$which" = tuned ]; then
    CURATOR_EMBEDDING_MODEL_DIR="$tuned_model" CURATOR_PATHS_DATA_DIR="$tuned_data" "$curator" "$@"
  else
    # The fetched model, whatever config.toml or the environment names.
    CURATOR_EMBEDDING_MODEL_DIR="$models/all-minilm-l6-v2-int8" CURATOR_PATHS_DATA_DIR="$base_data" "$curator" "$@"
  fi
}

eval_as() {  # eval_as base|tuned NAME curator-eval-arguments...
  local which="$1" name="$2"; shift 2
  echo "== $which: $name"
  run_as "$which" eval "$@" --modes "${MODES:-dense,hybrid,hybrid+rerank}" --rerank-depths 30 --json "eval/results/embedding-$which-$name.json" > /dev/null
}

sets=" ${SETS:-scifact aqua vibe} "
# SciFact first: each model builds its own small index of the abstracts.
if [[ "$sets" == *" scifact "* ]]; then
  for which in base tuned; do
    eval_as "$which" scifact-test "$shared/eval/scifact" --split test
  done
fi
if [[ "$sets" == *" aqua "* || "$sets" == *" vibe "* ]]; then
  # Ingest is incremental: a corpus already indexed with this model is read and found unchanged.
  echo "== ingesting $corpus with the tuned model into $tuned_data"
  # In steps: a run stopped midway keeps what it embedded, and the next one goes on from there.
  run_as tuned ingest --commit-every 10000 "$corpus"
fi
for which in base tuned; do
  if [[ "$sets" == *" aqua "* ]]; then
    eval_as "$which" aqua-dev "$shared/eval/aqua/aqua_val.json" --part dev
  fi
  if [[ "$sets" == *" vibe "* ]]; then
    for part in valid heldout; do
      eval_as "$which" "vibe-$part" "eval/queries/vibe-$part.jsonl"
    done
  fi
done
python3 - <<'PY'
import json
sets = [("aqua-dev", "AQUA dev"), ("scifact-test", "SciFact test"), ("vibe-valid", "vibe valid"), ("vibe-heldout", "vibe heldout")]
print("| data | mode | model | R@1 | R@10 | MRR@10 | nDCG@10 | P@10 |")
print("|---|---|---|---|---|---|---|---|")
for key, label in sets:
    try:
        reports = {w: json.load(open(f"eval/results/embedding-{w}-{key}.json")) for w in ("base", "tuned")}
    except FileNotFoundError:
        continue
    for mode in reports["base"]["modes"]:
        name = mode["mode"]
        for w in ("base", "tuned"):
            same = [m for m in reports[w]["modes"] if m["mode"] == mode["mode"]]
            if not same:
                continue
            s = same[0]["scores"]
            print(f"| {label} | {name} | {w} | {s['recall_at_1']:.3f} | {s['recall_at_10']:.3f} | {s['mrr_at_10']:.3f} | {s['ndcg_at_10']:.3f} | {s['precision_at_10']:.3f} |")
PY
