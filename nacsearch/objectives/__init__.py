"""Training objectives; each is a plug-in for the one training loop."""
from __future__ import annotations

from nacsearch.config import ObjectiveConfig
from nacsearch.objectives.auxiliary import WithNTXent
from nacsearch.objectives.base import Objective
from nacsearch.objectives.cibhash import CIBHashLoss
from nacsearch.objectives.nac import NACLoss
from nacsearch.objectives.prior import WithPrior
from nacsearch.objectives.simclr import SimCLRLoss


def build_objective(cfg: ObjectiveConfig, bits: int | None = None) -> Objective:
    """The objective named by ``cfg.name``, with the auxiliary NT-Xent term and then the prior regulariser when their
    weights are > 0.
    ``bits`` (the code length) sizes NAC's code banks; it is needed only when ``cfg.bank`` or ``cfg.neighbours`` is > 0."""
    if cfg.name == "nac":
        obj: Objective = NACLoss(cfg.p, cfg.pair_negative, cfg.bank, bits, cfg.neighbours, cfg.neighbour_weight)
    elif cfg.name == "simclr":
        obj = SimCLRLoss(cfg.temperature)
    elif cfg.name == "cibhash":
        obj = CIBHashLoss(cfg.cib_temperature, cfg.cib_beta)
    elif cfg.name == "distillhash":
        raise ValueError("distillhash needs pseudo-labels: build it with nacsearch.eval.baselines.distillhash")
    else:
        raise ValueError(f"unknown objective {cfg.name!r}")
    if cfg.ntxent_weight > 0:
        obj = WithNTXent(obj, cfg.ntxent_weight, cfg.temperature)
    return WithPrior(obj, cfg.prior_weight, cfg.prior_normalise) if cfg.prior_weight > 0 else obj


__all__ = ["Objective", "NACLoss", "SimCLRLoss", "CIBHashLoss", "WithPrior", "WithNTXent", "build_objective"]
