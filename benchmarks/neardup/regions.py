"""Would indexing regions of each original find the copies a whole-image code misses?  Trained models,
no retraining.

Crops keeping 80 % of each side at a random place, and copies in a wide white border, are the weakest
edits for every learned code here.  This scores a trained model's codes on a collection's copies with a
database that also holds the codes of regions of each original (:mod:`nacsearch.regions`: 3 x 3 crops and
the framed image, decoded as build-index decodes files); a copy's distance to an original is the
smallest over its codes, a region's counting PENALTY bits more, and ranks and false matches count
originals (:func:`nacsearch.eval.copy_metrics.copy_ranks`).  ``--hashes`` scores the perceptual hashes the
same way, for a like-for-like comparison.

Usage: python benchmarks/neardup/regions.py IMAGES [--split test] [--hashes] MODEL_DIR [MODEL_DIR ...]
(validation by default: choices are made there).  Prints one JSON line per model or hash: the whole-image
figures, then those with regions for each penalty in PENALTIES and each region set in SETS.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json

import numpy as np
import torch
from PIL import Image

from nacsearch.checkpoint import load_model
from nacsearch.encode import encode_images
from nacsearch.eval.baselines.perceptual import PerceptualHash
from nacsearch.eval.copy_metrics import copy_metrics
from nacsearch.eval.copy_runner import decode_copy_set, region_arrays, region_rows
from nacsearch.eval.neardup import build_copy_set
from nacsearch.regions import RegionConfig, region_images

from mirror_sum import summary  # noqa: E402  (same folder)

PENALTIES = (0, 1, 2, 3)
SETS = {"grid+frame": RegionConfig(), "grid": RegionConfig(frame=0.0), "frame": RegionConfig(grid=0)}


def score(q: np.ndarray, db: np.ndarray, regions: dict[str, np.ndarray], cs) -> dict:
    """Whole-image figures, then each region set at each penalty (``regions[name]``: that set's codes)."""
    out = {"whole": summary(copy_metrics(q, db, cs.target, cs.kinds))}
    for name, codes in regions.items():
        for pen in PENALTIES:
            cfg = dataclasses.replace(SETS[name], penalty=pen)
            owner, extra = region_rows(len(db), cfg)
            out[f"{name} penalty {pen}"] = summary(copy_metrics(q, np.concatenate([db, codes]), cs.target, cs.kinds,
                                                                owner=owner, extra=extra))
    return out


def main(images: str, model_dirs: list[str], split: str, hashes: bool) -> None:
    cs = build_copy_set(images, split, 0, 1000, 1000, 3000, progress=False)
    for d in model_dirs:
        model, _ = load_model(d, torch.device("cpu"))
        fmt = (model.cfg.channels, model.cfg.image_size)
        db, q = decode_copy_set(cs, fmt)
        regions = {n: encode_images(model, region_arrays(cs, fmt, cfg)) for n, cfg in SETS.items()}
        print(json.dumps({"model": d, "split": split, **score(encode_images(model, q), encode_images(model, db),
                                                               regions, cs)}), flush=True)
    if hashes:
        pil = [[Image.open(io.BytesIO(b)) for b in part] for part in (cs.database, cs.queries)]
        for name in ("phash", "dhash", "ahash", "whash"):
            h = PerceptualHash(64, name)
            regions = {n: h.encode_pil([r for im in pil[0] for r in region_images(im, cfg)]) for n, cfg in SETS.items()}
            print(json.dumps({"model": name, "split": split, **score(h.encode_pil(pil[1]), h.encode_pil(pil[0]),
                                                                      regions, cs)}), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Score codes with regions of each original indexed too.")
    ap.add_argument("images")
    ap.add_argument("model_dirs", nargs="*")
    ap.add_argument("--split", default="validation", choices=("validation", "test"))
    ap.add_argument("--hashes", action="store_true", help="also the perceptual hashes, scored the same way")
    a = ap.parse_intermixed_args()
    main(a.images, a.model_dirs, a.split, a.hashes)
