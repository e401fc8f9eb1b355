#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench (and llama-quantize, beside it) from the sources the llama-cpp-sys-2
# crate vendors, with the CPU options that crate's build used (read from its CMake cache) and the same vector extensions
# (scripts/lib/build-env.sh), so that `curator bench answer` can put
# curator's generation speed next to llama.cpp's for the same model and threads.
#   scripts/build-llama-bench.sh   -> prints the path of llama-bench
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
cpu_flags="${CFLAGS_x86_64_unknown_linux_gnu:-}"
out="${XDG_CACHE_HOME:-$HOME/.cache}/curator/llama-bench${cpu_flags:+-$(printf '%s' "$cpu_flags" | sha256sum | cut -c1-8)}"
version="$(grep -A1 '^name = "llama-cpp-sys-2"' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/llama-cpp-sys-2-"$version"/llama.cpp 2>/dev/null | head -1)"
[ -d "$src" ] || { echo "build-llama-bench: llama-cpp-sys-2 $version sources not found; run cargo build first" >&2; exit 1; }
if [ -x "$out/build/bin/llama-bench" ] && [ -x "$out/build/bin/llama-quantize" ]; then echo "$out/build/bin/llama-bench"; exit 0; fi
cache="$(ls -d "$CARGO_TARGET_DIR"/release/build/llama-cpp-sys-2-*/out/build/CMakeCache.txt 2>/dev/null | head -1)"
# The crate vendors llama.cpp without llama-bench's source. llama-cpp-python's source package on PyPI
# carries it: take tools/llama-bench (and tools/quantize, for scripts/bench-quantisation.sh) from there and
# build them against the crate's own llama.cpp, so both sides run the same library.
sdist="llama_cpp_python-0.3.36.tar.gz"
sdist_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
mkdir -p "$out"
if [ ! -f "$out/$sdist" ]; then
  pip download --no-deps --no-binary :all: "llama-cpp-python==0.3.36" -d "$out" >&2 \
    || { echo "build-llama-bench: could not download $sdist from PyPI" >&2; exit 1; }
fi
echo "$sdist_sha256  $out/$sdist" | sha256sum -c --quiet - || { echo "build-llama-bench: $sdist checksum mismatch" >&2; rm -f "$out/$sdist"; exit 1; }
rm -rf "$out/src"
cp -r "$src" "$out/src"
rm -rf "$out/src/tools/llama-bench" "$out/src/tools/quantize"
tar xzf "$out/$sdist" -C "$out/src/tools" --strip-components=4 "llama_cpp_python-0.3.36/vendor/llama.cpp/tools/llama-bench" "llama_cpp_python-0.3.36/vendor/llama.cpp/tools/quantize"
printf 'add_subdirectory(llama-bench)\nadd_subdirectory(quantize)\n' > "$out/src/tools/CMakeLists.txt"
src="$out/src"
flags=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=$cpu_flags" "-DCMAKE_CXX_FLAGS=$cpu_flags" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DBUILD_SHARED_LIBS=OFF)
if [ -f "$cache" ]; then
  for option in GGML_NATIVE GGML_AVX GGML_AVX2 GGML_AVX512 GGML_FMA GGML_F16C GGML_BMI2 GGML_SSE42 GGML_LLAMAFILE GGML_OPENMP GGML_CPU_REPACK; do
    value="$(sed -n "s/^$option:BOOL=\(.*\)/\1/p" "$cache")"
    [ -n "$value" ] && flags+=("-D$option=$value")
  done
fi
echo "== building llama-bench and llama-quantize from $src (${flags[*]})" >&2
rm -rf "$out/build"
cmake -S "$src" -B "$out/build" "${flags[@]}" >&2
cmake --build "$out/build" --target llama-bench llama-quantize -j "$(nproc)" >&2
echo "$out/build/bin/llama-bench"
