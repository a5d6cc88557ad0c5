"""A memory bank of negatives: the relaxed codes of earlier steps, kept as extra candidates.

NAC's contrastive term is a softmax over candidate codes in which an image's own code (its
noisy channel output's source) is one of the candidates.  With a batch of B images there are
only 2B candidates, and while the relaxed codes tanh(u) sit well inside (-1, 1) the own code
holds most of the softmax's mass, so other images' codes get little of the gradient that pushes
them apart.  More candidates tighten the bound (it is at most log of their number) and give the
other images' codes more of that mass.  A bank (Wu et al., CVPR 2018; the queue of MoCo, He et
al., CVPR 2020, which the NAC reference code also has) supplies them without encoding more
images: the codes of the last ``size`` views, detached, so no gradient reaches an older step's
network.  On a collection of a few thousand images a bank of about a thousand codes covers a
large share of it, so each code is pushed away from codes of the whole collection, not only of its
batch.

The bank is training state: it is saved with the optimizer (``train_state.safetensors``) so that an
interrupted run resumes exactly.
"""
from __future__ import annotations

import torch
from torch import nn


class CodeBank(nn.Module):
    """First-in first-out store of the last ``size`` codes of ``bits`` entries (detached)."""

    def __init__(self, size: int, bits: int) -> None:
        super().__init__()
        if size < 1 or bits < 1:
            raise ValueError(f"a code bank needs size >= 1 and bits >= 1, got {size}, {bits}")
        self.register_buffer("codes", torch.zeros(size, bits))            # (size, bits)
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))  # codes pushed so far

    @property
    def size(self) -> int:
        return self.codes.shape[0]

    def stored(self) -> torch.Tensor:
        """(min(count, size), bits): a copy of the codes held now, in slot order (order does not matter to a
        softmax).  A copy, so that a later :meth:`push` cannot change what a loss's backward pass reads."""
        return self.codes[:min(int(self.count), self.size)].clone()

    @torch.no_grad()
    def push(self, c: torch.Tensor) -> None:
        """Store (n, bits) codes, overwriting the oldest; only the last ``size`` of a larger batch are kept."""
        if c.ndim != 2 or c.shape[1] != self.codes.shape[1]:
            raise ValueError(f"expected (n, {self.codes.shape[1]}) codes, got {tuple(c.shape)}")
        n = len(c)
        c = c[-self.size:].detach().to(self.codes.dtype)
        slots = (int(self.count) + n - len(c) + torch.arange(len(c), device=c.device)) % self.size
        self.codes[slots] = c
        self.count += n
