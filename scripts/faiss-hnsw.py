"""FAISS's HNSW on the vectors `curator bench search --faiss` exported, for its side-by-side table.

Reads DIR/vectors.f32 and DIR/queries.f32 (row-major little-endian float32, DIMENSIONS columns, already
unit length) and DIR/truth.u32 (the exact top-k of each query, as row numbers of vectors.f32); builds
IndexHNSWFlat with the same M and efConstruction as curator's graph, inner product (cosine on unit
vectors); searches on one thread, as curator does per query, and prints JSON on stdout:
{"faiss": version, "points": n, "build_s": ..., "search": [{"ef", "recall_at_10", "queries_per_s"}]}.
"""
import argparse
import json
import sys
import time

import faiss
import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--dimensions", type=int, required=True)
    parser.add_argument("--m", type=int, required=True)
    parser.add_argument("--ef-construction", type=int, required=True)
    parser.add_argument("--efs", required=True, help="comma-separated efSearch values")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    vectors = np.fromfile(f"{args.dir}/vectors.f32", dtype="<f4").reshape(-1, args.dimensions)
    queries = np.fromfile(f"{args.dir}/queries.f32", dtype="<f4").reshape(-1, args.dimensions)
    truth = np.fromfile(f"{args.dir}/truth.u32", dtype="<u4").reshape(len(queries), -1)

    index = faiss.IndexHNSWFlat(args.dimensions, args.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = args.ef_construction
    # The build may use both cores; curator's graph was built with its own threads too.
    started = time.perf_counter()
    index.add(vectors)
    build_s = time.perf_counter() - started

    # One thread for searching: curator answers one query at a time on one thread.
    faiss.omp_set_num_threads(1)
    points = []
    for ef in (int(e) for e in args.efs.split(",")):
        index.hnsw.efSearch = ef
        index.search(queries[:1], args.k)  # warm-up
        started = time.perf_counter()
        for _ in range(max(args.runs, 1)):
            found_ids = [index.search(queries[i : i + 1], args.k)[1][0] for i in range(len(queries))]
        elapsed = time.perf_counter() - started
        found = sum(len(set(got.tolist()) & set(want.tolist())) for got, want in zip(found_ids, truth))
        points.append({
            "ef": ef,
            "recall_at_10": found / (args.k * len(queries)),
            "queries_per_s": len(queries) * max(args.runs, 1) / elapsed,
        })
    json.dump({"faiss": faiss.__version__, "points": len(vectors), "build_s": build_s, "search": points}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
