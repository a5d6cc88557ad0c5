"""Feature extractors f(x) = h. No I/O here; weights come from checkpoints.

All backbones take ``(B, C, H, W)`` float input (any H, W >= 8) and return
``(B, D)`` non-negative features after average pooling (global; the 'small' one can also pool
per 2x2 quadrant, ``ModelConfig.pool``); ``D`` is ``feature_dim``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from nacsearch.config import ModelConfig


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def pool_map(a: torch.Tensor, grid: int) -> torch.Tensor:
    """A feature map (B, D, h, w) -> (B, grid * grid * D): its average over each cell of a grid x grid split,
    cell-major (row by row, the D channels of the top-left cell first); grid 1 is the global average."""
    if grid == 1:
        return a.mean(dim=(2, 3))                                           # (B, D)
    q = F.adaptive_avg_pool2d(a, grid)                                      # (B, D, grid, grid)
    return q.permute(0, 2, 3, 1).flatten(1)                                 # (B, grid * grid * D)


class SmallCNN(nn.Module):
    """CPU-friendly CNN for 28-64 px images: six 3x3 conv-BN-ReLU layers, three stride-2.

    Widths ``w, 2w, 2w, 4w, 4w, 8w``; the last map is averaged over all positions (``pool='global'``,
    ``feature_dim = 8w``) or over each of its 2x2 quadrants (``pool='grid2'``, ``feature_dim = 32w``,
    quadrant-major: the 8w channels of the top-left quadrant first).
    """

    def __init__(self, channels: int, width: int, pool: str = "global") -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _conv_bn(channels, w),          # (B, w, H, W)
            _conv_bn(w, 2 * w, 2),          # (B, 2w, H/2, W/2)
            _conv_bn(2 * w, 2 * w),
            _conv_bn(2 * w, 4 * w, 2),      # (B, 4w, H/4, W/4)
            _conv_bn(4 * w, 4 * w),
            _conv_bn(4 * w, 8 * w, 2),      # (B, 8w, H/8, W/8)
        )
        self.grid = 2 if pool == "grid2" else 1
        self.feature_dim = 8 * w * self.grid ** 2
        self.stage_dims = (2 * w, 4 * w, self.feature_dim)  # pooled width after each stride-2 layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))  # (B, feature_dim)

    def pool(self, a: torch.Tensor) -> torch.Tensor:
        """The last feature map (B, 8w, h, w) -> features (B, feature_dim); >= 0, as the map is (ReLU)."""
        return pool_map(a, self.grid)

    def stage(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """Stage k in 0..2: layers 2k and 2k+1 (ending at a stride-2 layer)."""
        return self.features[2 * k + 1](self.features[2 * k](x))

    def local_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """LoCo-style overlapping local stages (Xiong, Ren, Urtasun, NeurIPS 2020): pooled features
        [(B, 2w), (B, 4w), (B, 8w)] of the three stages, where stage k's output is recomputed from
        stage k-2's output with the gradient stopped, so a loss on stage k trains stages k and k-1
        (the overlap) and nothing below.  The values equal an ordinary forward pass; stage k-1's
        recomputation updates its BatchNorm running statistics a second time."""
        a0 = self.stage(0, x)                                              # (B, 2w, H/2, W/2)
        a1 = self.stage(1, a0)                                             # (B, 4w, H/4, W/4), grads reach stage 0
        a2 = self.stage(2, self.stage(1, a0.detach()))                     # (B, 8w, H/8, W/8), stages 1-2 only
        return [a0.mean(dim=(2, 3)), a1.mean(dim=(2, 3)), self.pool(a2)]


class ResNet18Small(nn.Module):
    """torchvision ResNet-18 with a small-image stem (3x3 stride-1 conv, no max-pool)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        net.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
        net.maxpool = nn.Identity()
        net.fc = nn.Identity()
        self.net = net
        self.feature_dim = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 512)


class VGG16BN(nn.Module):
    """torchvision VGG-16-BN convolutional part + global average pool, as in NAC's hashing runs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        from torchvision.models import vgg16_bn

        feats = vgg16_bn(weights=None).features
        if channels != 3:
            feats[0] = nn.Conv2d(channels, 64, 3, 1, 1)
        self.features = feats
        self.feature_dim = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # five 2x2 max-pools need H, W >= 32; smaller inputs are upsampled
        if min(x.shape[-2:]) < 32:
            x = nn.functional.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
        return self.features(x).mean(dim=(2, 3))  # (B, 512)


def build_backbone(cfg: ModelConfig) -> nn.Module:
    """The backbone named by ``cfg.backbone``, randomly initialised."""
    if cfg.backbone == "small":
        return SmallCNN(cfg.channels, cfg.width, cfg.pool)
    if cfg.backbone == "resnet18":
        return ResNet18Small(cfg.channels)
    if cfg.backbone == "vgg16_bn":
        return VGG16BN(cfg.channels)
    raise ValueError(f"unknown backbone {cfg.backbone!r}")


def load_backbone_weights(backbone: nn.Module, path: str) -> dict:
    """Initialise ``backbone`` from a user-named file (never downloaded).

    ``.safetensors`` files are read directly; ``.pt``/``.pth`` with ``torch.load(weights_only=True)``
    (no code execution).  torchvision key names are accepted (a ``net.`` prefix is added for
    ResNet-18, ``backbone.`` prefixes are stripped); classifier keys and tensors whose shape differs
    (e.g. the small-image stem) are skipped and reported.  Returns {"loaded", "skipped"}.
    """
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such weights file")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(p))
    else:
        state = torch.load(str(p), map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    own = backbone.state_dict()
    loaded, skipped = {}, []
    for key, val in state.items():
        k = key.removeprefix("backbone.")
        k = k if k in own else f"net.{k}" if f"net.{k}" in own else k
        if k in own and own[k].shape == val.shape:
            loaded[k] = val
        else:
            skipped.append(key)
    if not loaded:
        raise ValueError(f"{path}: no tensor matches the {type(backbone).__name__} backbone")
    backbone.load_state_dict(loaded, strict=False)
    return {"loaded": len(loaded), "skipped": skipped}
