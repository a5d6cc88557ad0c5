"""build-index with no --model on 20,000 Fashion-MNIST images: the default training budget.

Writes the 20,000-image validation database of the Fashion-MNIST tuning probe (protocol split,
seed 0; ``benchmarks/fashion-mnist/probe.py``) as PNGs, runs ``nacsearch build-index FOLDER``
with every default (a subprocess, as a user would), and reports:

* the plan and ETA printed before training, and the training loop's measured wall time;
* the whole command's wall time against the documented budget;
* validation mAP@1000 of the index it built: the probe's 1,000 validation queries (training
  images, decoded and encoded exactly as ``nacsearch query`` does) against the 20,000 indexed
  images' stored codes -- the numbers every choice uses, never test queries.

Usage: python benchmarks/bench_budget.py [--work DIR] [--n 20000] [--train-minutes 0]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nacsearch.checkpoint import read_meta
from nacsearch.datasets import open_dataset
from nacsearch.eval.metrics import mean_average_precision
from nacsearch.eval.protocols import PROTOCOLS, make_split
from nacsearch.indexer.index import Index
from nacsearch.indexer.search import encode_query_images

DATA = "fashion-mnist:/usr/share/datasets/fashion-mnist"


def write_pngs(images: np.ndarray, idx: np.ndarray, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:05d}.png" for i in idx]
    for i, p in zip(idx, paths):
        Image.fromarray(images[i, 0]).save(p)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/nacsearch-budget")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--train-minutes", default=None, help="passed to build-index (0: the epoch count alone, as before)")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    data = open_dataset(DATA, progress=False)
    split = make_split(data.labels, PROTOCOLS["fashion-mnist"], seed=0)
    vq, vdb = split.val_query, np.random.default_rng(0).choice(split.val_database, args.n, replace=False)
    db_paths = write_pngs(data.images, vdb, work / "images")
    q_paths = write_pngs(data.images, vq, work / "queries")
    cmd = ["nacsearch", "build-index", str(work / "images"), "--index", str(work / "index"), "--json"]
    if args.train_minutes is not None:
        cmd += ["--train-minutes", args.train_minutes]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    plan = [ln for ln in proc.stderr.splitlines() if "plan:" in ln]
    meta = read_meta(work / "index" / "model")
    budget, hist = meta["state"]["budget"] or None, meta["stats"]["history"]
    train_s = meta["state"]["total_steps"] * meta["run"].train.batch_size / hist[-1]["img_s"]
    with Index.open(work / "index", readonly=True) as index:
        ids = [index.store.id_for_path(os.path.abspath(p)) for p in db_paths]
        cdb = np.frombuffer(b"".join(index.store.codes_for(ids)), np.uint8).reshape(len(ids), -1)
        cq = encode_query_images(index, q_paths, "cpu")
    m = mean_average_precision(cq, cdb, data.labels[vq], data.labels[vdb], 1000)
    out = {"command": " ".join(cmd), "images": args.n, "wall_s": round(wall, 1), "plan_line": plan,
           "budget": budget, "train_loop_s": round(train_s, 1),
           "eta_error": round(train_s / budget["eta_s"] - 1, 3) if budget else None, "steps": meta["state"]["total_steps"],
           "build": json.loads(proc.stdout), "val_map@1000": round(float(m), 4),
           "config_train": {k: getattr(meta["run"].train, k) for k in ("minutes", "max_images", "epochs", "batch_size")}}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
