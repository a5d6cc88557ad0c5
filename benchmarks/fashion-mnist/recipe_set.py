"""The standard protocol with recipe-level settings changed for every deep method alike.

``nacsearch eval --nac-set`` changes NAC's settings only; a setting of the net or its start (such as
``pool`` or ``head_centre``) should be the same for every learned method, so this script changes the
``categories`` recipe itself, in this process only, and runs the protocol as ``nacsearch eval`` does
(40 epochs, reports as it writes them).  ``EPOCHS=8 TRAIN_ON=database`` runs the transductive variant as
``transductive.sh`` does (8 epochs of the 69,000 database images).  ``MINUTES=M`` gives every fit a time budget of M
minutes (as many steps as fit it on this machine, capped by the epochs).
Usage: [EPOCHS=E] [TRAIN_ON=database] [MINUTES=M] OMP_NUM_THREADS=2 \
       python benchmarks/fashion-mnist/recipe_set.py OUT BITS SEED METHODS [KEY=VALUE ...]
e.g. ``recipe_set.py pool-grid2/64 64 0 nac,simclr,itq+simclr pool=grid2``.  VALUEs are JSON (else strings);
a key ``views.NAME`` sets a field of the recipe's ViewConfig (``views.erase_p=0.25``).
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sys

from nacsearch.config import ViewConfig, parse_settings
from nacsearch.named_recipes import RECIPE_KEYS, RECIPES
from nacsearch.eval.runner import run_eval


def recipe_with(recipe: dict, settings: dict) -> dict:
    """``recipe`` with ``settings`` applied; ``views.NAME`` keys replace fields of its views and of each objective's
    own views (validated)."""
    unknown = sorted(k for k in settings if not k.startswith("views.") and k not in RECIPE_KEYS)
    if unknown:  # make_run_config would never read them: refuse rather than run the defaults under another name
        raise ValueError(f"not a recipe setting: {unknown}; choose from {', '.join(RECIPE_KEYS)} or views.NAME")
    views = {k.removeprefix("views."): v for k, v in settings.items() if k.startswith("views.")}
    out = {**recipe, **{k: v for k, v in settings.items() if not k.startswith("views.")}}
    if views:
        out["views"] = dataclasses.replace(recipe.get("views", ViewConfig()), **views)
        out["objective_views"] = {k: dataclasses.replace(v, **views)
                                  for k, v in recipe.get("objective_views", {}).items()}
    return out


def main(out: str, bits: int, seed: int, methods: list[str], settings: dict) -> None:
    RECIPES["categories"] = recipe_with(RECIPES["categories"], settings)   # this process only
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.info("categories recipe: %s", RECIPES["categories"])
    run_eval("fashion-mnist:/usr/share/datasets/fashion-mnist", [bits], methods, out, device="cpu",
             epochs=int(os.environ.get("EPOCHS", 40)), seed=seed, train_on=os.environ.get("TRAIN_ON", "train"),
             minutes=float(os.environ["MINUTES"]) if os.environ.get("MINUTES") else None)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), parse_settings(sys.argv[5:]))
