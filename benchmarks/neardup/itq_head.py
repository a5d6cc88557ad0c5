"""Would an ITQ code layer on a trained NAC encoder find more copies?  Trained models, no retraining.

For each model directory the collection's copies are scored twice: with the model's own codes
(sign of its last linear layer's pre-activations, mirror-summed where the model says so), and with ITQ
(PCA + rotation, fitted on the collection's originals only, as build-index would fit a collection) on
the same encoder's backbone features, summed over an image and its mirror image when the model
mirror-sums, so both codes see the same inputs.
Usage: python benchmarks/neardup/itq_head.py IMAGES [--split test] MODEL_DIR [MODEL_DIR ...]
(validation by default: choices are made there)
Prints one JSON line per model: recall@1, recall at <= 0.1 false matches per query and per-edit recall@1, both ways.
"""
from __future__ import annotations

import json

import numpy as np
import torch

from nacsearch.checkpoint import load_model
from nacsearch.encode import encode_images, preactivations
from nacsearch.eval.baselines.projection import ITQ
from nacsearch.eval.copy_metrics import copy_metrics
from nacsearch.eval.copy_runner import decode_copy_set
from nacsearch.eval.neardup import build_copy_set

from mirror_sum import run_cli, summary  # noqa: E402  (same folder)


def feature_fn(model):
    """uint8 (N, C, H, W) -> (N, D) backbone features, + those of the mirror images when the model mirror-sums."""
    def features(images: np.ndarray) -> np.ndarray:
        h = preactivations(model, images, features=True)
        if model.cfg.mirror_sum:
            h = h + preactivations(model, np.ascontiguousarray(images[..., ::-1]), features=True)
        return h
    return features


def main(images: str, model_dirs: list[str], split: str = "validation") -> None:
    cs = build_copy_set(images, split, 0, 1000, 1000, 3000, progress=False)
    for d in model_dirs:
        model, _ = load_model(d, torch.device("cpu"))
        db, q = decode_copy_set(cs, (model.cfg.channels, model.cfg.image_size))
        own = copy_metrics(encode_images(model, q), encode_images(model, db), cs.target, cs.kinds)
        itq = ITQ(model.cfg.bits, feature_fn(model)).fit(db, 0)
        head = copy_metrics(itq.encode(q), itq.encode(db), cs.target, cs.kinds)
        print(json.dumps({"model": d, "split": split, "own": summary(own), "itq": summary(head)}), flush=True)


if __name__ == "__main__":
    run_cli(main, "Score trained models with their own codes and with an ITQ code layer.")
