#!/usr/bin/env bash
# curator's HNSW graph beside FAISS's (issue 12.6): `curator bench search --faiss` over the current index,
# with faiss-cpu and numpy from PyPI in a virtual environment outside the clone (made once, pinned).
#   scripts/bench-faiss.sh [--runs N] [--out eval/results/bench-search.json]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
venv="${CURATOR_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/bench-venv}"
curator="$CARGO_TARGET_DIR/release/curator"
[ -x "$curator" ] || { echo "bench-faiss: build curator first (scripts/setup.sh)" >&2; exit 1; }
if ! "$venv/bin/python" -c "import faiss, numpy" 2>/dev/null; then
  echo "== FAISS environment in $venv (faiss-cpu, numpy)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q faiss-cpu==1.15.1 numpy==2.4.6 \
    || { echo "bench-faiss: pip could not install faiss-cpu and numpy (is PyPI reachable?)" >&2; exit 1; }
fi
exec "$curator" bench search --faiss scripts/faiss-hnsw.py --python "$venv/bin/python" "$@"
