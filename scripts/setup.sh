#!/usr/bin/env bash
# Installs what curator needs on a fresh machine, skipping what is already there:
#   apt packages (llama.cpp is built from source by the llama-cpp-2 crate: cmake, clang, libclang-dev),
#   the models (scripts/fetch-models.sh), and a release build.
#
#   scripts/setup.sh main   # everything the main job needs (the 1.5B answer model included)
#   scripts/setup.sh test   # what the tests need (runtime, embedding model, the small test model and
#                           # the small test reranker)
#
# The build cache and the model cache live outside the clone so that every clone reuses them:
#   CARGO_TARGET_DIR   default ~/.cache/curator/target
#   CURATOR_PATHS_MODEL_DIR  default ~/.cache/curator/models
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-main}"
. scripts/lib/build-env.sh
export CURATOR_MODEL_DIR="${CURATOR_PATHS_MODEL_DIR:-${CURATOR_MODEL_DIR:-}}"
[ -n "$CURATOR_MODEL_DIR" ] || unset CURATOR_MODEL_DIR

step() { printf '\n== %s\n' "$*"; }

step "system packages"
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v clang >/dev/null 2>&1 || missing+=(clang)
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || { echo "setup: apt-get update failed: is the Debian package registry reachable?" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "setup: could not install ${missing[*]} with apt-get" >&2; exit 1; }
else
  echo "cmake, clang, libclang present"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install the Rust toolchain (rustup) first" >&2; exit 1; }

step "models"
case "$what" in
  main) scripts/fetch-models.sh runtime embed llm ;;
  test) scripts/fetch-models.sh runtime embed llm-tiny reranker-test ;;
  *) echo "setup: unknown target '$what' (main or test)" >&2; exit 1 ;;
esac

step "build (release; cache in $CARGO_TARGET_DIR)"
cargo build --release --locked
