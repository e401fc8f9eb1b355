#!/usr/bin/env python3
"""Builds the small cross-encoder the tests rerank with, from the all-MiniLM-L6-v2 ONNX model in seconds.

The trained reranker takes about an hour to train (scripts/train-reranker.sh), too long for the test
command, and no pretrained cross-encoder can be fetched here. The tests still have to run the real
reranking path (pair tokenisation, ONNX Runtime through fastembed's user-defined reranker, blending with
the first stage, the stage table and the before/after view), so they get a small real model with a cross-encoder's interface, built from the embedding model:

  * it reads the pair as curator sends it to any cross-encoder, `[CLS] question [SEP] passage [SEP]` with
    token types 0 and 1, and answers with one logit per pair (output `logits`, shape [batch, 1]);
  * inside, the MiniLM encoder runs twice over the pair, once with only the question's tokens as attention
    keys and once with only the passage's (the two passes share the weights), and the logit is the
    cosine of the two segments' mean-pooled states, scaled: `logits = SCALE * (cosine - CENTRE)`.

It is not trained for reranking, and the segments do not attend to each other: it ranks about as
MiniLM's own embeddings do (a little worse: the passage sits at positions after the question). The
tests check the plumbing and the reranker's effect on the order, never its quality; quality is measured with the trained
model (README "Reranker").

Usage: make-test-reranker.py --base <model_dir>/all-minilm-l6-v2-int8 --out <model_dir>/test-reranker
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from model_files import sha256  # noqa: E402

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCALE = 10.0
CENTRE = 0.25
TOKENIZER_FILES = ["tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"]


def two_passes(model):
    """One graph that runs the encoder twice over the pair: once with only the question's tokens as
    attention keys, once with only the passage's. Both passes share the weights."""
    from onnx import compose

    graph = model.graph
    uses_mask = lambda g: [node for node in g.node if "attention_mask" in node.input]
    passage = compose.add_prefix(onnx.load_from_string(model.SerializeToString()), "passage_",
                                 rename_initializers=False, rename_value_infos=True, rename_functions=False)
    # The copy keeps the weights' names (shared, not duplicated); add_prefix renamed their uses.
    weights = {init.name for init in graph.initializer}
    for node in passage.graph.node:
        node.input[:] = [name[len("passage_"):] if name.startswith("passage_") and name[len("passage_"):] in weights else name
                         for name in node.input]
    for node in uses_mask(graph):
        node.input[:] = ["question_keys" if name == "attention_mask" else name for name in node.input]
    n = lambda op, inputs, outputs, **kw: helper.make_node(op, inputs, outputs, **kw)
    # Key masks: attention_mask * (1 - token_type_ids) for the question, attention_mask * token_type_ids
    # for the passage ([CLS] and the first [SEP] belong to the question).
    prelude = [
        n("Mul", ["attention_mask", "token_type_ids"], ["passage_keys"]),
        n("Sub", ["attention_mask", "passage_keys"], ["question_keys"]),
        n("Identity", ["input_ids"], ["passage_input_ids"]),
        n("Identity", ["token_type_ids"], ["passage_token_type_ids"]),
        n("Identity", ["passage_keys"], ["passage_attention_mask"]),
    ]
    nodes = prelude + list(graph.node) + list(passage.graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.value_info.extend(passage.graph.value_info)
    return graph.output[0].name, "passage_" + graph.output[0].name


def add_head(model):
    graph = model.graph
    question_hidden, passage_hidden = two_passes(model)
    const = lambda name, value: graph.initializer.append(numpy_helper.from_array(np.array(value), name))
    const("head_one", np.float32(1.0))
    const("head_eps", np.float32(1e-6))
    const("head_axis_seq", np.array([1], dtype=np.int64))
    const("head_axis_last", np.array([2], dtype=np.int64))
    const("head_axis_dim", np.array([-1], dtype=np.int64))
    const("head_scale", np.float32(SCALE))
    const("head_centre", np.float32(CENTRE))
    n = lambda op, inputs, outputs, **kw: graph.node.append(helper.make_node(op, inputs, outputs, **kw))
    n("Cast", ["question_keys"], ["head_mask_q"], to=TensorProto.FLOAT)
    n("Cast", ["passage_keys"], ["head_mask_p"], to=TensorProto.FLOAT)
    # Mean pooling of each segment over its own pass (as sentence-transformers pools MiniLM), then cosine.
    for seg, hidden in [("q", question_hidden), ("p", passage_hidden)]:
        n("Unsqueeze", [f"head_mask_{seg}", "head_axis_last"], [f"head_m3_{seg}"])
        n("Mul", [hidden, f"head_m3_{seg}"], [f"head_masked_{seg}"])
        n("ReduceSum", [f"head_masked_{seg}", "head_axis_seq"], [f"head_sum_{seg}"], keepdims=0)
        n("ReduceSum", [f"head_m3_{seg}", "head_axis_seq"], [f"head_count_{seg}"], keepdims=0)
        n("Max", [f"head_count_{seg}", "head_one"], [f"head_count1_{seg}"])
        n("Div", [f"head_sum_{seg}", f"head_count1_{seg}"], [f"head_mean_{seg}"])
        n("Mul", [f"head_mean_{seg}", f"head_mean_{seg}"], [f"head_sq_{seg}"])
        n("ReduceSum", [f"head_sq_{seg}", "head_axis_dim"], [f"head_ss_{seg}"], keepdims=1)
        n("Sqrt", [f"head_ss_{seg}"], [f"head_norm0_{seg}"])
        n("Max", [f"head_norm0_{seg}", "head_eps"], [f"head_norm_{seg}"])
        n("Div", [f"head_mean_{seg}", f"head_norm_{seg}"], [f"head_unit_{seg}"])
    n("Mul", ["head_unit_q", "head_unit_p"], ["head_prod"])
    n("ReduceSum", ["head_prod", "head_axis_dim"], ["head_cosine"], keepdims=1)
    n("Sub", ["head_cosine", "head_centre"], ["head_centred"])
    n("Mul", ["head_centred", "head_scale"], ["logits"])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1]))
    return model



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    base_model = os.path.join(args.base, "model.onnx")
    model = add_head(onnx.load(base_model))
    onnx.checker.check_model(model)
    work = args.out + ".building"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    onnx.save(model, os.path.join(work, "model.onnx"))
    for name in TOKENIZER_FILES:
        shutil.copy(os.path.join(args.base, name), os.path.join(work, name))
    manifest = {
        "what": "test cross-encoder: MiniLM over the (question, passage) pair, one pass per segment, cosine of their mean states",
        "base": {"file": base_model, "sha256": sha256(base_model)},
        "head": {"scale": SCALE, "centre": CENTRE},
        "model_sha256": sha256(os.path.join(work, "model.onnx")),
        "script_sha256": sha256(os.path.abspath(__file__)),
        "trained": False,
    }
    with open(os.path.join(work, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    shutil.rmtree(args.out, ignore_errors=True)
    os.rename(work, args.out)
    print(f"test reranker in {args.out} ({manifest['model_sha256'][:12]})")


if __name__ == "__main__":
    main()
