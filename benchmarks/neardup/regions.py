"""Would indexing regions of each original find the copies a whole-image code misses?  Trained models,
no retraining.

Crops keeping 80 % of each side at a random place, and copies in a wide white border, are the weakest
edits for every learned code here.  This scores a trained model's codes on a collection's copies with a
database that also holds the codes of regions of each original (:mod:`nacsearch.regions`: 3 x 3 crops and
the framed image, decoded as build-index decodes files); a copy's distance to an original is the
smallest over its codes, a crop's counting one penalty more and the framed image's another, and ranks and
false matches count originals (:func:`nacsearch.eval.copy_metrics.copy_ranks`); a penalty of 64 (the code
length) turns those regions off.  ``--hashes`` scores the perceptual hashes the
same way, for a like-for-like comparison.

Usage: python benchmarks/neardup/regions.py IMAGES [--split test] [--hashes] MODEL_DIR [MODEL_DIR ...]
(validation by default: choices are made there).  Prints one JSON line per model or hash: the whole-image
figures, then those with regions for each pair of penalties in CROP_PENALTIES x FRAME_PENALTIES.
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

CROP_PENALTIES = (0, 1, 2, 3, 4, 64)  # 64 (the code length): the crops never count
FRAME_PENALTIES = (0, 1, 2, 3, 64)    # 64: the framed image never counts
REGIONS = RegionConfig()              # 3 x 3 crops and the framed image; the penalties are swept


def score(q: np.ndarray, db: np.ndarray, regions: np.ndarray, cs) -> dict:
    """Whole-image figures, then the regions' at each pair of penalties (``regions``: their codes, image after
    image)."""
    out = {"whole": summary(copy_metrics(q, db, cs.target, cs.kinds))}
    codes = np.concatenate([db, regions])
    for crop in CROP_PENALTIES:
        for frame in FRAME_PENALTIES:
            if crop == frame == 64:
                continue
            owner, extra = region_rows(len(db), dataclasses.replace(REGIONS, penalty=crop, frame_penalty=frame))
            out[f"crops +{crop} frame +{frame}"] = summary(copy_metrics(q, codes, cs.target, cs.kinds, owner=owner,
                                                                        extra=extra))
    return out


def main(images: str, model_dirs: list[str], split: str, hashes: bool) -> None:
    cs = build_copy_set(images, split, 0, 1000, 1000, 3000, progress=False)
    for d in model_dirs:
        model, _ = load_model(d, torch.device("cpu"))
        fmt = (model.cfg.channels, model.cfg.image_size)
        db, q = decode_copy_set(cs, fmt)
        regions = encode_images(model, region_arrays(cs, fmt, REGIONS))
        print(json.dumps({"model": d, "split": split, **score(encode_images(model, q), encode_images(model, db),
                                                               regions, cs)}), flush=True)
    if hashes:
        pil = [[Image.open(io.BytesIO(b)) for b in part] for part in (cs.database, cs.queries)]
        for name in ("phash", "dhash", "ahash", "whash"):
            h = PerceptualHash(64, name)
            regions = h.encode_pil([r for im in pil[0] for r in region_images(im, REGIONS)])
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
