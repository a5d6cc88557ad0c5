"""Choose build-index's view recipe on the near-duplicate protocol's *validation* collection.

Each variant trains NAC (or the method it names; 64 bits, build-index's 10-minute budget, 2 CPU
cores, one process at a time) on the validation originals and scores the validation copies; the
test collection is never touched.  Usage:
    bash benchmarks/neardup/collection.sh /tmp/nacsearch-neardup-images
    python benchmarks/neardup/select_views.py /tmp/nacsearch-neardup-images [--out NAME] [VARIANT ...]
Writes benchmarks/neardup/NAME/<variant>/report.{json,md} (NAME: 'validation' unless given; the
Fashion-MNIST set's validation runs use 'fashion-mnist-validation') and prints one line per variant.
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from nacsearch.config import ViewConfig
from nacsearch.eval.copy_runner import run_neardup

# Every variant starts from the dataclass defaults ('categories') and states all it changes, so that it
# means the same run whatever build-index's recipe ('copies') becomes later.
COPY = ViewConfig(zoom_out_p=0.3, rotate_p=0.3, downscale_p=0.3)
FIRST_COPIES = {"recipe": "categories", "views": COPY, "epochs": 10_000}  # the first 'copies': the budget decides
COPIES_PRIOR = {**FIRST_COPIES, "prior_weight": 1.0}
NORMED = {**COPIES_PRIOR, "input_norm": "image", "prior_normalise": True}
FIXED = {"max_steps": 12_000, "minutes": 0.0, "cpu_bf16": True}  # a step count instead of the budget
VARIANTS = {  # training overrides of each variant
    "views-2026-11-early": {"recipe": "categories", "views": ViewConfig()},  # the tuned views alone, 40 epochs
    "copy-views-0.3": {"recipe": "categories", "views": COPY},
    "copy-views-0.5": {"recipe": "categories", "views": ViewConfig(zoom_out_p=0.5, rotate_p=0.5, downscale_p=0.5)},
    "copy-views-0.3-fill-budget": FIRST_COPIES,
    "views-2026-11-early-fill-budget": {"recipe": "categories", "views": ViewConfig(), "epochs": 10_000},
    # on top of the first 'copies' recipe: one knob each
    "copies-crop-0.35": {**FIRST_COPIES, "views": replace(COPY, crop_scale=(0.35, 1.0))},  # wider crops
    "copies-prior-1": {**FIRST_COPIES, "prior_weight": 1.0},  # uniform, decorrelated bits (the 'copies' recipe now)
    "copies-jitter-0.6": {**FIRST_COPIES, "views": replace(COPY, jitter=0.6)},  # stronger brightness/contrast
    "copies-size-48": {**FIRST_COPIES, "image_size": 48},  # input side 48 px instead of 32
    "copy-views-0.3-fill-budget-rerun": FIRST_COPIES,  # the first 'copies' again, as a control in the same sitting
    "simclr-copies": {**FIRST_COPIES, "prior_weight": 1.0, "method": "simclr"},  # SimCLR-sign, same recipe
    "copies-width-32": {**FIRST_COPIES, "width": 32},  # a wider encoder
    # on top of the 'copies' recipe with the prior (build-index's default since 2026-11): one knob each
    "copies-prior-p-0.2": {**COPIES_PRIOR, "p": 0.2},  # a noisier channel: codes must stay apart by more bits
    "copies-prior-p-0.3": {**COPIES_PRIOR, "p": 0.3},
    "copies-prior-batch-128": {**COPIES_PRIOR, "batch_size": 128},  # more negatives per step
    "copies-prior-image-norm": {**COPIES_PRIOR, "input_norm": "image"},  # each image standardised on its own
    "copies-prior-gain-4": {**COPIES_PRIOR, "head_gain": 4.0},  # heads start less saturated: bits can still move
    "copies-prior-normalised": {**COPIES_PRIOR, "prior_normalise": True},  # the prior cannot shrink the codes
    "copies-prior-rerun-2026-12": COPIES_PRIOR,  # the 'copies' recipe again, as a control for the runs above
    # on top of 'copies' + image normalisation; from here on the code trains channels-last with CPU bf16
    "copies-image-norm-fast": {**COPIES_PRIOR, "input_norm": "image"},
    "copies-image-norm-prior-normalised": NORMED,  # + the scale-free prior: the 'copies' recipe from 2026-12-01
    # on top of that recipe
    "copies-norm-jpeg-0.3": {**NORMED, "views": replace(COPY, jpeg_p=0.3)},  # + the JPEG-like re-save view
    "copies-norm-batch-64": {**NORMED, "batch_size": 64},
    # fixed-step comparisons: the same 12,000 steps (no time budget) and the same precision (bf16 on a CPU
    # with native bf16), so that the shared machine's drift in speed cannot pick the winner
    "fixed-2026-11": {**COPIES_PRIOR, **FIXED},  # the 2026-11 'copies' recipe
    "fixed-image-norm": {**COPIES_PRIOR, "input_norm": "image", **FIXED},  # + image normalisation alone
    "fixed-prior-normalised": {**COPIES_PRIOR, "prior_normalise": True, **FIXED},  # + the scale-free prior alone
    "fixed-2026-12": {**NORMED, **FIXED},  # + the scale-free prior: the 2026-12-01 'copies' recipe
    "fixed-2026-12-jpeg-0.3": {**NORMED, "views": replace(COPY, jpeg_p=0.3), **FIXED},  # + the JPEG-like view
    # half of the pairs (original, edited view): the pairs a copy search compares; codes mirror-summed
    "fixed-2026-12-clean-0.5": {**NORMED, "views": replace(COPY, clean_p=0.5), **FIXED, "mirror_sum": True},
    "fixed-image-norm-clean-0.5": {**COPIES_PRIOR, "input_norm": "image", "views": replace(COPY, clean_p=0.5), **FIXED,
                                   "mirror_sum": True},  # image normalisation without the scale-free prior, + clean
    "fixed-2026-11-clean-0.5": {**COPIES_PRIOR, "views": replace(COPY, clean_p=0.5), **FIXED, "mirror_sum": True},
    # SimCLR-sign with everything of the chosen row above (the 'copies' recipe of 2026-12-02) at the same steps
    "fixed-simclr-image-norm-clean-0.5": {**COPIES_PRIOR, "input_norm": "image", "views": replace(COPY, clean_p=0.5),
                                          **FIXED, "mirror_sum": True, "method": "simclr"},
    # that chosen row without the other view of the same image among NAC's negatives (the reference counts it)
    "fixed-image-norm-clean-0.5-no-pair-negative": {**COPIES_PRIOR, "input_norm": "image",
                                                    "views": replace(COPY, clean_p=0.5), **FIXED, "mirror_sum": True,
                                                    "pair_negative": False},
}
# on top of the 'copies' recipe of 2026-12-02 (its second part: no pair negative), at the same 12,000 steps
COPIES_1202 = VARIANTS["fixed-image-norm-clean-0.5-no-pair-negative"]
VARIANTS.update({
    "fixed-copies-prior-4": {**COPIES_1202, "prior_weight": 4.0},  # a stronger pull toward decorrelated bits
    # earlier steps' codes as further NAC negatives, weighing together as much as the batch's (an unweighted bank of
    # 1,024, code of f0e30fd, collapsed every code to one: validation/fixed-copies-bank-1024-unweighted/)
    "fixed-copies-bank-1024": {**COPIES_1202, "bank": 1024},
    "fixed-copies-bank-4096": {**COPIES_1202, "bank": 4096},
    # a quieter channel (would NAC's bits carry less redundancy?  participation ratio 17-26 of 64 against
    # SimCLR-sign's 45; measured: no, the relaxed codes shrink instead, median |u| 0.28 to 0.20 and 0.16)
    "fixed-copies-p-0.03": {**COPIES_1202, "p": 0.03},
    "fixed-copies-p-0.01": {**COPIES_1202, "p": 0.01},
    "fixed-copies-p-0.03-prior-4": {**COPIES_1202, "p": 0.03, "prior_weight": 4.0},
    # the same recipes with another training seed (the copies and collections stay those of seed 0)
    "fixed-copies-seed-1": {**COPIES_1202, "train_seed": 1},
    "fixed-copies-prior-4-seed-1": {**COPIES_1202, "prior_weight": 4.0, "train_seed": 1},
    "fixed-copies-bank-1024-seed-1": {**COPIES_1202, "bank": 1024, "train_seed": 1},
    "fixed-copies-p-0.03-seed-1": {**COPIES_1202, "p": 0.03, "train_seed": 1},
    "fixed-copies-p-0.01-seed-1": {**COPIES_1202, "p": 0.01, "train_seed": 1},
})


def main(images: str, names: list[str], out_name: str = "validation") -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(__file__).parent / out_name
    for name in names or list(VARIANTS):
        train = dict(VARIANTS[name])
        size = train.pop("image_size", None)  # the folder rule's input side, for the model and every method
        method = train.pop("method", "nac")
        rep = run_neardup(images, [64], [method], out / name, split="validation", train_seed=train.pop("train_seed", None),
                          train={method: train}, image_size=size, progress=False)
        r = rep["results"]["64"][method]
        print(f"{name}: recall@1 {r['recall@1']:.4f} recall@10 {r['recall@10']:.4f} "
              f"at<=0.1fp {r['best_recall_at_false']['recall']:.4f} per-edit {r['per_edit_recall@1']}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Score view recipes on a near-duplicate validation collection.")
    ap.add_argument("images")
    ap.add_argument("variants", nargs="*", help=f"any of: {', '.join(VARIANTS)} (default: all)")
    ap.add_argument("--out", default="validation", help="results under benchmarks/neardup/OUT/<variant>/")
    a = ap.parse_intermixed_args()  # options may come between the folder and the variants
    unknown = [v for v in a.variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}")
    main(a.images, a.variants, a.out)
