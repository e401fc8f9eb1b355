# Sourced by the test scripts that drive a running server. prepare_test_server, then start_test_server LOG starts `$curator serve` on a
# free loopback port in the background (its output in LOG), reranking with the test cross-encoder, waits
# until /healthz answers, and sets `port` and `server_pid`; the caller's EXIT trap stops it.
# prepare_test_server MAX_ANSWER_TOKENS: a temporary folder `work` (removed on exit, after the server is
# stopped) and the settings every test server shares: its own data directory, the fetched embedding model,
# the 135M model answering at most MAX_ANSWER_TOKENS tokens, no answer gate.
prepare_test_server() {
  work="$(mktemp -d)"
  server_pid=""
  trap stop_test_server EXIT
  export CURATOR_PATHS_DATA_DIR="$work/data" CURATOR_GENERATION_MODEL=smollm2-135m-instruct-q4_1.gguf \
    CURATOR_GENERATION_MAX_ANSWER_TOKENS="$1" CURATOR_ANSWER_GATE=false
  # The fetched embedding model, for the ingest before the server too: not the fine-tuned one that this
  # machine may have trained.
  export CURATOR_EMBEDDING_MODEL_DIR="${CURATOR_PATHS_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/models}/all-minilm-l6-v2-int8"
}

stop_test_server() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}

start_test_server() {
  local log="$1"
  # The tests rerank with the small test cross-encoder (scripts/fetch-models.sh reranker-test), never with
  # whatever trained model this machine happens to have.
  local models="${CURATOR_PATHS_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/models}"
  export CURATOR_RERANK_MODEL_DIR="$models/test-reranker" CURATOR_RERANK_ONNX_FILE=model.onnx CURATOR_RERANK_DEPTH=10
  [ -f "$CURATOR_RERANK_MODEL_DIR/model.onnx" ] || { echo "$(basename "$0"): the test reranker is missing; run scripts/setup.sh test" >&2; exit 1; }
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$curator" serve --bind "127.0.0.1:$port" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=2)" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; echo "$(basename "$0"): the server did not start" >&2; exit 1; }
    sleep 0.5
  done
  cat "$log" >&2; echo "$(basename "$0"): the server did not answer /healthz within 60 s" >&2; exit 1
}
