"""Batched two-view augmentation on tensors (runs on whatever device the batch is on).

All random parameters are drawn from an explicit CPU ``torch.Generator`` and moved
to the batch's device, so a seed gives the same views on CPU and GPU.  Input and
output are float images in [0, 1] of shape ``(B, C, H, W)``.

The family is SimCLR's (Chen et al. 2020): random resized crop + horizontal flip
(one affine warp per image, bilinear), colour jitter (brightness, contrast,
saturation, hue), random grayscale, Gaussian blur, and optional cutout.  For copy
detection it adds the everyday edits a copy goes through: zoom-out (the picture
shrunk inside a frame, as with a border), small rotations (both folded into the same
affine warp, with the uncovered area set to ``fill``, white by default: the colour
transparency is composited on) and downscale-upscale (the detail a shrunk or
re-compressed copy loses) and a JPEG-like re-save (:mod:`nacsearch.jpeg`, after the colour
changes, as a copy is edited first and saved last).  Each new draw is made only when its probability is > 0,
so a config without them gives exactly the views it gave before they existed.  With ``clean_p`` an
image's first view is sometimes the image as given, so that some pairs are (original, edited copy).
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch.nn import functional as F

from nacsearch.config import ViewConfig
from nacsearch.jpeg import jpeg_like


def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _bernoulli(n: int, p: float, g: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=g) < p


def crop_flip_grid(n: int, size: tuple[int, int], cfg: ViewConfig, g: torch.Generator | None) -> torch.Tensor:
    """Sampling grid ``(n, H, W, 2)`` for a random resized crop (or zoom-out) + flip + rotation of each image."""
    area = _uniform(n, *cfg.crop_scale, g)
    log_r = _uniform(n, math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1]), g)
    ratio = torch.exp(log_r)
    sw = torch.sqrt(area * ratio).clamp(max=1.0)   # crop width as a fraction of the image
    sh = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (torch.rand(n, generator=g) * 2 - 1) * (1 - sw)  # centre in [-1+sw, 1-sw]
    cy = (torch.rand(n, generator=g) * 2 - 1) * (1 - sh)
    flip = torch.where(_bernoulli(n, cfg.flip, g), -1.0, 1.0)
    if cfg.zoom_out_p > 0:  # the frame is 1/s of the image: the image fills a side s of it
        out = _bernoulli(n, cfg.zoom_out_p, g)
        s = 1 / _uniform(n, cfg.zoom_out, 1.0, g)
        cxo, cyo = [(torch.rand(n, generator=g) * 2 - 1) * (s - 1) for _ in range(2)]
        sw, sh, cx, cy = (torch.where(out, a, b) for a, b in ((s, sw), (s, sh), (cxo, cx), (cyo, cy)))
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sw * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = sh
    theta[:, 1, 2] = cy
    if cfg.rotate_p > 0:
        angle = _uniform(n, -cfg.rotate, cfg.rotate, g) * (math.pi / 180) * _bernoulli(n, cfg.rotate_p, g)
        cos, sin = torch.cos(angle), torch.sin(angle)
        rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # (n, 2, 2)
        theta[:, :, :2] = rot @ theta[:, :, :2]
    return F.affine_grid(theta, [n, 1, *size], align_corners=False)


def warp(x: torch.Tensor, grid: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """Bilinear resample; areas outside the image are ``cfg.fill`` when the warp can uncover
    them (zoom-out, rotation), else edges are reflected (crops stay inside the image)."""
    if cfg.zoom_out_p > 0 or cfg.rotate_p > 0:
        return F.grid_sample(x - cfg.fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + cfg.fill
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def down_up(x: torch.Tensor, cfg: ViewConfig, g: torch.Generator | None) -> torch.Tensor:
    """With prob. downscale_p, shrink an image to U(downscale, 0.7) of its side (antialiased) and scale back."""
    n, _, h, w = x.shape
    on = _bernoulli(n, cfg.downscale_p, g)
    f = _uniform(n, cfg.downscale, 0.7, g)
    y = x.clone()
    for i in torch.nonzero(on).flatten().tolist():
        small = (max(2, round(h * float(f[i]))), max(2, round(w * float(f[i]))))
        y[i:i + 1] = F.interpolate(F.interpolate(x[i:i + 1], size=small, mode="bilinear", antialias=True,
                                                 align_corners=False), size=(h, w), mode="bilinear", align_corners=False)
    return y


def jpeg_view(x: torch.Tensor, cfg: ViewConfig, g: torch.Generator | None) -> torch.Tensor:
    """With prob. jpeg_p, each image as a JPEG of quality U(jpeg_quality, 90) would decode."""
    n = x.shape[0]
    on = _bernoulli(n, cfg.jpeg_p, g)
    quality = _uniform(n, cfg.jpeg_quality, 90.0, g)
    idx = torch.nonzero(on).flatten()
    if not len(idx):
        return x
    y = x.clone()
    y[idx.to(x.device)] = jpeg_like(x[idx.to(x.device)], quality[idx])
    return y


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _hue_rotate(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate hue by ``angle`` (n,) radians in YIQ space (RGB only)."""
    m = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                     device=x.device, dtype=x.dtype)
    yiq = torch.einsum("ij,bjhw->bihw", m, x)
    cos, sin = torch.cos(angle).view(-1, 1, 1), torch.sin(angle).view(-1, 1, 1)
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(m), yiq)


def color_jitter(x: torch.Tensor, cfg: ViewConfig, g: torch.Generator | None) -> torch.Tensor:
    """Brightness, contrast, saturation (x [1-s, 1+s]) and hue, each image with prob. jitter_p."""
    n, dev = x.shape[0], x.device
    s = cfg.jitter
    on = _bernoulli(n, cfg.jitter_p, g).to(dev).view(-1, 1, 1, 1)
    b = _uniform(n, 1 - s, 1 + s, g).clamp(min=0).to(dev).view(-1, 1, 1, 1)
    c = _uniform(n, 1 - s, 1 + s, g).clamp(min=0).to(dev).view(-1, 1, 1, 1)
    y = (x * b).clamp(0, 1)
    mean = _gray(y).mean(dim=(1, 2, 3), keepdim=True)
    y = ((y - mean) * c + mean).clamp(0, 1)
    if x.shape[1] == 3:
        sat = _uniform(n, 1 - s, 1 + s, g).clamp(min=0).to(dev).view(-1, 1, 1, 1)
        gray = _gray(y)
        y = ((y - gray) * sat + gray).clamp(0, 1)
        if cfg.hue > 0:
            y = _hue_rotate(y, (_uniform(n, -cfg.hue, cfg.hue, g) * 2 * math.pi).to(dev)).clamp(0, 1)
    return torch.where(on, y, x)


def gaussian_blur(x: torch.Tensor, p: float, g: torch.Generator | None) -> torch.Tensor:
    """Blur each image with prob. p, sigma ~ U(0.1, 2.0) in pixels (separable, per-image kernel)."""
    n, ch, h, w = x.shape
    k = max(3, (min(h, w) // 10) | 1)  # odd kernel about 10% of the image
    sigma = _uniform(n, 0.1, 2.0, g).to(x.device)
    r = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
    ker = torch.exp(-(r.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    ker = (ker / ker.sum(dim=1, keepdim=True)).repeat_interleave(ch, dim=0)  # (n*ch, k)
    y = x.reshape(1, n * ch, h, w)
    y = F.conv2d(F.pad(y, (k // 2, k // 2, 0, 0), mode="reflect"), ker.view(-1, 1, 1, k), groups=n * ch)
    y = F.conv2d(F.pad(y, (0, 0, k // 2, k // 2), mode="reflect"), ker.view(-1, 1, k, 1), groups=n * ch)
    on = _bernoulli(n, p, g).to(x.device).view(-1, 1, 1, 1)
    return torch.where(on, y.view(n, ch, h, w), x)


def cutout(x: torch.Tensor, p: float, g: torch.Generator | None) -> torch.Tensor:
    """Zero a random rectangle (20-50% of each side) in each image with prob. p."""
    n, _, h, w = x.shape
    eh = (_uniform(n, 0.2, 0.5, g) * h).long()
    ew = (_uniform(n, 0.2, 0.5, g) * w).long()
    y0 = (torch.rand(n, generator=g) * (h - eh + 1)).long()
    x0 = (torch.rand(n, generator=g) * (w - ew + 1)).long()
    on = _bernoulli(n, p, g)
    rows = torch.arange(h).view(1, -1, 1)
    cols = torch.arange(w).view(1, 1, -1)
    box = ((rows >= y0.view(-1, 1, 1)) & (rows < (y0 + eh).view(-1, 1, 1))
           & (cols >= x0.view(-1, 1, 1)) & (cols < (x0 + ew).view(-1, 1, 1)) & on.view(-1, 1, 1))
    return x.masked_fill(box.unsqueeze(1).to(x.device), 0.0)


class TwoViews:
    """``views(x, g) -> (v1, v2)``: two independent augmentations of the batch ``x`` (B, C, H, W) in [0, 1]."""

    def __init__(self, cfg: ViewConfig) -> None:
        self.cfg = cfg

    def one(self, x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
        """One augmentation of each image of ``x``, at its size."""
        return self._one(x, g, self.cfg, tuple(x.shape[-2:]))

    def small(self, x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor | None:
        """``(S * B, C, s, s)``: ``cfg.small_crops`` (S) low-resolution crops of each image, crop-major (rows
        k*B .. k*B+B-1 are crop k of every image), with the same colour changes; None when S is 0."""
        cfg = self.cfg
        if cfg.small_crops == 0:
            return None
        side = cfg.small_size or max(8, x.shape[-1] // 2)
        small_cfg = dataclasses.replace(cfg, crop_scale=cfg.small_scale)
        return torch.cat([self._one(x, g, small_cfg, (side, side)) for _ in range(cfg.small_crops)])

    @staticmethod
    def _one(x: torch.Tensor, g: torch.Generator | None, cfg: ViewConfig, size: tuple[int, int]) -> torch.Tensor:
        n = x.shape[0]
        grid = crop_flip_grid(n, size, cfg, g).to(x.device, x.dtype)
        y = warp(x, grid, cfg)
        if cfg.downscale_p > 0:
            y = down_up(y, cfg, g)
        if cfg.jitter > 0 and cfg.jitter_p > 0:
            y = color_jitter(y, cfg, g)
        if x.shape[1] == 3 and cfg.grayscale_p > 0:
            on = _bernoulli(n, cfg.grayscale_p, g).to(x.device).view(-1, 1, 1, 1)
            y = torch.where(on, _gray(y).expand_as(y), y)
        if cfg.jpeg_p > 0:
            y = jpeg_view(y, cfg, g)
        if cfg.blur_p > 0:
            y = gaussian_blur(y, cfg.blur_p, g)
        if cfg.erase_p > 0:
            y = cutout(y, cfg.erase_p, g)
        return y

    def __call__(self, x: torch.Tensor, g: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        v1, v2 = self.one(x, g), self.one(x, g)
        if self.cfg.clean_p > 0:  # drawn last, so that clean_p = 0 leaves every other draw where it was
            clean = _bernoulli(x.shape[0], self.cfg.clean_p, g).to(x.device).view(-1, 1, 1, 1)
            v1 = torch.where(clean, x, v1)
        return v1, v2
