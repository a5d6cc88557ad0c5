"""The step plan of a training run: steps per epoch, total steps, warm-up, checkpoint and log cadence,
and each epoch's data order.  Pure arithmetic on the config and the data size, so a resumed run or a
budgeted one (:mod:`nacsearch.budget` decides ``total``) lays its steps out exactly as a fresh one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nacsearch.config import RunConfig
from nacsearch.distributed import DistInfo

MAX_LOG_LINES = 40  # progress lines on stderr per run (checkpoints are still written every epoch)


def epoch_order(n: int, seed: int, epoch: int, info: DistInfo) -> np.ndarray:
    """This process's share of epoch ``epoch``'s order of ``n`` images: a permutation seeded by (seed, epoch)."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[info.rank::info.world]


@dataclass(frozen=True)
class StepPlan:
    """How a run's steps are laid out (all counts per process)."""

    n: int          # training images
    batch: int      # images per process per step
    spe: int        # steps per epoch
    total: int      # steps in the run
    warm: int       # warm-up steps
    every: int      # steps between checkpoints
    log_every: int  # steps between log lines: a multiple of ``every``, at most ~40 lines a run


def make_plan(n: int, run: RunConfig, info: DistInfo, total: int | None = None) -> StepPlan:
    """The step plan from epochs and ``max_steps``; ``total`` (a budgeted or resumed plan) overrides both."""
    cfg = run.train
    b = min(cfg.batch_size, n // info.world)
    if b < 2:
        raise ValueError(f"need at least 2 images per process, have {n}")
    spe = max(1, (n // info.world) // b)
    full = cfg.epochs * spe if not cfg.max_steps else min(cfg.max_steps, cfg.epochs * spe)
    total = full if total is None else max(1, min(total, full))
    warm = int(cfg.warmup_epochs * spe)
    if total < full:  # a budget cut the run short: keep warm-up to at most half of it so the lr still decays
        warm = min(warm, total // 2)
    every = cfg.checkpoint_every or spe
    log_every = every * max(1, -(-total // (every * MAX_LOG_LINES)))
    return StepPlan(n, b, spe, total, warm, every, log_every)
