"""Training objectives; each is a plug-in for the one training loop."""
from __future__ import annotations

from nacsearch.config import ObjectiveConfig
from nacsearch.objectives.base import Objective
from nacsearch.objectives.nac import NACLoss
from nacsearch.objectives.simclr import SimCLRLoss


def build_objective(cfg: ObjectiveConfig) -> Objective:
    """The objective named by ``cfg.name``."""
    if cfg.name == "nac":
        return NACLoss(cfg.p)
    if cfg.name == "simclr":
        return SimCLRLoss(cfg.temperature)
    if cfg.name == "distillhash":
        raise ValueError("distillhash needs pseudo-labels: build it with nacsearch.eval.baselines.distillhash")
    raise ValueError(f"unknown objective {cfg.name!r}")


__all__ = ["Objective", "NACLoss", "SimCLRLoss", "build_objective"]
