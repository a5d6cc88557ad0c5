"""Build-index and query benchmark on Fashion-MNIST images exported as PNG.

Exports N images to a folder, runs ``nacsearch build-index`` with a given model (or
trains one), then checks that every sampled query's first hit is at distance 0 and that
the query itself is among its distance-0 hits (radius-0 search: several images can share a
code, so it need not be within the first k), and times single-image queries (decode + encode + search)
through the Python API and
one ``nacsearch query --json`` through the CLI.

Usage: python benchmarks/bench_build.py --model MODEL_DIR [--n 10000] [--work /tmp/bench] [--no-regions]
(build-index's default indexes the regions of every image too; --no-regions whole images only)
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nacsearch.datasets.fashion_mnist import DEFAULT_PATH, load_fashion_mnist


def export(n: int, folder: Path) -> list[Path]:
    data = load_fashion_mnist(DEFAULT_PATH)
    idx = np.random.default_rng(0).choice(len(data), n, replace=False)
    paths = []
    for i in idx:
        p = folder / f"c{data.labels[i]}" / f"{i:05d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(data.images[i, 0]).save(p)
        paths.append(p)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--work", default="/tmp/nacsearch-bench")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--no-regions", action="store_true", help="index whole images only")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    paths = export(args.n, work / "images")
    cmd = ["nacsearch", "build-index", str(work / "images"), "--index", str(work / "index"), "--json", "--device", "cpu"]
    if args.model:
        cmd += ["--model", args.model]
    if args.no_regions:
        cmd += ["--no-regions"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    rep = json.loads(out)

    from nacsearch.indexer.index import Index
    from nacsearch.indexer.search import search_images

    index = Index.open(work / "index")
    rng = np.random.default_rng(1)
    picks = [paths[i] for i in rng.choice(len(paths), args.queries, replace=False)]
    search_images(index, picks[:1], k=10, device="cpu")  # warm-up (model load)
    lat, first_zero, self_in_zero, tied = [], 0, 0, []
    for p in picks:
        t = time.perf_counter()
        hits = search_images(index, [p], k=10, device="cpu")[0]
        lat.append(time.perf_counter() - t)
        first_zero += hits[0].distance == 0
        # the image itself is among the distance-0 hits (there can be more than k of them)
        zero = search_images(index, [p], k=0, radius=0, device="cpu")[0]
        self_in_zero += str(p) in {h.path for h in zero}
        tied.append(len(zero))
    t = time.perf_counter()
    cli = subprocess.run(["nacsearch", "query", str(picks[0]), "--index", str(work / "index"), "--json", "-k", "10",
                          "--device", "cpu"], check=True, capture_output=True, text=True).stdout
    cli_wall = time.perf_counter() - t
    parsed = json.loads(cli)
    print(json.dumps({"n": args.n, "regions": not args.no_regions, "build_wall_s": round(wall, 1),
                      "index_images_per_s": rep["images_per_s"],
                      "records": rep["records"], "skipped": rep["skipped"],
                      "query_api_median_ms": round(statistics.median(lat) * 1e3, 2),
                      "query_api_p90_ms": round(float(np.percentile(lat, 90)) * 1e3, 2),
                      "first_hit_at_distance_0": f"{first_zero}/{len(picks)}",
                      "self_among_distance_0_hits": f"{self_in_zero}/{len(picks)}",
                      "distance_0_hits_median_max": [float(np.median(tied)), int(max(tied))],
                      "cli_query_wall_s": round(cli_wall, 2), "cli_json_hits": len(parsed[0]["hits"])}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
