#!/usr/bin/env bash
# Prepares what serving needs, skipping what is already done: ingests the corpus (a generation every
# 10,000 records, so a server started meanwhile searches it as it grows), fits the answer gate for the
# scorer in use, trains the reranker, and fits the gate for the reranker's scores. scripts/run.sh runs it
# in the background and serves meanwhile: the server switches each piece in when it is ready.
#
#   scripts/prepare.sh CORPUS [LOG]    # LOG: where its output goes, for the status to name
#
# While it runs, <data_dir>/building.json says which step it is on and which are left (the server shows
# it on /healthz and the dashboard); it is removed when every step is done, and says "failed" when one
# failed. One runs at a time (<data_dir>/building.lock). CURATOR_TRAIN_RERANKER=0 and CURATOR_FIT_GATE=0
# skip those steps.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
curator="$CARGO_TARGET_DIR/release/curator"
corpus="${1:?usage: scripts/prepare.sh CORPUS [LOG]}"
[ -x "$curator" ] || { echo "prepare: build curator first (scripts/setup.sh main)" >&2; exit 1; }

resolved() { "$curator" settings | sed -n "s/^(resolved) $1 = //p"; }
data_dir="$(resolved data_dir)"
models="$(resolved model_dir)"
mkdir -p "$data_dir"
status="$data_dir/building.json"
log="${2:-}"

exec 9>"$data_dir/building.lock"
flock -n 9 || { echo "prepare: another scripts/prepare.sh is running for $data_dir" >&2; exit 75; }

# The steps this run will take, decided up front so that the status can say what is left.
steps=("ingest $corpus")
wants_gate() { [ "${CURATOR_FIT_GATE:-1}" != 0 ] && [ -f ../shared/eval/aqua/aqua_val.json ]; }
reranker_missing() { [ ! -f "$models/reranker/model_int8.onnx" ]; }
can_train() { [ "${CURATOR_TRAIN_RERANKER:-1}" != 0 ] && [ -d ../shared/eval ]; }
if wants_gate; then steps+=("fit the answer gate"); fi
if reranker_missing && can_train; then
  steps+=("train the reranker (about 50 minutes)")
  if wants_gate; then steps+=("fit the answer gate for the reranker"); fi
fi

# building.json: {"pid", "step", "todo", "log"}; json.dumps quotes whatever a path holds.
write_status() {
  local step="$1"; shift
  python3 -c 'import json, sys; print(json.dumps({"pid": int(sys.argv[1]), "step": sys.argv[2], "log": sys.argv[3], "todo": sys.argv[4:]}))' \
    "$$" "$step" "$log" "$@" > "$status.tmp"
  mv "$status.tmp" "$status"
}
current=""
trap 'if [ -n "$current" ]; then write_status "failed: $current"; fi' EXIT
begin() {
  current="${steps[0]}"
  steps=("${steps[@]:1}")
  write_status "$current" "${steps[@]}"
  printf '\n== %s\n' "$current"
}

fit_gate_if_missing() {
  local state=0
  "$curator" gate status >/dev/null || state=$?
  if [ "$state" = 3 ]; then
    "$curator" gate train --aqua ../shared/eval/aqua/aqua_val.json
  else
    "$curator" gate status
  fi
}

begin
"$curator" ingest --commit-every 10000 "$corpus"
"$curator" stats

if wants_gate; then
  begin
  fit_gate_if_missing
fi

if reranker_missing; then
  if ! can_train; then
    echo "reranking is off: no trained reranker in $models/reranker (CURATOR_TRAIN_RERANKER=0 or no ../shared/eval; scripts/train-reranker.sh trains one)"
  else
    begin
    scripts/train-reranker.sh
    if wants_gate; then
      begin
      fit_gate_if_missing
    fi
  fi
fi
current=""
rm -f "$status"
echo "prepare: done"
