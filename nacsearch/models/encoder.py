"""The hashing encoder: normalisation -> backbone -> code head (+ inference head)."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nacsearch.config import ModelConfig
from nacsearch.models.backbones import build_backbone
from nacsearch.models.heads import CodeHead, InferenceHead


MIN_IMAGE_STD = 0.02  # floor of an image's std under input_norm='image' (about 5 of 255 grey levels)


class EncoderOutput(NamedTuple):
    h: torch.Tensor                   # (B, D) backbone features (the continuous representation)
    u: torch.Tensor                   # (B, train_bits) pre-activations of the trained code head; code = u > 0
    logits: torch.Tensor | None       # (B, train_bits) inference-head logits, or None
    z: torch.Tensor | None = None     # (B, projection) the projection head's output (a training-time part), or None


class HashEncoder(nn.Module):
    """Maps images in [0, 1] of shape (B, C, H, W) to features, code pre-activations and logits.

    ``forward`` (training) gives the trained heads' outputs, ``preactivations`` the code's.  They are the same head
    unless ``cfg.head_bits`` differs from ``cfg.bits``: then the objective trains ``train_head`` (head_bits long) and
    ``code_head`` (bits long) is the ITQ code layer fitted after training (nacsearch.code_layer).
    """

    def __init__(self, cfg: ModelConfig, inference_head: bool = True, projection: int = 0) -> None:
        """``projection`` > 0 adds a projection head of that many outputs on the features, for an objective's
        auxiliary NT-Xent term (:mod:`nacsearch.objectives.auxiliary`); like the inference head it never touches a code."""
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg)
        dim = self.backbone.feature_dim
        hidden = cfg.hidden or dim
        bits = cfg.train_bits
        fitted_only = bits != cfg.bits  # the code head is fitted after training, and another head is trained
        with torch.random.fork_rng(devices=[], enabled=fitted_only):  # then the code head draws nothing: the rest
            # starts as in a model of head_bits; a fitted-only head is the ITQ layer on the features (hidden = dim)
            self.code_head = CodeHead(dim, dim if fitted_only else hidden, cfg.bits, cfg.head_gain)
        self.train_head = CodeHead(dim, hidden, bits, cfg.head_gain) if fitted_only else None
        self.code_head.requires_grad_(not fitted_only)  # a fitted-only head: no gradients, no weight decay
        self.inference_head = InferenceHead(dim, hidden, bits, cfg.head_gain) if inference_head else None
        self.projection = CodeHead(dim, dim, projection) if projection > 0 else None
        # LoCo: heads on the first stages (the last stage's heads are the code/inference heads above)
        self.local_heads = nn.ModuleList(
            nn.ModuleList([CodeHead(d, d, bits, cfg.head_gain)]
                          + ([InferenceHead(d, d, bits, cfg.head_gain)] if inference_head else []))
            for d in self.backbone.stage_dims[:-1]) if cfg.loco else None
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, stages: bool = False) -> EncoderOutput | list[EncoderOutput]:
        """One output; with ``stages=True`` (LoCo training) one per local stage, the last being the code's."""
        x = self.normalise(x)
        if not stages:
            return self._output(self.backbone(x))                           # h: (B, D)
        if self.local_heads is None:
            raise ValueError("stages=True needs a model built with loco=True")
        feats = self.backbone.local_features(x)                             # [(B, D_k)] per stage
        outs = [EncoderOutput(h, heads[0](h), heads[1](h) if len(heads) > 1 else None)
                for h, heads in zip(feats[:-1], self.local_heads)]
        return outs + [self._output(feats[-1])]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> the backbone's input: the fixed per-channel (x - mean) / std, or with
        ``input_norm='image'`` each image minus its mean, over its std (both over all its pixels and
        channels; the std is floored at MIN_IMAGE_STD, so a flat image stays flat instead of amplifying noise)."""
        if x.ndim != 4 or x.shape[1] != self.cfg.channels:
            raise ValueError(f"expected (B, {self.cfg.channels}, H, W) input, got {tuple(x.shape)}")
        if self.cfg.input_norm == "image":
            m = x.mean(dim=(1, 2, 3), keepdim=True)                          # (B, 1, 1, 1)
            s = x.std(dim=(1, 2, 3), keepdim=True).clamp(min=MIN_IMAGE_STD)  # (B, 1, 1, 1)
            return (x - m) / s
        return (x - self.mean) / self.std

    @property
    def trained_head(self) -> CodeHead:
        """The code head the objective trains: ``train_head`` when there is one, else ``code_head``."""
        return self.train_head if self.train_head is not None else self.code_head

    def _output(self, h: torch.Tensor) -> EncoderOutput:
        """Features h (B, D) -> the trained head's pre-activations u (B, train_bits) and the inference logits."""
        logits = self.inference_head(h) if self.inference_head is not None else None
        z = self.projection(h) if self.projection is not None else None
        return EncoderOutput(h, self.trained_head(h), logits, z)

    @torch.no_grad()
    def centre_heads(self, x: torch.Tensor) -> None:
        """Data-dependent start (Kraehenbuehl et al., ICLR 2016): shift each head's last-layer bias so that its
        outputs (u, logits; every LoCo stage's too) average 0 over the images x (N, C, H, W) in [0, 1].

        The hidden ReLU layer is >= 0, so at the default init u has a large part common to all images: codes start
        nearly equal, every pair of codes looks alike, and NAC's cheapest first move is to shrink u towards 0
        (the loss's chance level, a saddle it can stay in at 128 bits).  Centred, the bits start balanced.
        BatchNorm uses the sample's statistics, as in training; its running statistics are left as they were.
        """
        buffers = {k: v.clone() for k, v in self.named_buffers()}
        was_training = self.training
        self.train()
        try:
            outs = self(x, stages=True) if self.local_heads is not None else [self(x)]
        finally:
            self.train(was_training)
            for k, v in self.named_buffers():
                v.copy_(buffers[k])
        heads = [(h[0], h[1] if len(h) > 1 else None) for h in self.local_heads or []]
        for out, (code, infer) in zip(outs, heads + [(self.trained_head, self.inference_head)]):
            code.centre(out.u)
            if infer is not None:
                infer.centre(out.logits)

    @torch.no_grad()
    def preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-activations u (B, bits) whose signs are the codes, in eval-mode semantics (caller sets
        .eval()).  With ``mirror_sum`` u(x) + u(mirror x): the last linear layer applied to the sum of an
        image's and its mirror image's inputs to it (bias counted twice), so a mirror cannot change a code."""
        u = self.code_head(self.backbone(self.normalise(x)))                # (B, bits)
        if self.cfg.mirror_sum:
            u = u + self.code_head(self.backbone(self.normalise(x.flip(-1))))
        return u
