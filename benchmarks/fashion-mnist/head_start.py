"""NAC's start, with and without centred heads (ModelConfig.head_centre): why 128-bit NAC stalled.

Images: a seeded sample of 5,000 of Fashion-MNIST's 70,000.
Part 1, at initialisation: the code pre-activations u of 256 of them (train-mode BatchNorm, as in a
training step) split into the part common to all images (the mean over images, per bit) and the part that
differs between images (the std over images, per bit), and the bit balance of the codes
(nacsearch.codes.bit_balance: 1 = every bit is on for half the images, 0 = every image has the same code).
Part 2, the first steps: NAC of RECIPE (default categories) trained for STEPS steps (a cosine schedule over those
steps, one warm-up epoch), loss and the same bit balance on a training batch every 100 steps; chance is
ln(2 * batch) = ln 64 (the copies recipe's loss adds its prior term, so its chance level is not ln 64).
Usage: OMP_NUM_THREADS=2 python benchmarks/fashion-mnist/head_start.py [BITS] [STEPS] [RECIPE]
(defaults 128, 1200, categories)
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import dataclasses
import math
import sys
import tempfile

import numpy as np
import torch

from nacsearch import codes as C
from nacsearch.models import HashEncoder
from nacsearch.recipes import load_training_data, make_run_config
from nacsearch.train import train

SPEC = "fashion-mnist:/usr/share/datasets/fashion-mnist"


def start_stats(data, bits: int, centre: bool) -> dict:
    """Statistics of u at initialisation (seed 0) on 256 training images."""
    run = make_run_config(data.channels, data.image_size, bits=bits, head_centre=centre)
    torch.manual_seed(0)
    model = HashEncoder(run.model)
    x = torch.from_numpy(data.images[np.random.default_rng(1).choice(len(data), 256, replace=False)]).float() / 255
    if centre:
        model.centre_heads(x)
    model.train()
    with torch.no_grad():
        u = model(x).u                                                         # (256, bits)
    return {"bits": bits, "centred": centre, "mean_abs_u": round(float(u.abs().mean()), 4),
            "common": round(float(u.mean(0).abs().mean()), 4), "per_image_std": round(float(u.std(0).mean()), 4),
            "balance": round(C.bit_balance(C.encode_preactivations(u.numpy()))["mean_balance"], 3)}


def first_steps(data, bits: int, steps: int, centre: bool, recipe: str) -> list[tuple[int, float, float]]:
    """(step, loss, bit balance) every 100 steps of a short seeded run."""
    run = make_run_config(data.channels, data.image_size, bits=bits, head_centre=centre, code_layer="trained",
                          minutes=0, max_steps=steps, recipe=recipe, epochs=40)
    run = dataclasses.replace(run, train=dataclasses.replace(run.train, checkpoint_every=100))
    with tempfile.TemporaryDirectory() as out:
        res = train(run, data, out, device="cpu", progress=False)
    return [(h["step"], round(h["loss"], 4), h["balance"]) for h in res.history]


def main(bits: int = 128, steps: int = 1200, recipe: str = "categories") -> None:
    torch.set_num_threads(2)
    data = load_training_data(SPEC, progress=False, max_images=5000, seed=0)
    for b in sorted({16, 64, bits}) if recipe == "categories" else ():
        for centre in (False, True):
            print(start_stats(data, b, centre), flush=True)
    print(f"chance: ln 64 = {math.log(64):.4f}")
    for centre in (False, True):
        print({"recipe": recipe, "bits": bits, "centred": centre,
               "steps": first_steps(data, bits, steps, centre, recipe)}, flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]), *sys.argv[3:4])
