"""Neural Activation Coding loss (Park, Lee, Kim, Blei, ICML 2021, arXiv 2112.04014).

NAC maximises a contrastive lower bound on the mutual information between an
image x and its activation code c(x) in {-1, +1}^d sent through a **binary
symmetric channel** (BSC) that flips each entry with probability p.

*Why kappa = 1/2 log((1 - p) / p).*  For +-1 codes, entry k survives the channel
with probability 1 - p and flips with probability p, and [c_hat_k = c_k] =
(1 + c_hat_k c_k) / 2, so

    log p(c_hat | c) = sum_k (1 + c_hat_k c_k)/2 log(1 - p) + (1 - c_hat_k c_k)/2 log p
                     = d/2 log(p (1 - p)) + kappa * <c_hat, c>.

The first term is the same for every candidate c, so it cancels inside the
softmax over candidates: the critic is kappa times the inner product.

*Why the positive term is log q(c_hat | x') + d log 2.*  The inference head gives
logits l (q = sigmoid(l)) of a factorised Bernoulli over bits b = (c_hat + 1)/2:

    log q(c_hat | x') = sum_k b_k log q_k + (1 - b_k) log(1 - q_k)
                      = 1/2 sum_k [c_hat_k l_k + log(q_k (1 - q_k))],

and adding d log 2 = -1/2 sum_k log(1/4) gives the reference's form
1/2 sum_k [c_hat_k l_k + log(q_k (1 - q_k)) - log 1/4]: the log-likelihood
ratio against a uniform prior over codes.

Training uses the tanh relaxation c = tanh(u) of the sign code; the noisy code
is c_hat = m * c with m = +-1 (-1 with probability p), fresh each step.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from nacsearch.objectives.bank import CodeBank
from nacsearch.objectives.base import Objective


def bsc_mask(shape: tuple[int, ...], p: float, device: torch.device,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Channel noise m in {-1, +1} of ``shape``: -1 with probability ``p``. Drawn on the CPU generator."""
    r = torch.rand(shape, generator=generator)
    return torch.where(r < p, -1.0, 1.0).to(device)


def positive_term(c_hat: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """(N, d) noisy codes, (N, d) logits -> (N,) log q(c_hat | x') + d log 2."""
    log_q1mq = F.logsigmoid(logits) + F.logsigmoid(-logits)  # log(q (1 - q)), stable
    return 0.5 * (c_hat * logits + log_q1mq + math.log(4.0)).sum(dim=1)


class NACLoss(Objective):
    """NAC objective over two views; returns mean over the 2B rows of -positive + logsumexp(negatives).

    Negatives: logits_ij = kappa * <c_hat_i, c_j> over all 2B (gathered) codes j, the
    diagonal included as in the reference.  The reference also counts the other view of the same
    image among them, which pushes the two views' codes apart by a few bits; with
    ``pair_negative=False`` that one code is left out, so only other images' codes repel.
    With ``bank > 0`` the relaxed codes of the last ``bank`` views (earlier steps, detached; see
    :mod:`nacsearch.objectives.bank`) are further negatives, weighted so that together they count as
    much as the batch's codes: logits_ij = kappa * <c_hat_i, b_j> + log(2B * world / stored).
    This step's codes join the bank after the loss is computed, so a code never meets itself there.

    With ``neighbours > 0`` a second bank, the support set, holds the last ``neighbours`` relaxed codes
    (detached).  Each row's positive term becomes ``(1 - w) log q(c_hat_i | x'_i) + w log q(s_hat_i | x'_i)``
    where s_i is the stored code with the largest inner product with c_i and s_hat_i = m_i * s_i (the same
    channel noise): the other view's head must also predict the code of another image near this one, a
    neighbour as positive (NNCLR, Dwibedi et al., ICCV 2021).  NNCLR replaces the positive outright; here the
    view's own code keeps weight 1 - w, because NAC's code layer is pulled only through that term (the
    negatives anchor on c_hat_i).  Until the support set holds a code, the positive is the plain one.
    """

    needs_inference_head = True

    def __init__(self, p: float, pair_negative: bool = True, bank: int = 0, bits: int | None = None,
                 neighbours: int = 0, neighbour_weight: float = 0.5) -> None:
        super().__init__()
        if not 0 < p < 0.5:
            raise ValueError(f"p must be in (0, 0.5), got {p}")
        if (bank or neighbours) and bits is None:
            raise ValueError("a code bank needs the code length (bits)")
        if not 0 < neighbour_weight <= 1:
            raise ValueError(f"neighbour_weight must be in (0, 1], got {neighbour_weight}")
        self.p, self.pair_negative, self.neighbour_weight = p, pair_negative, neighbour_weight
        self.kappa = 0.5 * math.log((1 - p) / p)
        self.bank = CodeBank(bank, bits) if bank else None
        self.support = CodeBank(neighbours, bits) if neighbours else None

    def forward(self, out1, out2, generator: torch.Generator | None = None, gather=None, **_) -> dict:
        if out1.logits is None or out2.logits is None:
            raise ValueError("NAC needs the inference head's logits")
        c = torch.tanh(torch.cat([out1.u, out2.u]).float())            # (2B, d)
        m = bsc_mask(tuple(c.shape), self.p, c.device, generator)       # (2B, d)
        c_hat = m * c                                                   # (2B, d)
        c_all, offset = (gather(c), gather.rank * len(c)) if gather is not None else (c, 0)  # (2B * world, d)
        logits = self.kappa * c_hat @ c_all.T                           # (2B, 2B * world)
        if not self.pair_negative:                                      # drop the other view of the same image
            rows = torch.arange(len(c), device=c.device)
            logits = logits.index_put((rows, (rows + len(c) // 2) % len(c) + offset),
                                      torch.tensor(float("-inf"), device=c.device))
        if self.bank is not None:                                       # (2B, 2B * world + stored)
            stored = self.bank.stored()                                 # together they weigh as much as c_all
            if len(stored):
                weight = math.log(len(c_all) / len(stored))
                logits = torch.cat([logits, self.kappa * c_hat @ stored.T + weight], dim=1)
            self.bank.push(c_all)
        other = torch.cat([out2.logits, out1.logits]).float()           # (2B, d) the other view's head
        pos = positive_term(c_hat, other)                               # (2B,)
        if self.support is not None:
            pos = self._with_neighbours(pos, c, m, other)
            self.support.push(c_all)
        loss = (-pos + torch.logsumexp(logits, dim=1)).mean()
        return {"loss": loss, "positive": pos.mean().detach()}

    def _with_neighbours(self, pos: torch.Tensor, c: torch.Tensor, m: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """(2B,) plain positive terms -> mixed with the neighbour's: (1 - w) pos + w log q(m * s | x')."""
        stored = self.support.stored()                                  # (S, d), detached
        if not len(stored):
            return pos
        nearest = (c.detach() @ stored.T).argmax(dim=1)                 # (2B,) largest inner product
        s_hat = m * stored[nearest]                                     # (2B, d)
        w = self.neighbour_weight
        return (1 - w) * pos + w * positive_term(s_hat, other)
