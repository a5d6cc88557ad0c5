"""Search benchmark: our API vs raw FAISS on the same random codes, in one run.

* exact k=10 search over 10^4 .. 10^6 random 64-bit codes: nacsearch BinaryIndex('flat')
  vs faiss.IndexBinaryFlat;
* Hamming radius r <= 2 search: 'multihash' vs 'flat'.

Medians over repeats; prints a markdown table (append it to benchmarks/RESULTS.md).
Usage: python benchmarks/bench_search.py [--sizes 10000,100000,1000000] [--queries 1000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import faiss
import numpy as np

from nacsearch.indexer.binary_index import BinaryIndex, IndexParams


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--bits", type=int, default=64)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    nbytes = args.bits // 8
    print(f"machine: {platform.processor() or platform.machine()}, faiss {faiss.__version__}, "
          f"{faiss.omp_get_max_threads()} threads, {args.queries} queries, {args.bits} bits, median of {args.repeats}\n")
    print("| n | ours flat k=10 (ms) | raw IndexBinaryFlat k=10 (ms) | ratio | flat r<=2 (ms) "
          "| multihash r<=2 (ms) | speed-up | hits/query |")
    print("|---|---|---|---|---|---|---|---|")
    for n in [int(s) for s in args.sizes.split(",")]:
        db = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
        # queries: half are perturbed database codes so radius search finds something
        q = db[rng.integers(0, n, args.queries)].copy()
        flip = rng.integers(0, args.bits, args.queries)
        q[np.arange(args.queries), flip // 8] ^= (1 << (flip % 8)).astype(np.uint8)
        q[args.queries // 2:] = rng.integers(0, 256, (args.queries - args.queries // 2, nbytes), dtype=np.uint8)
        ids = np.arange(n, dtype=np.int64)
        ours = BinaryIndex(IndexParams("flat", args.bits))
        ours.add(db, ids)
        raw = faiss.IndexBinaryFlat(args.bits)
        raw.add(db)
        t_ours = timed(lambda: ours.search(q, 10), args.repeats)
        t_raw = timed(lambda: raw.search(q, 10), args.repeats)
        mh = BinaryIndex(IndexParams("multihash", args.bits, nhash=4))
        mh.add(db, ids)
        t_flat_r = timed(lambda: ours.range_search(q, 2), args.repeats)
        t_mh_r = timed(lambda: mh.range_search(q, 2), args.repeats)
        a, b = ours.range_search(q, 2), mh.range_search(q, 2)
        assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b)), "multihash and flat disagree"
        hits = np.mean([len(x[1]) for x in a])
        print(f"| {n:,} | {t_ours * 1e3:.1f} | {t_raw * 1e3:.1f} | {t_ours / t_raw:.2f} | {t_flat_r * 1e3:.1f} | "
              f"{t_mh_r * 1e3:.1f} | {t_flat_r / t_mh_r:.1f}x | {hits:.2f} |", flush=True)


if __name__ == "__main__":
    main()
