"""Helpers shared by the scripts that train and write model folders (train-reranker.py,
train-embedding.py, make-test-reranker.py)."""
import hashlib
import json
import os
import shutil
import time

TOKENIZER_FILES = ["tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"]


def sha256(path):
    """The file's sha256 as hex, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def load_groups(path):
    """The (query, positives, retrieved negatives) groups `curator rerank-data` wrote: (train, valid)."""
    train, valid = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            if not g["positive"] or not g["negatives"]:
                continue
            (valid if g.get("split") == "valid" else train).append(g)
    return train, valid


def count_sources(groups):
    counts = {}
    for g in groups:
        counts[g.get("source", "?")] = counts.get(g.get("source", "?"), 0) + 1
    return counts


def oversample(train, specs):
    """`train` with the groups of each SOURCE in `specs` ("SOURCE=N") repeated N times."""
    for spec in specs:
        name, _, times = spec.partition("=")
        extra = [g for g in train if g.get("source") == name]
        train = train + extra * max(0, int(times or 1) - 1)
    return train


def copy_tokenizer_files(first, fallback, out):
    """The tokenizer and config files curator loads, each from folder `first`, or else from `fallback`."""
    for name in TOKENIZER_FILES:
        src = os.path.join(first, name)
        if not os.path.exists(src):
            src = os.path.join(fallback, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(out, name))
