#!/usr/bin/env bash
# The evidence budget curve (issue 9.1): answer quality against time to first token. For each number of
# sources and budget of evidence tokens, answers the same questions of the valid part (where settings are
# tuned; dev is what the README reports) with `curator eval --answers --per-kind`, the served settings
# otherwise.
#   CONFIGS="5:240 5:160 3:160 3:100" PER_KIND=20 scripts/sweep-evidence.sh      (sources:budget)
# Writes eval/results/evidence-budget-valid[-<PER_KIND>]-<sources>x<budget>[-<LABEL>].json and prints one
# Markdown table (also written to eval/results/evidence-budget-valid[-<PER_KIND>].md; -<PER_KIND> only when
# it is not 20). LABEL names a variant measured with other settings
# (e.g. CURATOR_PATHS_PROMPT_DIR): it goes into the file names and the table's budget column.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/build-env.sh
shared="${CURATOR_SHARED:-../shared}"
per_kind="${PER_KIND:-20}"
part="${PART:-valid}"
read -r -a configs <<< "${CONFIGS:-5:240 5:160 3:160 3:100}"
# A copy, so that a build during the sweep does not change what is measured.
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
cp "${BINARY:-$CARGO_TARGET_DIR/release/curator}" "$scratch/curator"
mkdir -p eval/results
# A sweep of another size writes tables and files of its own (the 20-question rows are not comparable).
size=""; [ "$per_kind" = 20 ] || size="-$per_kind"
table="eval/results/evidence-budget-$part$size.md"
header="| sources | evidence budget (tokens) | prompt tokens p50 (evaluated) | first token p50 / p95 | contains gold | token recall | citation precision | supported | answerable answered | unanswerable declined |
|---|---|---|---|---|---|---|---|---|---|"
# APPEND=1 adds rows to the table of an earlier sweep (same part and number of questions).
[ "${APPEND:-0}" = 1 ] && [ -f "$table" ] || {
  echo "Answers on $per_kind questions of each kind of the $part part (\`PER_KIND=$per_kind PART=$part scripts/sweep-evidence.sh\`), one setting after the other."
  echo
  echo "$header"
} > "$table"
# NOTE, when given, is written under the table before this sweep's rows.
[ -z "${NOTE:-}" ] || printf '\n%s\n\n%s\n' "$NOTE" "$header" >> "$table"
for config in "${configs[@]}"; do
  sources="${config%%:*}" budget="${config##*:}"
  out="eval/results/evidence-budget-$part$size-${sources}x$budget${LABEL:+-$LABEL}.json"
  CURATOR_ANSWER_SOURCES="$sources" CURATOR_ANSWER_EVIDENCE_BUDGET_TOKENS="$budget" "$scratch/curator" eval "$shared/eval/aqua/aqua_val.json" --part "$part" \
    --answers --per-kind "$per_kind" --json "$out" > /dev/null 2> "$scratch/eval-${sources}x$budget.log" \
    || { tail -20 "$scratch/eval-${sources}x$budget.log" >&2; echo "sweep-evidence: the run with $sources sources and $budget tokens failed" >&2; exit 1; }
  python3 - "$sources" "$budget${LABEL:+, $LABEL}" "$out" >> "$table" <<'PY'
import json, statistics, sys
sources, budget, report = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
a = report["all"]
def p50(key):
    values = [r[key] for r in report["rows"] if r.get(key)]
    return statistics.median(values) if values else 0
print(f'| {sources} | {budget} | {p50("prompt_tokens"):.0f} ({p50("evaluated_prompt_tokens"):.0f}) | {a["first_token_p50_ms"] / 1000:.1f} s / {a["first_token_p95_ms"] / 1000:.1f} s | {a["contains_gold"]:.3f} | '
      f'{a["token_recall"]:.3f} | {a["citation_precision"]:.3f} | {a["supported_sentences"]:.3f} | {a["answered_answerable"]:.3f} | {a["declined_unanswerable"]:.3f} |')
PY
  tail -1 "$table"
done
cat "$table"
