"""Training-step time of the one training loop on this machine: the old fp32 contiguous layout, fp32
channels-last, and channels-last with bf16 autocast (``TrainConfig.cpu_bf16``, which the 'copies' recipe sets).

Times real steps of ``nacsearch.train``'s trainer (views, encoder, NAC loss with the prior, AdamW;
the 'copies' recipe at 64 bits, 3 x 32 px, batch 32) on random images, the settings interleaved
round by round so that all see the same machine state, and prints the median step time of each and
the ratios to the first as JSON.  ``cpu_bf16`` trains in bf16 only on CPUs with native bf16
kernels (elsewhere the third setting equals the second).  Run it alone: another busy process skews them all.

Usage: OMP_NUM_THREADS=2 python benchmarks/bench_train_step.py [--rounds 5] [--steps 30]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import torch

from nacsearch.datasets.arrays import ArrayImages
from nacsearch.device import cpu_has_native_bf16
from nacsearch.recipes import make_run_config
from nacsearch.plan import make_plan
from nacsearch.train import _Trainer
from nacsearch.distributed import DistInfo


SETTINGS = {"fp32-contiguous": (False, torch.contiguous_format), "fp32-channels-last": (False, torch.channels_last),
            "auto-channels-last": (True, torch.channels_last)}  # (cpu_bf16, layout); "auto": bf16 where native


def step_times(run, steps: int, data: ArrayImages, layout: torch.memory_format = torch.channels_last) -> list[float]:
    """Seconds per step of the real trainer for ``run`` (a RunConfig), after 3 warm-up steps."""
    with tempfile.TemporaryDirectory() as out:
        t = _Trainer(run, data, out, torch.device("cpu"), DistInfo())
        t.layout = layout
        t.model.to(memory_format=layout)
        plan = make_plan(len(data), run, t.info)
        times = []
        for s in range(steps + 3):
            idx, x = t.batch(plan, s)
            t0 = time.perf_counter()
            t.step(x, idx, s, 1e-3)
            if s >= 3:  # the first steps warm up kernels and allocator
                times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    data = ArrayImages(rng.integers(0, 256, (1024, 3, 32, 32), dtype=np.uint8))
    res: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, (cpu_bf16, layout) in SETTINGS.items():
            run = make_run_config(3, 32, bits=64, recipe="copies", minutes=0, cpu_bf16=cpu_bf16)
            res[name].append(statistics.median(step_times(run, args.steps, data, layout)) * 1000)
    med = {k: round(statistics.median(v), 1) for k, v in res.items()}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "native_bf16": cpu_has_native_bf16(), "median_ms_per_step": med,
                      "rounds_ms": {k: [round(x, 1) for x in v] for k, v in res.items()},
                      "speedup_vs_fp32_contiguous": {k: round(med["fp32-contiguous"] / v, 2) for k, v in med.items()}},
                     indent=1))


if __name__ == "__main__":
    main()
