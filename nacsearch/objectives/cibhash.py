"""CIBHash-style contrastive information-bottleneck hashing (Qiu, Su, Li, Yang, IJCAI 2021).

Each view's code head gives bit probabilities q = sigmoid(u).  A **stochastic binary code**
is drawn per bit, b = +1 with probability q and -1 otherwise, written as
b = sign(q - e) with e ~ U(0, 1), and trained with the **straight-through estimator**:
the forward pass uses b, the backward pass treats d b / d q as the identity.  The loss is

    NT-Xent(b^(1), b^(2); T)  +  beta * 1/2 [KL(q^(1) || sg q^(2)) + KL(q^(2) || sg q^(1))],

the contrastive term between the two views' binary codes (cosine similarity; for +-1
codes <b, b'> / d), and the bottleneck term: each bit's Bernoulli posterior is pulled
towards the other view's (stop-gradient ``sg`` on the target), summed over bits and
averaged over images.  Hashing is sign(u) = sign(q - 1/2), the same rule as every method.

Differences from the paper: no ImageNet-pretrained VGG-16 (nothing is downloaded here;
the project's encoder is trained from scratch), the project's views and training loop,
and its code head (``ModelConfig.head_gain``; :func:`nacsearch.recipes.make_run_config` starts
CIBHash at gain 1, the default initialisation, so q is not saturated at the start).
T = 0.3 and beta = 0.001 are the paper's defaults.
"""
from __future__ import annotations

import torch

from nacsearch.objectives.base import Objective
from nacsearch.objectives.simclr import nt_xent

_EPS = 1e-8


class _SignST(torch.autograd.Function):
    """sign(x) forward (+1 at 0), identity backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def stochastic_code(q: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, d) probabilities -> (N, d) codes in {-1, +1}, +1 with probability q; gradient
    straight through to q.  The uniforms are drawn on the CPU generator (exact resume)."""
    e = torch.rand(tuple(q.shape), generator=generator).to(q.device, q.dtype)
    return _SignST.apply(q - e)


def bernoulli_kl(q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, d), (N, d) -> (N,): sum over bits of KL(Bernoulli(q) || Bernoulli(target)), target detached."""
    t = target.detach()
    kl = q * (torch.log(q + _EPS) - torch.log(t + _EPS)) + \
        (1 - q) * (torch.log(1 - q + _EPS) - torch.log(1 - t + _EPS))
    return kl.sum(dim=1)


class CIBHashLoss(Objective):
    """Contrastive loss on stochastic binary codes + beta * symmetric Bernoulli KL."""

    needs_inference_head = False

    def __init__(self, temperature: float = 0.3, beta: float = 0.001) -> None:
        super().__init__()
        if temperature <= 0 or beta < 0:
            raise ValueError("temperature must be positive and beta >= 0")
        self.temperature, self.beta = temperature, beta

    def forward(self, out1, out2, generator: torch.Generator | None = None, gather=None, **_) -> dict:
        q1, q2 = torch.sigmoid(out1.u.float()), torch.sigmoid(out2.u.float())   # (B, d) each
        b1, b2 = stochastic_code(q1, generator), stochastic_code(q2, generator)  # (B, d) in {-1, +1}
        contrast = nt_xent(b1, b2, self.temperature, gather)
        kl = 0.5 * (bernoulli_kl(q1, q2) + bernoulli_kl(q2, q1)).mean()
        return {"loss": contrast + self.beta * kl, "kl": kl.detach()}
