#!/usr/bin/env bash
# Issue 9.5's quantisation lever, measured: the default Q4_K_M keeps the output matrix and 28 tensors
# (ffn_down and attn_v of half the layers) in Q6_K, which llama.cpp does not repack for this CPU's kernels
# (its repacked x86 paths are Q4_0, Q4_K and IQ4_NL). This makes two variants with llama.cpp's own
# llama-quantize (--allow-requantize --pure, the output matrix kept Q6_K):
#   q4k-pure: the Q6_K tensors requantised to Q4_K (the Q4_K tensors are copied unchanged);
#   q40-pure: every tensor requantised to Q4_0;
# and puts them beside the default in llama-bench (prompt 256 tokens, generation 32, 2 threads, flash
# attention), the three models taken in turn ROUNDS times so that the machine's drift falls on all alike.
#   scripts/bench-quantisation.sh [--out eval/results/bench-quantisation.md]
# The variants are written to <model cache>/llm-requantised/, outside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
out="eval/results/bench-quantisation.md"
[ "${1:-}" = "--out" ] && out="$2"
rounds="${ROUNDS:-4}"
bench="$(scripts/build-llama-bench.sh)"
quantize="$(dirname "$bench")/llama-quantize"
models="${CURATOR_PATHS_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curator/models}"
default="$models/llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
[ -f "$default" ] || { echo "bench-quantisation: $default is missing; run scripts/fetch-models.sh" >&2; exit 1; }
variants="$models/llm-requantised"
mkdir -p "$variants"
for variant in q4k-pure:Q4_K_M q40-pure:Q4_0; do
  name="${variant%%:*}" type="${variant##*:}"
  [ -f "$variants/$name.gguf" ] && continue
  echo "== requantising to $variants/$name.gguf ($type, --pure, output Q6_K)" >&2
  "$quantize" --allow-requantize --pure --token-embedding-type q4_k --output-tensor-type q6_k \
    "$default" "$variants/$name.gguf.part" "$type" 2 > "$variants/$name.log" 2>&1 \
    || { tail -5 "$variants/$name.log" >&2; echo "bench-quantisation: llama-quantize failed for $name" >&2; exit 1; }
  mv "$variants/$name.gguf.part" "$variants/$name.gguf"
done
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
for round in $(seq "$rounds"); do
  echo "== round $round of $rounds" >&2
  "$bench" -m "$default" -m "$variants/q4k-pure.gguf" -m "$variants/q40-pure.gguf" -p 256 -n 32 -t 2 -fa 1 -r 2 -o json \
    > "$scratch/round-$round.json" 2> "$scratch/round-$round.log" \
    || { tail -5 "$scratch/round-$round.log" >&2; echo "bench-quantisation: llama-bench failed" >&2; exit 1; }
done
python3 - "$out" "$rounds" "$scratch"/round-*.json <<'PY'
import json, os, statistics, sys
out, rounds, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
names = {"qwen2.5-coder-1.5b-instruct-q4_k_m": "Q4_K_M (the default)", "q4k-pure": "Q4_K_M, its Q6_K tensors requantised to Q4_K", "q40-pure": "every tensor requantised to Q4_0"}
speeds = {}
for f in files:
    for row in json.load(open(f)):
        model = os.path.basename(row["model_filename"]).removesuffix(".gguf")
        test = "prompt" if row["n_prompt"] else "generation"
        speeds.setdefault(model, {}).setdefault(test, []).append(row["avg_ts"])
base = speeds["qwen2.5-coder-1.5b-instruct-q4_k_m"]
lines = [f"llama-bench, prompt 256 and generation 32 tokens, 2 threads, flash attention; the three models in turn, {rounds} rounds of 2 repetitions (`scripts/bench-quantisation.sh`). Medians of the rounds' means, and the ratio to the default's.", "",
         "| model | prompt tokens/s | ratio | generation tokens/s | ratio |", "|---|---|---|---|---|"]
for model, tests in speeds.items():
    p, g = statistics.median(tests["prompt"]), statistics.median(tests["generation"])
    lines.append(f'| {names.get(model, model)} | {p:.1f} | {p / statistics.median(base["prompt"]):.2f} | {g:.1f} | {g / statistics.median(base["generation"]):.2f} |')
lines += ["", "Every round (tokens/s): " + "; ".join(f'{names.get(m, m).split(" (")[0]}: prompt {", ".join(f"{v:.1f}" for v in t["prompt"])}, generation {", ".join(f"{v:.1f}" for v in t["generation"])}' for m, t in speeds.items())]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
