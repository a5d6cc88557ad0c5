"""Choose build-index's view recipe on the near-duplicate protocol's *validation* collection.

Each variant trains NAC (or the method it names; 64 bits, build-index's 10-minute budget, 2 CPU cores, one process at
a time) on the validation originals and scores the validation copies; the test collection is
never touched.  Usage:
    bash benchmarks/neardup/collection.sh /tmp/nacsearch-neardup-images
    python benchmarks/neardup/select_views.py /tmp/nacsearch-neardup-images [VARIANT ...]
Writes benchmarks/neardup/validation/<variant>/report.{json,md} and prints one line per variant.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from dataclasses import replace

from nacsearch.config import ViewConfig
from nacsearch.eval.copy_runner import run_neardup

COPY = ViewConfig(zoom_out_p=0.3, rotate_p=0.3, downscale_p=0.3)
VARIANTS = {  # training overrides of each variant (the rest: build-index's defaults)
    "views-2026-11-early": {"views": ViewConfig()},  # the Fashion-MNIST-tuned views alone (40 epochs)
    "copy-views-0.3": {"views": COPY},
    "copy-views-0.5": {"views": ViewConfig(zoom_out_p=0.5, rotate_p=0.5, downscale_p=0.5)},
    "copy-views-0.3-fill-budget": {"views": COPY, "epochs": 10_000},  # the 10-minute budget decides the steps
    "views-2026-11-early-fill-budget": {"views": ViewConfig(), "epochs": 10_000},
    # on top of the 'copies' recipe (copy views, budget filled): one knob each
    "copies-crop-0.35": {"views": replace(COPY, crop_scale=(0.35, 1.0)), "epochs": 10_000},  # wider crops
    "copies-prior-1": {"views": COPY, "epochs": 10_000, "prior_weight": 1.0},  # uniform, decorrelated bits
    "copies-jitter-0.6": {"views": replace(COPY, jitter=0.6), "epochs": 10_000},  # stronger brightness/contrast
    "copies-size-48": {"views": COPY, "epochs": 10_000, "image_size": 48},  # input side 48 px instead of 32
    "copy-views-0.3-fill-budget-rerun": {"views": COPY, "epochs": 10_000},  # the 'copies' control, same sitting
    "simclr-copies": {"method": "simclr"},  # SimCLR-sign with the 'copies' recipe (the prior included)
    "copies-width-32": {"views": COPY, "epochs": 10_000, "width": 32},  # a wider encoder
}


def main(images: str, names: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(__file__).parent / "validation"
    for name in names or list(VARIANTS):
        train = dict(VARIANTS[name])
        size = train.pop("image_size", None)  # the folder rule's input side, for the model and every method
        method = train.pop("method", "nac")
        rep = run_neardup(images, [64], [method], out / name, split="validation",
                          train={method: train}, image_size=size, progress=False)
        r = rep["results"]["64"][method]
        print(f"{name}: recall@1 {r['recall@1']:.4f} recall@10 {r['recall@10']:.4f} "
              f"at<=0.1fp {r['best_recall_at_false']['recall']:.4f} per-edit {r['per_edit_recall@1']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
