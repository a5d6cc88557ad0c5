"""Choose build-index's view recipe on the near-duplicate protocol's *validation* collection.

Each variant trains NAC (64 bits, build-index's 10-minute budget, 2 CPU cores, one process at
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

from nacsearch.config import ViewConfig
from nacsearch.eval.copy_runner import run_neardup

COPY = ViewConfig(zoom_out_p=0.3, rotate_p=0.3, downscale_p=0.3)
VARIANTS = {  # training overrides of each variant (the rest: build-index's defaults)
    "views-2026-11-early": {"views": ViewConfig()},  # the Fashion-MNIST-tuned views alone (40 epochs)
    "copy-views-0.3": {"views": COPY},
    "copy-views-0.5": {"views": ViewConfig(zoom_out_p=0.5, rotate_p=0.5, downscale_p=0.5)},
    "copy-views-0.3-fill-budget": {"views": COPY, "epochs": 10_000},  # the 10-minute budget decides the steps
    "views-2026-11-early-fill-budget": {"views": ViewConfig(), "epochs": 10_000},
}


def main(images: str, names: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(__file__).parent / "validation"
    for name in names or list(VARIANTS):
        rep = run_neardup(images, [64], ["nac"], out / name, split="validation",
                          train={"nac": VARIANTS[name]}, progress=False)
        r = rep["results"]["64"]["nac"]
        print(f"{name}: recall@1 {r['recall@1']:.4f} recall@10 {r['recall@10']:.4f} "
              f"at<=0.1fp {r['best_recall_at_false']['recall']:.4f} per-edit {r['per_edit_recall@1']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
