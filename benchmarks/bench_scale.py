"""A 10^6-record index through the library API: build records/s, open time, query latency, disk size.

Records are generated (path, size, mtime, SHA-256 metadata; random 64-bit codes) and written
with ``Index.add_codes`` in batches of 10,000 -- the same LMDB + FAISS writer the add pipeline
uses, without the image decoding that ``bench_camera.py`` / ``bench_build.py`` measure.  The
model is a small 64-bit encoder trained for a few steps (its weights do not matter here).

Usage: python benchmarks/bench_scale.py [--n 1000000] [--work /tmp/nacsearch-scale] [--index-type flat]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from nacsearch.datasets.arrays import ArrayImages
from nacsearch.indexer.index import Index
from nacsearch.indexer.params import IndexParams
from nacsearch.indexer.search import search_codes
from nacsearch.indexer.records import Record
from nacsearch.recipes import make_run_config
from nacsearch.train import train


def make_model(out: Path) -> Path:
    images = np.random.default_rng(0).integers(0, 256, (64, 1, 32, 32), dtype=np.uint8)
    train(make_run_config(1, 32, bits=64, max_steps=3, minutes=0), ArrayImages(images), out, device="cpu",
          progress=False)
    return out


def records(start: int, n: int) -> list[Record]:
    return [Record(path=f"photos/{i // 1000:04d}/IMG_{i:07d}.jpg", abspath=f"/data/photos/{i // 1000:04d}/IMG_{i:07d}.jpg",
                   size=1_400_000 + i % 997, mtime_ns=1_700_000_000_000_000_000 + i,
                   sha256=hashlib.sha256(i.to_bytes(8, "little")).hexdigest()) for i in range(start, start + n)]


def build(root: Path, model: Path, n: int, index_type: str, batch: int = 10_000) -> dict:
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    with Index.create(root, model, IndexParams(index_type=index_type, bits=64)) as index:
        for start in range(0, n, batch):
            m = min(batch, n - start)
            index.add_codes(records(start, m), rng.integers(0, 256, (m, 8), dtype=np.uint8))
        t_add = time.perf_counter() - t0
        index.sync()
    total = time.perf_counter() - t0
    return {"records": n, "add_s": round(t_add, 1), "total_s": round(total, 1), "records_per_s": round(n / total)}


def open_and_query(root: Path, queries: int = 200) -> dict:
    t0 = time.perf_counter()
    index = Index.open(root, readonly=True)
    t_open = time.perf_counter() - t0
    q = np.random.default_rng(2).integers(0, 256, (queries, 8), dtype=np.uint8)
    lat = {}
    for k, radius in ((10, None), (100, None), (0, 8)):
        times = []
        for i in range(queries):
            t = time.perf_counter()
            search_codes(index, q[i:i + 1], k, radius)
            times.append((time.perf_counter() - t) * 1000)
        lat[f"k={k}" if radius is None else f"radius={radius}"] = {
            "p50_ms": round(statistics.median(times), 3), "p99_ms": round(float(np.percentile(times, 99)), 3)}
    index.close()
    disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return {"open_s": round(t_open, 2), "query": lat, "disk_bytes": disk, "disk_bytes_per_record": None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--work", default="/tmp/nacsearch-scale")
    ap.add_argument("--index-type", default="flat")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model = make_model(work / "model")
    out = {"build": build(work / "index", model, args.n, args.index_type)}
    out.update(open_and_query(work / "index"))
    out["disk_bytes_per_record"] = round(out["disk_bytes"] / args.n, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
