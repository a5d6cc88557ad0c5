"""Which layer of a trained encoder should ITQ quantise?  Scored on trained models, no retraining.

For each report directory (its ``split.npz`` and ``models/<name>``), ITQ at the model's code length is fitted on
the split's training images and scored on test and validation, on four layers of the same weights:

* ``features``: the backbone features (what the ``itq-features`` code layer quantises: the ``nac`` row, and the
  ``itq+simclr`` row for SimCLR);
* ``hidden``: the trained head's hidden ReLU activations;
* ``u``: the trained head's outputs (NAC's relaxed code before tanh; SimCLR's projection);
* ``features+hidden``: the two side by side.

One JSON line per (report, model, layer) on stdout.
Usage: OMP_NUM_THREADS=2 python benchmarks/fashion-mnist/layers.py [--models nac-64,nac-32,simclr-64] REPORT_DIR [...]
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from nacsearch.checkpoint import load_model
from nacsearch.eval.metrics import split_scores
from nacsearch.eval.runner import load_labelled

from readout import SPEC, itq_codes


@torch.no_grad()
def head_layers(model: torch.nn.Module, images: np.ndarray, batch: int = 2000) -> dict[str, np.ndarray]:
    """uint8 images (N, C, H, W) -> {"features": (N, D), "hidden": (N, H), "u": (N, head bits)} in eval mode."""
    model.eval()
    head = model.trained_head
    out: dict[str, list] = {"features": [], "hidden": [], "u": []}
    for i in range(0, len(images), batch):
        h = model.backbone(model.normalise(torch.from_numpy(images[i:i + batch]).float() / 255))
        a = head.net[1](head.net[0](h))
        out["features"].append(h)
        out["hidden"].append(a)
        out["u"].append(head.net[2](a))
    return {k: torch.cat(v).numpy() for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--models", default="nac-64,nac-32,simclr-64")
    args = ap.parse_args()
    data = load_labelled(SPEC)
    for d in args.reports:
        sp = np.load(Path(d) / "split.npz")
        for name in args.models.split(","):
            model, meta = load_model(Path(d) / "models" / name, torch.device("cpu"))
            layers = head_layers(model, data.images)
            layers["features+hidden"] = np.concatenate([layers["features"], layers["hidden"]], axis=1)
            for layer, x in layers.items():
                c = itq_codes(x, sp["train"], meta["run"].model.bits, meta["run"].train.seed)
                print(json.dumps({"report": d, "model": name, "layer": layer, "dim": x.shape[1],
                                  **split_scores(c, data.labels, sp)}), flush=True)


if __name__ == "__main__":
    main()
