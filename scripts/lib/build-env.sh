# Sourced by every script that builds or runs curator (from the repository's root): where the build
# goes, and which vector extensions llama.cpp is compiled for.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/target}"

# llama-cpp-sys-2 compiles llama.cpp for plain x86-64 with AVX2 unless Rust's target-cpu is `native`, and
# `native` also turns on AMX, whose instructions this kind of virtual machine refuses (SIGILL in ggml's AMX
# matrix multiply) although /proc/cpuinfo lists them. So the C compiler gets the AVX-512 extensions this
# CPU reports, and nothing on a CPU without them: llama-bench evaluated prompts 1.36x faster with them here
# (README "Generation speed"). CURATOR_PORTABLE_BUILD=1 builds for any x86-64 machine instead.
cpu_flags=""
if [ "${CURATOR_PORTABLE_BUILD:-0}" != 1 ] && [ "$(uname -m)" = x86_64 ] && [ -r /proc/cpuinfo ]; then
  cpu_features=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  if [[ "$cpu_features" == *" avx512f "* ]]; then
    for pair in avx512f:avx512f avx512cd:avx512cd avx512vl:avx512vl avx512dq:avx512dq avx512bw:avx512bw \
                avx512_vnni:avx512vnni avx512vbmi:avx512vbmi avx512_bf16:avx512bf16 avx_vnni:avxvnni; do
      [[ "$cpu_features" == *" ${pair%%:*} "* ]] && cpu_flags+=" -m${pair##*:}"
    done
  fi
  unset cpu_features pair
fi
# cc and cmake read the target's own variables, so the host's CFLAGS stay as they are.
export CFLAGS_x86_64_unknown_linux_gnu="${cpu_flags# }" CXXFLAGS_x86_64_unknown_linux_gnu="${cpu_flags# }"
# llama-cpp-sys-2 configures CMake once per build folder and skips configuring after that, so changed flags
# would never reach llama.cpp: when they differ from the last build's, its build starts again.
cpu_stamp="$CARGO_TARGET_DIR/curator-llama-cpu-flags"
if [ -d "$CARGO_TARGET_DIR/release/build" ] && [ "$(cat "$cpu_stamp" 2>/dev/null || echo none)" != "${cpu_flags# }" ]; then
  echo "llama.cpp is rebuilt for${cpu_flags:- any x86-64 CPU}" >&2
  rm -rf "$CARGO_TARGET_DIR"/release/build/llama-cpp-sys-2-* "$CARGO_TARGET_DIR"/release/.fingerprint/llama-cpp-sys-2-*
fi
mkdir -p "$CARGO_TARGET_DIR" && printf '%s' "${cpu_flags# }" > "$cpu_stamp"
unset cpu_flags cpu_stamp
