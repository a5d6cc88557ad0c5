"""A DIM-DM-style prior-matching regulariser: relaxed codes toward uniform, decorrelated bits.

DIM (Hjelm et al., ICLR 2019) matches its representation's distribution to a prior with an
adversarial discriminator; for codes, the natural prior is uniform on {-1, +1}^d, whose bits
have mean 0 and are uncorrelated.  This regulariser matches those first two moments directly
(no discriminator), on the relaxed codes c = tanh(u) of a batch (N, d):

    balance     = 1/d sum_k (1/N sum_i c_ik)^2                 (each bit used half the time)
    decorrelate = 1/(d(d-1)) sum_{k != l} (1/N sum_i c_ik c_il)^2  (bits carry different information)

Both are 0 for codes drawn from the prior in the limit N -> infinity.  The noise-injection half
of "noise-injected DIM" is NAC's binary symmetric channel itself.  The regulariser wraps any
objective: ``loss + weight * (balance + decorrelate)`` over both views.

Both moments shrink with the codes' magnitude, so the penalty can also be lowered by pulling
every tanh(u) toward 0, i.e. toward the decision boundary, where any edit flips bits.  With
``normalise=True`` each bit's column is first divided by its root mean square over the batch
(the moments of c_k / sqrt(mean_i c_ik^2)): the penalty then depends only on the signs' balance
and the bits' correlations, not on their scale.
"""
from __future__ import annotations

import torch

from nacsearch.objectives.base import Objective


def prior_penalty(c: torch.Tensor, normalise: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, d) relaxed codes -> (balance, decorrelate), two scalars (see the module doc)."""
    n, d = c.shape
    if normalise:
        c = c / c.pow(2).mean(dim=0, keepdim=True).add(1e-8).sqrt()     # (N, d), each column of RMS 1
    balance = c.mean(dim=0).pow(2).mean()
    second = c.T @ c / n                                                 # (d, d)
    off = ~torch.eye(d, dtype=torch.bool, device=c.device)
    decorrelate = second[off].pow(2).mean() if d > 1 else c.new_zeros(())
    return balance, decorrelate


class WithPrior(Objective):
    """``inner``'s loss plus ``weight`` x the prior penalty of tanh(u) over both views."""

    def __init__(self, inner: Objective, weight: float, normalise: bool = False) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError("prior weight must be >= 0")
        self.inner, self.weight, self.normalise = inner, weight, normalise
        self.needs_inference_head, self.projection_dim = inner.needs_inference_head, inner.projection_dim

    def forward(self, out1, out2, **kw) -> dict:
        res = dict(self.inner(out1, out2, **kw))
        c = torch.tanh(torch.cat([out1.u, out2.u]).float())                 # (2B, d)
        balance, decorrelate = prior_penalty(c, self.normalise)
        res["loss"] = res["loss"] + self.weight * (balance + decorrelate)
        res["balance"], res["decorrelate"] = balance.detach(), decorrelate.detach()
        return res
