"""A training budget: how many optimizer steps fit in ``TrainConfig.minutes`` on this device.

Before the first step the training loop times a few real steps (then undoes them: weights,
optimizer and BatchNorm statistics are restored), so the plan is made for the machine it runs
on.  A few seconds of timing can misjudge a long run on a shared machine (by up to 38 % measured here),
so the plan is made once more after :data:`REPLAN_AT` of it (at least :data:`REPLAN_MIN_STEPS`
steps), from the rate of the last 80 % of the steps run so far (start-up excluded): the learning rate
is then still warming up or within 3 % of its cosine peak, so moving the schedule's end changes it by
less than that.  The plan is recorded in the checkpoint
(``state.total_steps``, ``state.budget``); a resumed run keeps it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Budget:
    """A planned run: ``steps`` of ``step_s`` seconds each, chosen within ``minutes``."""

    minutes: float      # the budget asked for (0 = none)
    step_s: float       # measured seconds per optimizer step on this device
    full_steps: int     # what epochs / max_steps alone would run
    steps: int          # the plan: min(full_steps, what fits in the budget)

    @property
    def eta_s(self) -> float:
        return self.steps * self.step_s

    @property
    def bound(self) -> bool:
        """True when the time budget, not the epochs, decided the length."""
        return self.steps < self.full_steps

    def to_dict(self) -> dict:
        return {**asdict(self), "eta_s": round(self.eta_s, 1), "bound": self.bound}


def time_steps(run_step: Callable[[int], None], enough: Callable[[float], bool] = lambda s: False,
               seconds: float = 3.0, max_steps: int = 40, skip: int = 3) -> float:
    """Median seconds per call of ``run_step(i)`` for i = 0, 1, ...; the first ``skip`` calls
    (allocation, autotuning) are not counted, and the median ignores a call slowed by another
    process.  Stops after ``max_steps`` calls, after ``seconds``, or as soon as ``enough(median)``
    says the estimate cannot change the plan (at least 5 timed calls)."""
    times: list[float] = []
    start = time.perf_counter()
    for i in range(max_steps):
        t0 = time.perf_counter()
        run_step(i)
        times.append(time.perf_counter() - t0)
        if len(times) >= skip + 5 and (time.perf_counter() - start > seconds or enough(float(np.median(times[skip:])))):
            break
    return float(np.median(times[skip:] if len(times) > skip else times))


REPLAN_AT = 0.1          # share of the planned steps after which a budgeted run is planned again, from
REPLAN_FROM = 0.2        #   the rate of the steps after this share of those (start-up steps excluded)
REPLAN_MIN_STEPS = 200   # runs shorter than this are not re-planned (too few steps to time)


def replan_step(steps: int) -> int | None:
    """The step after which a budgeted plan of ``steps`` is made again, or None (too short)."""
    at = int(steps * REPLAN_AT)
    return at if at >= REPLAN_MIN_STEPS else None


def replan_timed_from(start: int, at: int) -> int:
    """The step from which the rate for the plan made after step ``at`` is timed, in a run (or a
    resumed run) that begins at step ``start < at``: past :data:`REPLAN_FROM` of its own steps before
    ``at``, so that start-up steps are never timed."""
    return start + int((at - start) * REPLAN_FROM)


def plan_budget(minutes: float, step_s: float, full_steps: int) -> Budget:
    """The number of steps that fit in ``minutes`` at ``step_s`` each, at most ``full_steps``, at least 1."""
    fit = int(minutes * 60 / max(step_s, 1e-9)) if minutes > 0 else full_steps
    return Budget(minutes, step_s, full_steps, max(1, min(full_steps, fit)))


def format_budget(b: Budget, batch: int, n: int, spe: int) -> str:
    """One line for the log: the plan, its ETA and what decided it."""
    why = f"the {b.minutes:g}-minute budget" if b.bound else "the epoch count"
    return (f"plan: {b.steps} steps of {batch} ({b.steps / spe:.1f} epochs of {n} images), "
            f"{b.step_s * 1000:.0f} ms/step measured, ETA {_clock(b.eta_s)} (set by {why})")


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{s:02d}s"
