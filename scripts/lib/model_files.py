"""Helpers shared by the scripts that write model folders (train-reranker.py, make-test-reranker.py)."""
import hashlib


def sha256(path):
    """The file's sha256 as hex, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
