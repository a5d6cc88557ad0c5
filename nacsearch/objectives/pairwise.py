"""Pairwise Bayesian likelihood of similarity labels given relaxed codes.

Used by the DistillHash-style baseline (Yang et al., CVPR 2019; the likelihood of
DPSH, Li et al., IJCAI 2016).  With relaxed codes b = tanh(u) and
theta_ij = 1/2 <b_i, b'_j> (i in view 1, j in view 2),

    p(s_ij = 1 | b_i, b'_j) = sigmoid(theta_ij),
    nll_ij = log(1 + exp(theta_ij)) - [s_ij = 1] theta_ij,

averaged separately over the similar and the dissimilar pairs of the batch and the two
means added (distilled similar pairs are ~1% of all pairs, so an unweighted mean is
almost all dissimilar pairs and the codes learn little beyond "spread out"), plus a
quantisation penalty lambda * mean (|b| - 1)^2 pulling b towards +-1.  Pair
labels come from a dense int8 matrix S (N, N) in {-1, 0, +1} (0 = no label); the two
views of the same image are always similar.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from nacsearch.objectives.base import Objective


class PairwiseLikelihoodLoss(Objective):
    needs_inference_head = False

    def __init__(self, pair_labels: torch.Tensor, quantization: float = 0.1) -> None:
        super().__init__()
        if pair_labels.ndim != 2 or pair_labels.shape[0] != pair_labels.shape[1]:
            raise ValueError("pair labels must be a square (N, N) matrix")
        self.register_buffer("labels", pair_labels.to(torch.int8), persistent=False)
        self.quantization = quantization

    def forward(self, out1, out2, generator=None, gather=None, index=None, **_) -> dict:
        if index is None:
            raise ValueError("the pairwise loss needs the batch's dataset indices")
        b1, b2 = torch.tanh(out1.u.float()), torch.tanh(out2.u.float())           # (B, d)
        s = self.labels[index][:, index].float()                                  # (B, B)
        s.fill_diagonal_(1.0)
        theta = 0.5 * b1 @ b2.T                                                    # (B, B)
        nll = F.softplus(theta) - (s > 0).float() * theta                         # (B, B)
        loss = nll[s > 0].mean()                                                    # diagonal is always similar
        if (s < 0).any():
            loss = loss + nll[s < 0].mean()
        quant = ((b1.abs() - 1) ** 2).mean() + ((b2.abs() - 1) ** 2).mean()
        return {"loss": loss + self.quantization * quant}
