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


def fuse_bert(fp32_path, fused_path, heads, hidden):
    """ONNX Runtime's BERT fusions (bias + GELU, residual + layer norm) written into a copy of the model."""
    from onnxruntime.transformers.optimizer import optimize_model

    # opt_level 1: the fusions alone, no rewrites for one machine's hardware.
    optimize_model(fp32_path, model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1).save_model_to_file(fused_path)


def quantize_for_cpu(fp32_path, int8_path, heads, hidden):
    """The int8 model curator runs: fused first, then signed int8 weights with a scale per output channel.
    On AVX2 without VNNI, ONNX Runtime's fastest integer kernels multiply unsigned activations by signed
    weights; one scale per tensor lost accuracy, signed weights most of all (README "Embedding model",
    scripts/compare-embedding-exports.py)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fused_path = int8_path + ".fused"
    try:
        fuse_bert(fp32_path, fused_path, heads, hidden)
        # The fused operators have no type ONNX's inference knows: the quantiser is told they are float.
        quantize_dynamic(fused_path, int8_path, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        if os.path.exists(fused_path):
            os.remove(fused_path)


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


def reciprocal_rank_at_10(scores):
    """1/rank of the positive, `scores[0]`, among `scores` (ties in its favour); 0 below the tenth place."""
    rank = 1 + sum(1 for x in scores[1:] if x > scores[0])
    return 1.0 / rank if rank <= 10 else 0.0


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


def add_training_arguments(ap, eval_every, oversample_example):
    """The arguments both trainers take: validation, threads, seed, oversampling."""
    ap.add_argument("--eval-every", type=int, default=eval_every)
    ap.add_argument("--valid-limit", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--oversample", action="append", default=[], metavar="SOURCE=N",
                    help=f"repeat one source's training groups N times per epoch (e.g. {oversample_example})")


def seed_everything(args):
    """Fixed seeds for Python, NumPy and PyTorch, and PyTorch's threads: training is reproducible."""
    import random

    import numpy as np
    import torch

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)


def training_groups(args, name, shuffle_valid=False):
    """(train, valid, train groups per source) from --data, as --valid-limit and --oversample say; exits
    when either part is empty. `shuffle_valid` spreads the limited valid part over the sources (the file is
    written source by source)."""
    import random
    import sys

    train, valid = load_groups(args.data)
    if shuffle_valid:
        random.Random(args.seed).shuffle(valid)
    valid = valid[: args.valid_limit]
    sources = count_sources(train)
    train = oversample(train, args.oversample)
    log(f"{len(train)} training groups {sources}, {len(valid)} validation groups {count_sources(valid)}, oversampled {args.oversample}")
    if not train or not valid:
        sys.exit(f"{name}: no training or validation groups in {args.data}")
    return train, valid, sources


class BestCheckpoint:
    """Keeps the checkpoint that validates best: `validate()` returns the validation score (higher is
    better), `save()` writes the model as it is now. The model before training is the first checkpoint."""

    def __init__(self, validate, save):
        self.validate, self.save = validate, save
        self.best = validate()
        self.history = [{"step": 0, "valid_mrr_at_10": self.best}]
        save()

    def check(self, step):
        """Validates after `step` steps and saves the model when it beats every earlier checkpoint."""
        mrr = self.validate()
        self.history.append({"step": step, "valid_mrr_at_10": mrr})
        log(f"step {step}: validation MRR@10 {mrr:.4f} (best {self.best:.4f})")
        if mrr > self.best:
            self.best = mrr
            self.save()

    def finish(self, step):
        """Validates the last step unless that was just done."""
        if self.history[-1]["step"] != step:
            self.check(step)
