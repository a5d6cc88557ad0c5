"""nacsearch duplicates on 10^5 and 10^6 random 64-bit codes with planted near-duplicate pairs.

Every planted pair (a copy of a random code with 0..R bits flipped) must end up in one group;
time and peak memory are recorded beside the n x n distance matrix the method avoids.
Usage: python benchmarks/bench_duplicates.py [N ...]   (one process, nothing else running)
Writes benchmarks/duplicates_<n>.json.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from nacsearch import codes as C
from nacsearch.indexer.duplicates import DEFAULT_RADIUS, duplicate_components
from nacsearch.provenance import provenance


def planted_codes(n: int, pairs: int, radius: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n random codes whose last ``pairs`` rows copy earlier rows with 0..radius bits flipped."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n, 64), dtype=np.uint8)
    src = rng.choice(n - pairs, pairs, replace=False)
    for k, s in enumerate(src):
        row = bits[s].copy()
        row[rng.choice(64, rng.integers(0, radius + 1), replace=False)] ^= 1
        bits[n - pairs + k] = row
    return C.pack(bits), np.stack([src, np.arange(n - pairs, n)], axis=1)


def run(n: int, radius: int = DEFAULT_RADIUS) -> dict:
    codes, pairs = planted_codes(n, n // 100, radius)
    t = time.perf_counter()
    groups, links = duplicate_components(codes, radius, progress=True)
    wall = time.perf_counter() - t
    label = np.full(n, -1, np.int64)
    for g, members in enumerate(groups):
        label[members] = g
    found = int(((label[pairs[:, 0]] >= 0) & (label[pairs[:, 0]] == label[pairs[:, 1]])).sum())
    return {"n": n, "bits": 64, "radius": radius, "planted_pairs": len(pairs), "planted_pairs_found": found,
            "groups": len(groups), "links": links, "wall_s": round(wall, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "n_by_n_uint8_matrix_mb": round(n * n / 2**20, 1), "provenance": provenance()}


if __name__ == "__main__":
    for n in [int(v) for v in sys.argv[1:]] or [100_000, 1_000_000]:
        res = run(n)
        out = Path(__file__).parent / f"duplicates_{n}.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
        print(json.dumps({k: v for k, v in res.items() if k != "provenance"}))
