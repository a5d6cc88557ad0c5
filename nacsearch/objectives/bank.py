"""A memory bank of negatives: the relaxed codes of earlier steps, kept as extra candidates.

NAC's contrastive term is a softmax over candidate codes that pushes an image's code away from the
other candidates, the nearest ones most.  With a batch of B images there are only 2B candidates,
and the nearest neighbours of a code in a collection are rarely among them (a batch of 32 holds
3 % of a 1,000-image collection).  A bank (Wu et al., CVPR 2018; the queue of MoCo, He et al., CVPR
2020, which the NAC reference code also has) adds the codes of the last ``size`` views, detached
(no gradient reaches an older step's network), without encoding more images: on a collection of a
few thousand images a bank of about a thousand codes covers much of it, so a code meets its
nearest neighbours in nearly every step.

The loss weights the bank's codes so that together they count as much as the batch's own
(:class:`nacsearch.objectives.nac.NACLoss`).  Unweighted, a bank of 1,024 codes collapsed: by step
120 every relaxed code sat at 0 and the loss at log(1,087), where it stayed; with a thousand
candidates the logsumexp is lowest when all relaxed codes shrink to 0, and the inference head's
term could not outweigh that (``benchmarks/RESULTS.md``, the near-duplicate section of 2026-12-02, third part).

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
