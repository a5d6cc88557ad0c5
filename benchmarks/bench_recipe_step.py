"""Does the 2026-12 `copies` recipe cost more per training step than the 2026-11 one?

Median step time (20 steps after 3 warm-up steps) of the real trainer on random 3 x 32 px images for:
neither change, image normalisation only, image normalisation + the scale-free prior; rounds interleaved.
Usage: OMP_NUM_THREADS=1 python benchmarks/bench_recipe_step.py [ROUNDS]
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

from nacsearch.datasets.arrays import ArrayImages
from nacsearch.recipes import make_run_config

sys.path.insert(0, str(Path(__file__).parent))
from bench_train_step import step_times  # noqa: E402  (the one step timer)

SETTINGS = {"2026-11": ("dataset", False), "image-norm": ("image", False), "2026-12": ("image", True)}


def median_step_ms(norm: str, normalise: bool, data: ArrayImages) -> float:
    run = make_run_config(3, 32, recipe="copies", minutes=0, input_norm=norm, prior_normalise=normalise)
    return statistics.median(step_times(run, 20, data)) * 1000


if __name__ == "__main__":
    data = ArrayImages(np.random.default_rng(0).integers(0, 256, (512, 3, 32, 32), dtype=np.uint8))
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        print({name: round(median_step_ms(*cfg, data), 1) for name, cfg in SETTINGS.items()}, flush=True)
