"""ITQ code layers on category retrieval: a trained Fashion-MNIST model's last layer re-fitted, no retraining.

For each report directory (its ``split.npz`` and ``models/nac-<bits>``), the trained code layer and the
ITQ code layers of :mod:`nacsearch.code_layer` (fitted on the split's training images, or with
``--fit-on database`` on its database images, as a transductive report's model was trained) encode the
70,000 images; each is scored on the report's split: test and validation mAP@1000 / mAP@all and precision
within radius 2.  One JSON line per (report, code layer) on stdout.
Usage: python benchmarks/fashion-mnist/code_layer.py [--bits 64] [--fit-on train] REPORT_DIR [REPORT_DIR ...]
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch

from nacsearch.checkpoint import load_model
from nacsearch.code_layer import CODE_LAYERS, fit_code_layer
from nacsearch.encode import encode_images
from nacsearch.eval.metrics import split_scores
from nacsearch.eval.runner import load_labelled

SPEC = "fashion-mnist:/usr/share/datasets/fashion-mnist"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--fit-on", choices=("train", "database"), default="train")
    args = ap.parse_args()
    data = load_labelled(SPEC)
    for d in args.reports:
        sp = np.load(Path(d) / "split.npz")
        seed = json.loads((Path(d) / "report.json").read_text())["seed"]
        trained, _ = load_model(Path(d) / "models" / f"nac-{args.bits}", torch.device("cpu"))
        for kind in CODE_LAYERS:
            model = copy.deepcopy(trained)
            fit_code_layer(model, data.images[sp[args.fit_on]], kind, seed)
            c = encode_images(model, data.images)
            print(json.dumps({"report": d, "code_layer": kind, "fit_on": args.fit_on,
                              **split_scores(c, data.labels, sp)}), flush=True)


if __name__ == "__main__":
    main()
