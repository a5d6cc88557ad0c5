"""Does a mirror-summed code find more copies?  Trained models, no retraining.

For each model directory, the collection's copies are scored twice with the same weights:
codes sign(u(x)) and sign(u(x) + u(mirror x)) (``ModelConfig.mirror_sum``), which a horizontal mirror
cannot change (the last linear layer's pre-activations on the sum of an image's and its mirror image's
inputs to it).
Usage: python benchmarks/neardup/mirror_sum.py IMAGES [--split test] MODEL_DIR [MODEL_DIR ...]
(validation by default: choices are made there; the test split only to report a choice already made)
Prints recall@1, recall at <= 0.1 false matches per query and recall@1 per edit, both ways.
"""
from __future__ import annotations

import argparse
import dataclasses
import json

import torch

from nacsearch.checkpoint import load_model
from nacsearch.encode import encode_images
from nacsearch.eval.copy_metrics import copy_metrics
from nacsearch.eval.copy_runner import decode_copy_set
from nacsearch.eval.neardup import build_copy_set
from nacsearch.models import HashEncoder


def summary(res: dict) -> dict:
    return {"recall@1": round(res["recall@1"], 4), "recall_at_false": round(res["best_recall_at_false"]["recall"], 4),
            "radius": res["best_recall_at_false"].get("radius"),
            "per_edit": {k: round(v, 3) for k, v in res["per_edit_recall@1"].items()},
            "curve_r0_8": [(r, round(rec, 3), round(fp, 3)) for r, rec, fp in  # (radius, recall, false/query)
                           zip(*(res["tradeoff"][k] for k in ("radius", "recall", "false_per_query"))) if r <= 8]}


def with_mirror_sum(model: HashEncoder, on: bool) -> HashEncoder:
    """The same weights, encoding with ``mirror_sum`` on or off."""
    twin = HashEncoder(dataclasses.replace(model.cfg, mirror_sum=on), model.inference_head is not None)
    twin.load_state_dict(model.state_dict())
    return twin.eval()


def main(images: str, model_dirs: list[str], split: str = "validation") -> None:
    cs = build_copy_set(images, split, 0, 1000, 1000, 3000, progress=False)
    for d in model_dirs:
        model, _ = load_model(d, torch.device("cpu"))
        db, q = decode_copy_set(cs, (model.cfg.channels, model.cfg.image_size))
        out = {}
        for name, on in (("plain", False), ("mirror-sum", True)):
            m = with_mirror_sum(model, on)
            out[name] = summary(copy_metrics(encode_images(m, q), encode_images(m, db), cs.target, cs.kinds))
        print(json.dumps({"model": d, "split": split, **out}), flush=True)


def run_cli(score, description: str) -> None:
    """``IMAGES [--split test] MODEL_DIR...`` -> ``score(images, model_dirs, split)`` (shared by the
    scripts here that score trained models on a collection)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("images")
    ap.add_argument("model_dirs", nargs="+")
    ap.add_argument("--split", default="validation", choices=("validation", "test"))
    a = ap.parse_intermixed_args()  # --split may come between the folder and the models
    score(a.images, a.model_dirs, a.split)


if __name__ == "__main__":
    run_cli(main, "Score trained models with plain and mirror-summed codes.")
