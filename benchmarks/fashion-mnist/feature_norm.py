"""Does a normalisation of the backbone features before ITQ change the ranking of NAC and SimCLR?  No retraining.

Contrastive losses compare directions (SimCLR's cosine similarities; NAC's inner products of saturated codes), while
ITQ's PCA sees the features' raw scale, where a few images with large activations dominate the variance.  The usual
readouts of pooled, non-negative CNN features in image retrieval (Perronnin et al., ECCV 2010; Arandjelovic and
Zisserman, CVPR 2012) normalise them first.  Each variant maps the global features h (N, D) >= 0 to x, then ITQ at the
model's code length is fitted on the split's training images and scored on test and validation:

* ``none``:     x = h, the report's ``nac`` / ``itq+simclr`` rows (a check on this script);
* ``l2``:       x = h / ||h||;
* ``sqrt``:     x = sqrt(h) (power normalisation, alpha 1/2);
* ``sqrt-l2``:  x = sqrt(h) / ||sqrt(h)|| (the Hellinger map: x . y is the Bhattacharyya coefficient of h, y's
                L1-normalised profiles).

The decision is taken on the validation columns; test is printed for the record.  One JSON line per (report,
method, bits, variant) on stdout.
Usage: python benchmarks/fashion-mnist/feature_norm.py [--methods nac,simclr] REPORT_DIR [REPORT_DIR ...]
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
from readout import SPEC, itq_codes, pooled_features


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


VARIANTS = {
    "none": lambda h: h,
    "l2": _l2,
    "sqrt": np.sqrt,
    "sqrt-l2": lambda h: _l2(np.sqrt(h)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--methods", default="nac,simclr")
    ap.add_argument("--bits", default="16,32,64")
    args = ap.parse_args()
    data = load_labelled(SPEC)
    for d in args.reports:
        sp = np.load(Path(d) / "split.npz")
        for method in args.methods.split(","):
            for bits in map(int, args.bits.split(",")):
                model, meta = load_model(Path(d) / "models" / f"{method}-{bits}", torch.device("cpu"))
                h = pooled_features(model, data.images)["global"].astype(np.float64)
                for name, f in VARIANTS.items():
                    c = itq_codes(f(np.maximum(h, 0)).astype(np.float32), sp["train"], bits, meta["run"].train.seed)
                    print(json.dumps({"report": d, "method": method, "bits": bits, "features": name,
                                      **split_scores(c, data.labels, sp)}), flush=True)


if __name__ == "__main__":
    main()
