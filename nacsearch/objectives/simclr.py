"""SimCLR's NT-Xent loss on the code head (Chen et al., ICML 2020) -- NAC's ablation.

Codes are L2-normalised pre-activations z = u / ||u||; similarities z_i . z_j / T
over the 2B views with the self-similarity masked out; the positive of view i
is the other view of the same image.  The hash is still sign(u).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from nacsearch.objectives.base import Objective


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float, gather=None) -> torch.Tensor:
    """NT-Xent of two views' vectors (B, d) each: cosine similarities / T over the 2B rows
    (gathered over processes when ``gather`` is set), self-pairs masked, the other view of the
    same image as the positive; mean over the 2B rows."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)                 # (2B, d)
    n = z.shape[0]
    b = n // 2
    z_all, offset = (gather(z), gather.rank * n) if gather is not None else (z, 0)
    sim = z @ z_all.T / temperature                                     # (2B, 2B * world)
    rows = torch.arange(n, device=z.device)
    sim[rows, rows + offset] = float("-inf")                            # no self-pairs
    target = (rows + b) % n + offset                                    # the other view
    return F.cross_entropy(sim, target)


class SimCLRLoss(Objective):
    """NT-Xent over two views; mean over the 2B rows."""

    needs_inference_head = False

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.temperature = temperature

    def forward(self, out1, out2, generator: torch.Generator | None = None, gather=None, **_) -> dict:
        return {"loss": nt_xent(out1.u, out2.u, self.temperature, gather)}
