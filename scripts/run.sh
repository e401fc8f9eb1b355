#!/usr/bin/env bash
# The main job on a fresh machine: set-up, ingest the default corpus, then serve the HTTP API (Ctrl-C
# stops it; CURATOR_SERVE=0 stops after a search instead).
# The default corpus is ../shared/corpus when it is there, else the repository's own corpus/ sample;
# CURATOR_CORPUS overrides it. Re-running skips everything already done (unchanged records write nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh main
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"

corpus="${CURATOR_CORPUS:-}"
if [ -z "$corpus" ]; then
  if [ -d ../shared/corpus ]; then corpus=../shared/corpus; else corpus=corpus; fi
fi
printf '\n== ingest %s\n' "$corpus"
"$curator" ingest "$corpus"
"$curator" stats

# The cross-encoder is trained here, not downloaded (no pretrained one can be had from these registries):
# it needs ../shared/eval (its training data) and about an hour, once. CURATOR_TRAIN_RERANKER=0 skips it;
# without the model curator searches and answers without reranking and says so.
models="${CURATOR_PATHS_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/models}"
if [ ! -f "$models/reranker/model_int8.onnx" ]; then
  if [ "${CURATOR_TRAIN_RERANKER:-1}" = 0 ]; then
    echo "reranking is off: no trained reranker in $models/reranker and CURATOR_TRAIN_RERANKER=0 (scripts/train-reranker.sh trains one)"
  elif [ ! -d ../shared/eval ]; then
    echo "reranking is off: no trained reranker in $models/reranker, and ../shared/eval (its training data) is not here"
  else
    printf '\n== train the reranker (scripts/train-reranker.sh, 900 steps, about 50 minutes; CURATOR_TRAIN_RERANKER=0 skips)\n'
    scripts/train-reranker.sh \
      || echo "reranking is off: training the reranker failed (see above); scripts/train-reranker.sh retries"
  fi
fi

# The answer gate decides whether the records found answer a question (src/gate.rs). It is fitted for the
# scorer in use (the cross-encoder when it was trained, else embedding cosine) on AQUA's train part and the
# written questions in eval/questions, once: about 12 minutes with embedding cosine, longer with the
# cross-encoder (exit status 3 of `gate status`: none fitted; 4: answer.gate = false, nothing to fit).
# CURATOR_FIT_GATE=0 skips it; without a gate, answers fall back to the relevance threshold.
gate_state=0
"$curator" gate status >/dev/null || gate_state=$?
if [ "$gate_state" = 3 ]; then
  if [ "${CURATOR_FIT_GATE:-1}" = 0 ] || [ ! -f ../shared/eval/aqua/aqua_val.json ]; then
    "$curator" gate status || true
  else
    printf '\n== fit the answer gate (curator gate train; CURATOR_FIT_GATE=0 skips)\n'
    "$curator" gate train --aqua ../shared/eval/aqua/aqua_val.json \
      || echo "the answer gate is off: fitting it failed (see above); curator gate train retries"
  fi
fi
printf '\n== search\n'
"$curator" search "${CURATOR_QUERY:-a warship towed up the Thames at sunset}" --k 5
if [ "${CURATOR_SERVE:-1}" != 0 ]; then
  printf '\n== serve (OpenAI-compatible chat at /v1/chat/completions, cited answers at /api/ask)\n'
  exec "$curator" serve
fi
