"""Does the 2026-12 `copies` recipe cost more per training step than the 2026-11 one?

Median step time (20 steps after 3 warm-up steps) of the real trainer on random 3 x 32 px images for:
neither change, image normalisation only, image normalisation + the scale-free prior; rounds interleaved.
Usage: OMP_NUM_THREADS=1 python benchmarks/bench_recipe_step.py [ROUNDS]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time

import numpy as np
import torch

from nacsearch.datasets.arrays import ArrayImages
from nacsearch.distributed import DistInfo
from nacsearch.recipes import make_run_config
from nacsearch.train import _make_plan, _Trainer

SETTINGS = {"2026-11": ("dataset", False), "image-norm": ("image", False), "2026-12": ("image", True)}


def median_step_ms(norm: str, normalise: bool, data: ArrayImages) -> float:
    run = make_run_config(3, 32, recipe="copies", minutes=0, input_norm=norm, prior_normalise=normalise)
    with tempfile.TemporaryDirectory() as out:
        t = _Trainer(run, data, out, torch.device("cpu"), DistInfo())
        plan, times = _make_plan(len(data), run, t.info), []
        for s in range(23):
            idx, x = t.batch(plan, s)
            t0 = time.perf_counter()
            t.step(x, idx, s, 1e-3)
            if s >= 3:
                times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    data = ArrayImages(np.random.default_rng(0).integers(0, 256, (512, 3, 32, 32), dtype=np.uint8))
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        print({name: round(median_step_ms(*cfg, data), 1) for name, cfg in SETTINGS.items()}, flush=True)
