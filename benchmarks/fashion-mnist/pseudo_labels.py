"""How strict should DistillHash-style distillation be?  Pseudo-label share and precision per setting.

Computes the SSDH thresholds + confident-pair rule of ``nacsearch.eval.baselines.distillhash`` on the
backbone features of a trained checkpoint, for the training images of a committed split, over a grid
of (k, alpha), and prints one JSON line per setting with the share of pairs kept as similar /
dissimilar and the share of them that truly share / do not share a class (labels are used for these
diagnostics only, as in the report).

Usage: python benchmarks/fashion-mnist/pseudo_labels.py MODEL_DIR SPLIT_NPZ [--out FILE.jsonl]
  e.g. MODEL_DIR = benchmarks/fashion-mnist/baselines/32/models/simclr-32 (written by baselines.sh 32)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nacsearch.datasets import open_dataset
from nacsearch.eval.baselines.base import checkpoint_features
from nacsearch.eval.baselines.distillhash import label_stats, pseudo_labels

GRID = [(100, 1.5), (50, 1.5), (20, 1.5), (100, 2.0), (50, 2.0), (20, 2.0), (100, 2.5), (50, 2.5), (10, 1.5)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("split")
    ap.add_argument("--dataset", default="fashion-mnist:/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    data = open_dataset(args.dataset)
    train = np.load(args.split)["train"]
    feats = np.asarray(checkpoint_features(args.model_dir)(data.images[train]), np.float32)
    truth = data.labels[train]
    rows = []
    for k, alpha in GRID:
        stats = label_stats(pseudo_labels(feats, alpha=alpha, k=k), truth)
        rows.append({"model": args.model_dir, "k": k, "alpha": alpha, "beta": 0.5, **stats})
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with Path(args.out).open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
