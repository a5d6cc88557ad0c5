"""Projection heads on top of the backbone feature h (Park et al., ICML 2021, Sec. 3).

* :class:`CodeHead` -- Linear(D, H) + ReLU + Linear(H, d); its output divided by
  sqrt(d) is the pre-activation u of the last linear layer.  The **activation
  code** is the sign pattern of u (see :mod:`nacsearch.codes`); the hidden ReLU
  layer is not part of the code.
* :class:`InferenceHead` -- same shape; its output (also / sqrt(d)) are the
  logits l of a factorised Bernoulli model q(c' | x) = prod_k sigmoid(l_k)^[c'_k=+1]
  (1 - sigmoid(l_k))^[c'_k=-1] of the *other* view's code.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class _MLPHead(nn.Module):
    def __init__(self, dim_in: int, hidden: int, bits: int, gain: float = 1.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim_in, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, bits))
        with torch.no_grad():
            self.net[2].weight.mul_(gain)  # the scale of u at init (ModelConfig.head_gain)
        self.scale = 1.0 / math.sqrt(bits)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h) * self.scale  # (B, bits)

    @torch.no_grad()
    def centre(self, y: torch.Tensor) -> None:
        """Shift the last layer's bias so that this head's outputs y (N, bits) would average 0."""
        self.net[2].bias -= y.float().mean(dim=0) / self.scale  # y = net(h) * scale


class CodeHead(_MLPHead):
    """h (B, D) -> code pre-activations u (B, bits)."""


class InferenceHead(_MLPHead):
    """h (B, D) -> Bernoulli logits l (B, bits) for the other view's code."""
