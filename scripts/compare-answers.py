#!/usr/bin/env python3
"""Two runs of `curator eval --answers` on the same questions, side by side: each measure per kind, how
many answers changed (and, with --show, what they were), answered answers with an unsupported sentence,
the median evaluated prompt tokens and first token per kind, and the answers where decoding refused to
end a sentence on an unfinished word (runs since 2026-12-02 record it per answer). Where the first token
moved, the speed line says why: a least-squares line through (evaluated prompt tokens, first token) over
the answers the model wrote splits it into a fixed part (retrieval, reranking, evidence, the first
token's own step) and a cost per prompt token (llama.cpp), beside llama.cpp's generation speed; a change
to retrieval moves the first, a slower machine all three.

    git show 32fea2e:eval/results/answers-dev-served.json > /tmp/before.json
    python3 scripts/compare-answers.py /tmp/before.json eval/results/answers-dev-served.json [--show]
"""
import json
import statistics
import sys

MEASURES = ["contains_gold", "token_recall", "citation_precision", "supported_sentences",
            "answered_answerable", "declined_unanswerable"]


def fmt(value):
    return "–" if value is None else f"{value:.3f}"


def main(before_path, after_path, show):
    before, after = (json.load(open(p)) for p in (before_path, after_path))
    print("| kind | " + " | ".join(MEASURES) + " |")
    print("|---" * (len(MEASURES) + 1) + "|")
    for (kind, b), (_, a) in zip(before["kinds"] + [("all", before["all"])], after["kinds"] + [("all", after["all"])]):
        print(f"| {kind} | " + " | ".join(f"{fmt(b[m])} → {fmt(a[m])}" for m in MEASURES) + " |")
    by_id = {row["id"]: row for row in before["rows"]}
    changed = [(by_id[r["id"]], r) for r in after["rows"] if r["id"] in by_id and by_id[r["id"]]["answer"] != r["answer"]]
    print(f"\n{len(changed)} of {len(after['rows'])} answers changed")
    for old, new in changed if show else []:
        print(f"\n{new['kind']}: {new['question']} (gold {new['gold']})")
        for label, row in (("before", old), ("after", new)):
            print(f"  {label}: {row['answer']} [contains gold {row['contains_gold']}, declined by {row['declined_by']}]")
    for label, run in (("before", before), ("after", after)):
        unsupported = sum(1 for r in run["rows"] if not r["abstained"] and r["supported_share"] is not None and r["supported_share"] < 1)
        print(f"\n{label}: {unsupported} answered answers with an unsupported sentence")
        refused = [r for r in run["rows"] if r.get("unfinished_endings_refused")]
        if refused:
            answered = sum(1 for r in refused if not r["abstained"])
            gold = sum(1 for r in refused if r["contains_gold"])
            print(f"  {len(refused)} answers had an unfinished ending refused: {answered} answered, {gold} contain the gold answer")
            for r in refused if show else []:
                print(f"    {r['kind']}: {r['question']} -> {r['answer']} (gold {r['gold']})")
        for kind in sorted({r["kind"] for r in run["rows"]}):
            rows = [r for r in run["rows"] if r["kind"] == kind and r.get("evaluated_prompt_tokens")]
            if rows:
                tokens = statistics.median(r["evaluated_prompt_tokens"] for r in rows)
                first = statistics.median(r["first_token_ms"] for r in rows)
                print(f"  {kind}: evaluated prompt tokens p50 {tokens:g}, first token p50 {first / 1000:.2f} s")
        print("  " + speed_line(run["rows"]))


def speed_line(rows):
    written = [r for r in rows if r.get("evaluated_prompt_tokens") and r.get("first_token_ms") and r.get("tokens_per_second")]
    if len(written) < 2:
        return "speed: fewer than two answers written by the model"
    slope, intercept = statistics.linear_regression(
        [r["evaluated_prompt_tokens"] for r in written], [r["first_token_ms"] for r in written])
    generation = statistics.median(r["tokens_per_second"] for r in written)
    return (f"speed over {len(written)} written answers: first token = {intercept / 1000:.2f} s fixed "
            f"+ {slope:.1f} ms per evaluated prompt token; generation p50 {generation:.1f} tokens/s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--show"]
    if len(args) != 2:
        sys.exit(__doc__)
    main(args[0], args[1], "--show" in sys.argv)
