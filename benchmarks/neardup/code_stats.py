"""How a trained model uses its code space on the near-duplicate validation originals.

For each model directory: the median |bit mean| (balance), the participation ratio of the bits'
correlation spectrum ((sum lambda)^2 / sum lambda^2: 64 for uncorrelated bits, 1 for one repeated bit),
the median and 10th-percentile Hamming distance from each original to its nearest other original, and
the median |u| (how far the pre-activations sit from the sign boundary).
Usage: python benchmarks/neardup/code_stats.py IMAGES MODEL_DIR [MODEL_DIR ...]
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from nacsearch.checkpoint import load_model
from nacsearch.encode import preactivations
from nacsearch.eval.copy_runner import decode_copy_set
from nacsearch.eval.neardup import build_copy_set


def code_stats(u: np.ndarray) -> dict:
    """(N, d) pre-activations -> the statistics in the module doc."""
    c = np.where(u > 0, 1.0, -1.0)
    ev = np.linalg.eigvalsh(np.nan_to_num(np.corrcoef(c.T)))
    bits = c > 0
    dist = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    np.fill_diagonal(dist, bits.shape[1] + 1)
    nearest = dist.min(axis=1)
    return {"median_abs_bit_mean": round(float(np.median(np.abs(c.mean(0)))), 3),
            "participation_ratio": round(float(ev.sum() ** 2 / (ev ** 2).sum()), 1),
            "nearest_other_median": float(np.median(nearest)), "nearest_other_p10": float(np.percentile(nearest, 10)),
            "median_abs_u": round(float(np.median(np.abs(u))), 3)}


def main(images: str, model_dirs: list[str]) -> None:
    cs = build_copy_set(images, "validation", 0, 1000, 1000, 3000, progress=False)
    for d in model_dirs:
        model, _ = load_model(d, torch.device("cpu"))
        db, _ = decode_copy_set(cs, (model.cfg.channels, model.cfg.image_size))
        print(d, code_stats(preactivations(model, db, "cpu")), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
