"""Which backbone features should ITQ quantise?  Scored on trained models, no retraining.

For each report directory (its ``split.npz`` and ``models/<method>-<bits>``, trained with the standard global
pooling), ITQ at each code length is fitted on the split's training images and scored on test and validation:

* ``global``: the features the model was trained with (the last map averaged over all positions; at the
  model's own length this is the ``nac`` row / the ``itq+simclr`` row of the report);
* ``grid2``: the averages of the last map's 2x2 quadrants (``ModelConfig.pool='grid2'``'s features, 4x wider),
  read from the same weights;
* ``from-64``: global features of the model trained at 64 bits, quantised to 16 and 32 bits (a NAC or SimCLR
  head trained at 64 bits, whatever the code length);
* with ``--head``, layers of the trained head on the global features: ``hidden`` (its ReLU activations), ``u`` (its
  outputs: NAC's relaxed code before tanh, SimCLR's projection) and ``global+hidden`` (the two side by side).

One JSON line per (report, method, source model bits, code bits, features) on stdout.
Usage: python benchmarks/fashion-mnist/readout.py [--methods nac,simclr] REPORT_DIR [REPORT_DIR ...]
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from nacsearch import codes as C
from nacsearch.checkpoint import load_model
from nacsearch.eval.metrics import split_scores
from nacsearch.eval.runner import load_labelled
from nacsearch.itq import fit_itq
from nacsearch.models.backbones import pool_map

SPEC = "fashion-mnist:/usr/share/datasets/fashion-mnist"


@torch.no_grad()
def pooled_features(model: torch.nn.Module, images: np.ndarray, batch: int = 2000,
                    head: bool = False) -> dict[str, np.ndarray]:
    """uint8 images (N, 1, 28, 28) -> {"global": (N, 8w), "grid2": (N, 32w)} from the last feature map; with
    ``head``, also the trained head's "hidden" (N, H) and "u" (N, head bits) on the global features (eval mode)."""
    model.eval()
    out: dict[str, list] = {"global": [], "grid2": []} | ({"hidden": [], "u": []} if head else {})
    for i in range(0, len(images), batch):
        a = model.backbone.features(model.normalise(torch.from_numpy(images[i:i + batch]).float() / 255))
        out["global"].append(pool_map(a, 1))
        out["grid2"].append(pool_map(a, 2))
        if head:
            net = model.trained_head.net                                  # Linear, ReLU, Linear
            out["hidden"].append(net[1](net[0](out["global"][-1])))
            out["u"].append(net[2](out["hidden"][-1]))
    feats = {k: torch.cat(v).numpy() for k, v in out.items()}
    if head:
        feats["global+hidden"] = np.concatenate([feats["global"], feats["hidden"]], axis=1)
    return feats


def itq_codes(x: np.ndarray, fit_rows: np.ndarray, bits: int, seed: int) -> np.ndarray:
    mean, proj = fit_itq(x[fit_rows], bits, np.random.default_rng(seed))
    return C.encode_preactivations((x - mean) @ proj)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--methods", default="nac,simclr")
    ap.add_argument("--head", action="store_true", help="also the trained head's layers")
    args = ap.parse_args()
    data = load_labelled(SPEC)
    for d in args.reports:
        sp = np.load(Path(d) / "split.npz")
        for method in args.methods.split(","):
            for model_bits in (16, 32, 64):
                model, meta = load_model(Path(d) / "models" / f"{method}-{model_bits}", torch.device("cpu"))
                seed = meta["run"].train.seed
                feats = pooled_features(model, data.images, head=args.head)
                jobs = [(model_bits, name) for name in feats]
                jobs += [(16, "global"), (32, "global")] if model_bits == 64 else []
                for bits, name in jobs:
                    c = itq_codes(feats[name], sp["train"], bits, seed)
                    print(json.dumps({"report": d, "method": method, "model_bits": model_bits, "bits": bits,
                                      "features": name, **split_scores(c, data.labels, sp)}), flush=True)


if __name__ == "__main__":
    main()
