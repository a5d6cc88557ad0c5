"""The named training recipes: the tuned settings behind ``--recipe`` (torch-free, so ``--help`` can list them).

Each recipe is a dict of the keys in ``RECIPE_KEYS``, which ``nacsearch.recipes.make_run_config`` reads; every value
it does not set is the config dataclasses' default (``nacsearch/config.py``).  Why each value is what it is: the
comments below and ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

from nacsearch.config import ViewConfig

COPY_VIEWS = ViewConfig(zoom_out_p=0.3, rotate_p=0.3, downscale_p=0.3, clean_p=0.5)
# InfoMin-style view strength for category retrieval (2026-12-03, NAC 64 bits, seed 0, validation mAP@1000 against
# 0.7203 at jitter 0.4): jitter 0.6 / 0.8 / 1.0 gave 0.7269 / 0.7357 / 0.7320; crop area from 0.4 or 0.8, cutout and
# blur gave 0.7038 / 0.7239 / 0.7058 / 0.7251.  SimCLR gains from 0.8 as well (ITQ on its features 0.7182 -> 0.7409),
# and the recipe's views are every learned method's (benchmarks/RESULTS.md, "Stronger colour jitter") but
# CIBHash-style's: its own validation chose the 0.4 of before (64 bits, seed 0: 0.6163 against 0.5561 at 0.8;
# RESULTS, "Views per method"), so the recipe names it in objective_views.
CATEGORY_VIEWS = ViewConfig(jitter=0.8)
# what a recipe may set (nacsearch.recipes.make_run_config reads each): every learned method's views (or one
# objective's own), settings of every method, and NAC's alone (its code bank, code layer, head start, head length,
# auxiliary NT-Xent term)
RECIPE_KEYS = ("views", "objective_views", "epochs", "prior_weight", "input_norm", "prior_normalise", "cpu_bf16",
               "mirror_sum", "pair_negative", "pool", "hidden", "width", "backbone",
               "bank", "code_layer", "head_centre", "head_bits", "ntxent_weight")
RECIPES: dict[str, dict] = {
    # the dataclass defaults, tuned for category retrieval on the Fashion-MNIST validation split, and NAC's code
    # layer re-fitted by ITQ on the training images' backbone features after training (2026-12-03: validation
    # mAP@1000 +0.004 and mAP@all +0.089 at 64 bits, test mAP@1000 within the seed spread and mAP@all +0.07 to
    # +0.18 on each of three seeds at every length; benchmarks/RESULTS.md, "An ITQ code layer").  Other objectives
    # keep their trained layer: an ITQ layer on them is the 'itq+simclr' baseline row.  NAC's heads start centred
    # on a sample of the training images (head_centre; 2026-12-03): without it NAC at 128 bits sat at the loss's
    # chance level for half its steps and scored validation mAP@1000 0.438, with it 0.724; at 16 / 32 / 64 bits
    # validation moved by -0.005 / +0.001 / -0.003, inside the seed spread (benchmarks/RESULTS.md, "A centred start").
    # NAC's code head trains at 128 bits whatever the code's length (head_bits; 2026-12-03): validation mAP@1000
    # +0.005 / +0.010 / +0.005 at 16 / 32 / 64 bits over a head of the code's length, higher in all 9 seed-length
    # cells; a 256-bit head scored below the 128-bit one at every length (benchmarks/RESULTS.md, "A longer head").
    # Colour jitter of strength 0.8 instead of 0.4 (CATEGORY_VIEWS, above).
    "categories": {"views": CATEGORY_VIEWS, "objective_views": {"cibhash": ViewConfig()},
                   "code_layer": "itq-features", "head_centre": True, "head_bits": 128},
    # for finding copies: views that cover everyday edits (zoom-out, rotation, downscale), half of the
    # pairs (original, edited view) as in a copy search (clean_p), as many steps as the time budget allows
    # (the epoch count is a ceiling the budget reaches first), the DIM-DM-style prior toward uniform,
    # decorrelated bits, and each image standardised by its own mean and std (brightness/contrast changes
    # leave the input as it was); bf16 training on CPUs that run it natively, since the budget, not an epoch
    # count, ends the run (more steps; on the step-exact 'categories' recipe bf16 cost 0.006 test mAP@1000);
    # codes that a mirror cannot change (mirror_sum: u(x) + u(mirror x), encoding only).  The prior's
    # scale-free form (prior_normalise) left it on 2026-12-02: on the Fashion-MNIST copies' validation set
    # it collapsed crops and bordered copies (benchmarks/RESULTS.md, the Near-duplicates section of 2026-12-02).
    # The other view of the same image is not one of NAC's negatives (pair_negative False, since the second
    # part of that section): the loss no longer pushes a copy's code away from its original's.  The prior weighs
    # 4 (1 before; the third part of that section: the best mean of recall@1 and recall at the false-match budget
    # over both validation sets and two training seeds, 0.698 against 0.681).
    # Its code layer stays as trained: an ITQ layer lost on copies (recall@1 0.899 against 0.925 on the art
    # validation collection; the Near-duplicates section of 2026-12-02, second part).
    "copies": {"views": COPY_VIEWS, "epochs": 10_000, "prior_weight": 4.0, "pair_negative": False,
               "input_norm": "image", "cpu_bf16": True, "mirror_sum": True, "code_layer": "trained"},
}
COLLECTION_RECIPE = "copies"  # what build-index and train use unless told (--recipe); chosen on the
#                              near-duplicate validation collection (benchmarks/neardup/validation)
