"""Do a code's bits belong in the top principal directions?  ITQ against codes that spend most bits there.  No retraining.

The pooled features of both encoders are concentrated: on grid seed 3's 64-bit models the top 16 principal directions
hold 96 % (NAC) and 93 % (SimCLR) of the variance and nearly all of the between-class variance, so ITQ at 32 or 64 bits
spends most bits on directions of little variance.  Three readouts spend them in the top-k directions instead (all
linear maps of the features, then signs, so each is still a code layer):

* ``itq``:          ITQ at the code's length (the report's rows);
* ``itqK+lsh``:     ITQ on the top k directions, plus bits - k random hyperplanes in the same k-dim space;
* ``NxitqK``:       N = bits / k ITQ rotations of the top k directions from different starts, side by side.

One JSON line per (seed, method, bits, readout) on stdout, after one with the model's feature spectrum on the training
images (:func:`spectrum`).
Usage: python benchmarks/fashion-mnist/bit_allocation.py SEED[,SEED...]   (reads grid-2026-12-jitter/seed<S>/models)
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import json
import sys

import numpy as np
from nacsearch import codes as C
from nacsearch.checkpoint import load_model
from nacsearch.eval.metrics import split_scores
from nacsearch.eval.runner import load_labelled
from nacsearch.itq import fit_itq, principal_directions
from readout import SPEC, pooled_features


def top_directions(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """(N, D) features -> (N, k) coordinates on the top k principal directions of ``x[rows]`` (centred by their mean)."""
    mu = x[rows].mean(0)
    return (x - mu) @ principal_directions(x[rows] - mu, k)


def spectrum(h: np.ndarray, labels: np.ndarray) -> dict:
    """Of features h (N, D) with class labels (N,): the share of the variance on the top 8 / 16 / 32 / 64 principal
    directions, and per block of directions (1-16, 17-32, 33-64, 65-D) the share of its variance between classes."""
    z = h - h.mean(0)
    vals, vecs = np.linalg.eigh(np.cov(z.T))
    vals, z = vals[::-1], z @ vecs[:, ::-1]
    cum = np.cumsum(vals) / vals.sum()
    between = np.stack([z[labels == k].mean(0) for k in np.unique(labels)]).var(0)
    blocks = ((0, 16), (16, 32), (32, 64), (64, len(vals)))
    return {"variance_top": {k: round(float(cum[k - 1]), 3) for k in (8, 16, 32, 64)},
            "between_class_share": {f"{a + 1}-{b}": round(float(between[a:b].sum() / z[:, a:b].var(0).sum()), 3)
                                    for a, b in blocks}}


def readouts(h: np.ndarray, train: np.ndarray, bits: int, seed: int) -> dict[str, np.ndarray]:
    """Pre-activations (N, bits) of each readout of the features h (N, D)."""
    mean, proj = fit_itq(h[train], bits, np.random.default_rng(seed))
    out = {"itq": (h - mean) @ proj}
    hyperplanes = np.random.default_rng(0)
    for k in (16, 24, 32):
        if k >= bits:
            continue
        z = top_directions(h, train, k)
        m2, p2 = fit_itq(z[train], k, np.random.default_rng(seed))
        g = hyperplanes.standard_normal((k, bits - k)).astype(np.float32)
        out[f"itq{k}+lsh"] = np.concatenate([(z - m2) @ p2, z @ g], 1)
        if bits % k == 0:
            reps = [fit_itq(z[train], k, np.random.default_rng(1000 + r)) for r in range(bits // k)]
            out[f"{bits // k}xitq{k}"] = np.concatenate([(z - mr) @ pr for mr, pr in reps], 1)
    return out


def main(seeds: list[str]) -> None:
    data = load_labelled(SPEC)
    for seed in seeds:
        d = f"grid-2026-12-jitter/seed{seed}"
        sp = np.load(d + "/split.npz")
        for method in ("nac", "simclr"):
            for bits in (32, 64):
                model, _ = load_model(f"{d}/models/{method}-{bits}")
                h = pooled_features(model, data.images)["global"].astype(np.float32)
                print(json.dumps({"seed": seed, "method": method, "bits": bits, "training_images":
                                  spectrum(h[sp["train"]].astype(np.float64), data.labels[sp["train"]])}), flush=True)
                for name, u in readouts(h, sp["train"], bits, int(seed)).items():
                    s = split_scores(C.encode_preactivations(u), data.labels, sp)
                    print(json.dumps({"seed": seed, "method": method, "bits": bits, "readout": name,
                                      "val": [s["validation"]["map@1000"], s["validation"]["map@all"]],
                                      "test": [s["test"]["map@1000"], s["test"]["map@all"]]}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1].split(","))
