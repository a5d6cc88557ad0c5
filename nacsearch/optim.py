"""Optimisers and the learning-rate schedule used by the training loop."""
from __future__ import annotations

import math

import torch
from torch import nn

from nacsearch.config import TrainConfig


class LARS(torch.optim.Optimizer):
    """Layer-wise Adaptive Rate Scaling (You, Gitman, Ginsburg 2017), as in the NAC/SimCLR references.

    For weight matrices the update is scaled by ``trust * ||w|| / (||g|| + wd ||w||)``;
    biases and BatchNorm parameters (1-D) get neither adaptation nor weight decay.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float = 1e-3) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, trust=trust_coefficient))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if p.ndim > 1:
                    g = g.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.norm(p), torch.norm(g)
                    q = torch.where((w_norm > 0) & (g_norm > 0), group["trust"] * w_norm / g_norm,
                                    torch.ones_like(w_norm))
                    g = g.mul(q)
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(g)
                p.add_(buf, alpha=-group["lr"])
        return None


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW (default), LARS or SGD; no weight decay on biases and norm parameters."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    return LARS(groups, lr=cfg.lr, momentum=0.9)


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up over ``warmup`` steps then cosine decay to 0 at ``total``."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
