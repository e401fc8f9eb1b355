#!/usr/bin/env python3
"""Compares ways of turning an fp32 ONNX export of the embedding model into the int8 model curator runs:
speed on this CPU and agreement with the fp32 model.

Each way is timed on the same Tate texts (title, maker, date, medium and subjects, about as curator's
embedding reads a Tate record), in batches of 8 sorted by length, with 2 ONNX Runtime threads, in rounds
that take the models in turn; the median of the rounds is reported. Agreement: the cosine of each text's
mean-pooled vector to the fp32 model's, and how many of each text's 10 nearest texts the fp32 model also
finds among its 10.

  compare-embedding-exports.py --fp32 DIR/model_fp32.onnx --tokenizer DIR/tokenizer.json
      [--fetched MODEL.onnx] [--texts 400] [--rounds 3] [--out results.json]

Run with the training environment's Python (scripts/lib/training.sh makes it); scripts/train-embedding.py
writes model_fp32.onnx beside the int8 model.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from model_files import fuse_bert, quantize_for_cpu  # noqa: E402


def tate_texts(path, count):
    texts = []
    with open(path) as f:
        for i, line in enumerate(f):
            if i % 97:
                continue
            r = json.loads(line)
            header = f"{r['title']}\nby {r.get('artist') or 'unknown'} ({r.get('date') or 'no date'})"
            facts = [f"Medium: {r['medium']}." if r.get("medium") else "", f"Subjects: {', '.join(r['subjects'])}." if r.get("subjects") else ""]
            texts.append(header + "\n" + " ".join(f for f in facts if f))
            if len(texts) >= count:
                break
    return texts


def variants(fp32, work):
    fused = os.path.join(work, "fused.onnx")
    fuse_bert(fp32, fused, heads=12, hidden=384)
    made = {"fp32": fp32}
    for name, source, weights, per_channel in [
        ("int8 unsigned, one scale per tensor (the export before 2026-12-03)", fp32, QuantType.QUInt8, False),
        ("int8 signed, one scale per tensor", fp32, QuantType.QInt8, False),
        ("fused, int8 unsigned, a scale per channel", fused, QuantType.QUInt8, True),
    ]:
        path = os.path.join(work, f"{len(made)}.onnx")
        extra = {"DefaultTensorType": onnx.TensorProto.FLOAT} if source == fused else {}
        quantize_dynamic(source, path, weight_type=weights, per_channel=per_channel, extra_options=extra)
        made[name] = path
    made["fused, int8 signed, a scale per channel (train-embedding.py)"] = os.path.join(work, "served.onnx")
    quantize_for_cpu(fp32, made["fused, int8 signed, a scale per channel (train-embedding.py)"], heads=12, hidden=384)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--fetched", help="another int8 model to compare (the fetched all-MiniLM-L6-v2)")
    ap.add_argument("--corpus", default="../shared/corpus/tate/tate_artworks.jsonl")
    ap.add_argument("--texts", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()

    tokenizer = Tokenizer.from_file(args.tokenizer)
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()
    texts = tate_texts(args.corpus, args.texts)
    encodings = sorted(tokenizer.encode_batch(texts), key=lambda e: len(e.ids))

    def session(path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def run(s, batch):
        vectors = []
        for start in range(0, len(encodings), batch):
            group = encodings[start:start + batch]
            width = max(len(e.ids) for e in group)
            ids = np.array([e.ids + [0] * (width - len(e.ids)) for e in group], dtype=np.int64)
            mask = np.array([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in group], dtype=np.int64)
            hidden = s.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            vectors.extend(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.array(vectors)

    with tempfile.TemporaryDirectory() as work:
        models = variants(args.fp32, work)
        if args.fetched:
            models["fetched int8"] = args.fetched
        sessions = {name: session(path) for name, path in models.items()}
        # Agreement: one text per call, as a question is embedded (the int8 activations are quantised per call).
        vectors = {name: run(s, 1) for name, s in sessions.items()}
        speeds = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, s in sessions.items():
                started = time.perf_counter()
                run(s, 8)
                speeds[name].append(len(encodings) / (time.perf_counter() - started))

    reference = vectors["fp32"]
    neighbours = lambda v: np.argsort(-(v @ v.T), axis=1)[:, 1:11]
    fp32_neighbours = neighbours(reference)
    rows = []
    for name in models:
        cosines = (vectors[name] * reference).sum(1)
        mine = neighbours(vectors[name])
        overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(mine, fp32_neighbours)])
        rows.append({"model": name, "texts_per_second": round(statistics.median(speeds[name]), 1),
                     "rounds": [round(x, 1) for x in speeds[name]], "mean_cosine_to_fp32": round(float(cosines.mean()), 4),
                     "min_cosine_to_fp32": round(float(cosines.min()), 4), "top10_overlap_with_fp32": round(float(overlap), 3)})
    tokens = statistics.mean(len(e.ids) for e in encodings)
    print(f"{len(encodings)} Tate texts, {tokens:.0f} tokens on average; median of {args.rounds} rounds, 2 threads, batches of 8\n")
    print("| model | texts/s | mean cosine to fp32 | min cosine | top-10 overlap with fp32 |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['texts_per_second']} | {r['mean_cosine_to_fp32']} | {r['min_cosine_to_fp32']} | {r['top10_overlap_with_fp32']} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"texts": len(encodings), "mean_tokens": round(tokens, 1), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
