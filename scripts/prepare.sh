#!/usr/bin/env bash
# Prepares what serving needs, skipping what is already done: ingests the corpus (a generation after
# 1,250 records, then 2,500, 5,000 and every 10,000, so a server started meanwhile searches it as it grows), fits the answer gate for the
# scorer in use, trains the reranker, fits the gate for the reranker's scores, fine-tunes the embedding model,
# embeds the index again with it (`curator reembed`) and fits the gate for that, and computes the map.
# scripts/run.sh runs it in the background and serves meanwhile: the server switches each piece in when it is ready.
#
#   scripts/prepare.sh CORPUS [LOG]    # LOG: where its output goes, for the status to name
#
# While it runs, <data_dir>/building.json says which step it is on and which are left (the server shows
# it on /healthz and the dashboard); it is removed when every step is done. A failed ingest stops it; a
# failed gate fit or training is reported and the steps after it still run, and the status then says
# which failed. One runs at a time (<data_dir>/building.lock). CURATOR_TRAIN_RERANKER=0,
# CURATOR_TRAIN_EMBEDDING=0 and CURATOR_FIT_GATE=0 skip those steps.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
corpus="${1:?usage: scripts/prepare.sh CORPUS [LOG]}"
log="${2:-}"
[ -x "$curator" ] || { echo "prepare: build curator first (scripts/setup.sh main)" >&2; exit 1; }

resolved() { "$curator" settings | sed -n "s/^(resolved) $1 = //p"; }
data_dir="$(resolved data_dir)"
reranker_file="$(resolved reranker_file)"
tuned_embedding="$(resolved tuned_embedding_dir)"
mkdir -p "$data_dir"
status="$data_dir/building.json"

exec 9>"$data_dir/building.lock"
flock -n 9 || { echo "prepare: another scripts/prepare.sh is running for $data_dir" >&2; exit 75; }

aqua=../shared/eval/aqua/aqua_val.json
wants_gate() { [ "${CURATOR_FIT_GATE:-1}" != 0 ] && [ -f "$aqua" ]; }
# reranker_file is empty when rerank.enabled = false: then there is nothing to train.
reranker_missing() { [ -n "$reranker_file" ] && [ ! -f "$reranker_file" ]; }
can_train() { [ "${CURATOR_TRAIN_RERANKER:-1}" != 0 ] && [ -f "$aqua" ] && [ -d ../shared/eval/scifact ]; }
# tuned_embedding is empty when embedding.model_dir names a model: then curator does not choose one.
embedding_missing() { [ -n "$tuned_embedding" ] && [ ! -f "$tuned_embedding/model.onnx" ]; }
can_train_embedding() { [ "${CURATOR_TRAIN_EMBEDDING:-1}" != 0 ] && [ -f "$aqua" ] && [ -d ../shared/eval/scifact ]; }
# Exit 3: the index was built with another embedding model than the configured one (0: the same; 1: no index).
index_needs_reembed() { local s=0; "$curator" reembed --status >/dev/null 2>&1 || s=$?; [ "$s" = 3 ]; }

# The steps this run will take, decided up front so that the status can say what is left.
steps=("ingest $corpus")
if wants_gate; then steps+=("fit the answer gate"); fi
if reranker_missing && can_train; then
  steps+=("train the reranker (about 90 minutes)")
  if wants_gate; then steps+=("fit the answer gate for the reranker"); fi
fi
train_embedding=0
if embedding_missing && can_train_embedding; then
  train_embedding=1
  steps+=("fine-tune the embedding model (about 30 minutes)")
fi
# Embedded again with the configured model when it is trained here, or when it was trained since the
# index was built (the ingest adds records with the model that built the index, so the two never mix).
reembed=0
if [ "$train_embedding" = 1 ] || index_needs_reembed; then
  reembed=1
  steps+=("embed the index with the configured embedding model (about 20 minutes)")
  if wants_gate; then steps+=("fit the answer gate for it"); fi
fi
steps+=("map the collection")

# building.json: {"pid", "state", "step", "todo", "failed", "log"}; json.dumps quotes whatever a path holds.
failed=()
write_status() {
  local state="$1" step="$2"; shift 2
  python3 -c 'import json, sys; a = sys.argv; n = int(a[5]); print(json.dumps({"pid": int(a[1]), "state": a[2], "step": a[3], "log": a[4], "failed": a[6:6 + n], "todo": a[6 + n:]}))' \
    "$$" "$state" "$step" "$log" "${#failed[@]}" "${failed[@]}" "$@" > "$status.tmp"
  mv "$status.tmp" "$status"
}
current=""
trap 'if [ -n "$current" ]; then write_status failed "$current"; fi' EXIT
trap 'if [ -n "$current" ]; then write_status stopped "$current"; current=""; fi; exit 143' TERM INT
begin() {
  current="${steps[0]}"
  steps=("${steps[@]:1}")
  write_status running "$current" "${steps[@]}"
  printf '\n== %s\n' "$current"
}
# Drops the next N planned steps (those that needed a step that failed), so that each later step keeps its name.
skip() { steps=("${steps[@]:$1}"); }
# Runs a step that the rest does not depend on: a failure is reported and remembered, not fatal.
attempt() {
  if ! "$@"; then
    echo "prepare: '$current' failed (above); the steps after it still run" >&2
    failed+=("$current")
  fi
}

fit_gate_if_missing() {
  local state=0
  "$curator" gate status >/dev/null || state=$?
  case "$state" in
    3) "$curator" gate train --aqua "$aqua" ;;
    *) "$curator" gate status || true ;;  # 0: fitted already; 4: answer.gate = false
  esac
}

begin
# An index built under other settings (say, an upgrade changed the chunking) refuses an ingest on top of
# it: it is built again from its own records first, with the configured model and chunking.
if index_needs_reembed; then "$curator" reembed; fi
"$curator" ingest --commit-every 10000 "$corpus"
"$curator" stats

if wants_gate; then
  begin
  attempt fit_gate_if_missing
fi

if reranker_missing; then
  if ! can_train; then
    echo "reranking is off: no trained reranker at $reranker_file (CURATOR_TRAIN_RERANKER=0, or no ../shared/eval; scripts/train-reranker.sh trains one)"
  else
    begin
    attempt scripts/train-reranker.sh
    if wants_gate; then
      if reranker_missing; then skip 1; else
        begin
        attempt fit_gate_if_missing
      fi
    fi
  fi
fi
if [ "$train_embedding" = 1 ]; then
  begin
  attempt scripts/train-embedding.sh
fi
if [ "$reembed" = 1 ]; then
  if embedding_missing; then
    echo "the fine-tuned embedding model was not trained (above); the index stays embedded with the fetched model"
    if wants_gate; then skip 2; else skip 1; fi
  else
    # A failed re-embedding leaves the index as it was (CURRENT moves last), served with the model that built it.
    begin
    attempt "$curator" reembed
    if ! index_needs_reembed; then
      if wants_gate; then
        begin
        attempt fit_gate_if_missing
      fi
    elif wants_gate; then
      skip 1
    fi
  fi
elif embedding_missing; then
  echo "searching with the fetched embedding model: no fine-tuned one at $tuned_embedding (CURATOR_TRAIN_EMBEDDING=0, or no ../shared/eval; scripts/train-embedding.sh trains one)"
fi
# The map page's layout (`curator map`; the server would otherwise compute it when first asked).
begin
attempt "$curator" map

current=""
if [ ${#failed[@]} -gt 0 ]; then
  write_status failed "${failed[0]}"
  echo "prepare: finished, but these steps failed: ${failed[*]}" >&2
  exit 1
fi
rm -f "$status"
echo "prepare: done"
