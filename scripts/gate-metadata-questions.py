#!/usr/bin/env python3
"""The answerable plain metadata questions of the answer gate's cached examples, as a question file for
`curator eval` (JSONL: id, question, relevant {record id: 1}). `curator gate train` caches its examples
under <model_dir>/gate/<scorer>.examples/<part>.json; a metadata example's id is
"metadata-<who|when|medium>:<record id>".

    python3 scripts/gate-metadata-questions.py ~/.cache/curator/models/gate/reranker-*.examples train valid > /tmp/metadata.jsonl
    curator eval /tmp/metadata.jsonl --modes bm25,hybrid,hybrid+rerank
"""
import json
import sys


def main(examples_dir, parts):
    for part in parts:
        with open(f"{examples_dir}/{part}.json") as f:
            examples = json.load(f)
        for example in examples:
            if example["kind"] == "metadata" and example["answerable"]:
                record_id = example["id"].split(":", 1)[1]
                print(json.dumps({"id": example["id"], "question": example["question"], "relevant": {record_id: 1.0}}))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
