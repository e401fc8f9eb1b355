#!/usr/bin/env python3
"""The answerable plain metadata questions of the answer gate's cached examples, as a question file for
`curator eval` (JSONL: id, question, relevant {record id: 1}). `curator gate train` caches its examples
under <model_dir>/gate/<scorer>.examples/<part>.json; a metadata example's id is
"metadata-<who|when|medium>:<record id>".

    python3 scripts/gate-metadata-questions.py ~/.cache/curator/models/gate/reranker-*.examples train valid > /tmp/metadata.jsonl
    curator eval /tmp/metadata.jsonl --modes bm25,hybrid,hybrid+rerank

With --ascii-only, only the questions that hold a letter outside ASCII are written, and without those
letters, the way AQUA's questions lost theirs ("what did velzquez recruit"): a check on misspelt names.
"""
import json
import sys


def main(examples_dir, parts, ascii_only=False):
    for part in parts:
        with open(f"{examples_dir}/{part}.json") as f:
            examples = json.load(f)
        for example in examples:
            if example["kind"] == "metadata" and example["answerable"]:
                record_id = example["id"].split(":", 1)[1]
                question = example["question"]
                if ascii_only:
                    if question.isascii():
                        continue
                    question = "".join(c for c in question if c.isascii())
                print(json.dumps({"id": example["id"], "question": question, "relevant": {record_id: 1.0}}))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--ascii-only"]
    if len(args) < 2:
        sys.exit(__doc__)
    main(args[0], args[1:], ascii_only="--ascii-only" in sys.argv[1:])
