"""Four changes to NAC's training, tried in this process only by replacing one piece of the package (not options).

  linear-head  NAC's trained code head is one linear layer on the backbone features (no hidden ReLU layer), so the
               objective shapes features to be binarised by a linear map, as the ITQ code layer later does
  fnc-K        false-negative cancellation (Huynh et al., WACV 2022, elimination): each row's K most similar codes of
               other images are left out of its negatives, as likely same-class images
  pos-W        the positive term (log q of the other view's noisy code) weighs W against the negatives' log-sum-exp
               instead of 1, which the mutual-information bound sets (W > 1 pulls the views' codes together harder)
  aux-W        plus W times SimCLR's NT-Xent (temperature 0.2) on a projection of the backbone features (an MLP of
               the SimCLR baseline's shape, 64 outputs, trained with the encoder and dropped after training): NAC's
               critic is sharp (its self-logit is about 131, so mostly near-duplicate negatives get gradient), and
               the softer term spreads the gradient over more negatives, as SimCLR's does

64 bits, seed 0 (the split of grid seed 0), 40 epochs, NAC only; decisions on the report's validation column.
Usage: OMP_NUM_THREADS=2 python benchmarks/fashion-mnist/nac_probes.py OUT BITS linear-head|fnc-K|pos-W|aux-W
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import logging
import math
import sys

import torch
from torch import nn

import nacsearch.models.encoder as encoder
import nacsearch.objectives.nac as nac
import nacsearch.train as train
from nacsearch.eval.runner import run_eval
from nacsearch.models.heads import CodeHead
from nacsearch.named_recipes import RECIPES
from nacsearch.objectives import Objective, WithNTXent, build_objective
from nacsearch.objectives.auxiliary import PROJECTION_DIM
from nacsearch.optim import build_optimizer

TRAIN_BITS = RECIPES["categories"]["head_bits"]  # the trained head's length; the code head (fitted by ITQ) keeps its MLP


class LinearHead(CodeHead):
    """h (B, D) -> u (B, bits) by one linear layer (kept at index 2 of ``net``, where ``centre`` and the gain act)."""

    def __init__(self, dim_in: int, hidden: int, bits: int, gain: float = 1.0) -> None:
        super().__init__(dim_in, hidden, bits, gain)
        last = nn.Linear(dim_in, bits)
        with torch.no_grad():
            last.weight.mul_(gain)
        self.net = nn.Sequential(nn.Identity(), nn.Identity(), last)


def linear_head(dim_in: int, hidden: int, bits: int, gain: float = 1.0) -> CodeHead:
    return (LinearHead if bits == TRAIN_BITS else CodeHead)(dim_in, hidden, bits, gain)


def fnc_forward(k: int):
    """NACLoss.forward without bank, neighbours or gather, its K nearest other-image codes per row masked."""
    def forward(self, out1, out2, generator=None, gather=None, **_) -> dict:
        c = torch.tanh(torch.cat([out1.u, out2.u]).float())             # (2B, d)
        c_hat = nac.bsc_mask(tuple(c.shape), self.p, c.device, generator) * c
        logits = self.kappa * c_hat @ c.T                               # (2B, 2B)
        n, rows = len(c), torch.arange(len(c))
        with torch.no_grad():
            sim = c @ c.T
            sim[rows, rows] = sim[rows, (rows + n // 2) % n] = -math.inf  # never the row itself or its pair
            nearest = sim.topk(k, dim=1).indices                        # (2B, k)
        logits = logits.masked_fill(torch.zeros_like(logits, dtype=torch.bool).scatter_(1, nearest, True), -math.inf)
        pos = nac.positive_term(c_hat, torch.cat([out2.logits, out1.logits]).float())
        return {"loss": (-pos + torch.logsumexp(logits, dim=1)).mean(), "positive": pos.mean().detach()}
    return forward


def weighted(term, w: float):
    """``term`` (the positive term of nacsearch.objectives.nac) times ``w``."""
    return lambda c_hat, logits: w * term(c_hat, logits)


class ProjectedHere(WithNTXent):
    """The package's NT-Xent term with the projection head in this objective instead of the encoder (the model is
    built without one), so training must optimise it: ``z = proj(h)`` for each view."""

    projection_dim = 0

    def __init__(self, inner: Objective, dim: int, w: float, temperature: float = 0.2) -> None:
        super().__init__(inner, w, temperature)
        self.proj = CodeHead(dim, dim, PROJECTION_DIM)

    def forward(self, out1, out2, **kw) -> dict:
        return super().forward(out1._replace(z=self.proj(out1.h)), out2._replace(z=self.proj(out2.h)), **kw)


def with_ntxent(w: float) -> None:
    """Make nacsearch.train build ProjectedHere and optimise its projection with the model."""
    made: list[ProjectedHere] = []

    def objective(cfg, bits):
        made.append(ProjectedHere(build_objective(cfg, bits), 8 * 16, w))  # the 'small' backbone at width 16
        return made[-1]

    train.build_objective = objective
    train.build_optimizer = lambda model, cfg: build_optimizer(nn.ModuleList([model, made[-1]]), cfg)


def main(out: str, bits: int, change: str) -> None:
    if change == "linear-head":
        encoder.CodeHead = linear_head
    elif change.startswith("fnc-"):
        nac.NACLoss.forward = fnc_forward(int(change.removeprefix("fnc-")))
    elif change.startswith("pos-"):
        nac.positive_term = weighted(nac.positive_term, float(change.removeprefix("pos-")))
    elif change.startswith("aux-"):
        with_ntxent(float(change.removeprefix("aux-")))
    else:
        sys.exit(__doc__)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_eval("fashion-mnist:/usr/share/datasets/fashion-mnist", [bits], ["nac"], out, device="cpu", epochs=40, seed=0)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
