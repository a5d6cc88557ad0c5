"""JPEG-like compression of an image batch on tensors: the artefacts of a low-quality re-save.

Baseline JPEG as libjpeg writes it (ITU-T T.81, Annex K tables, IJG quality scaling): RGB to
YCbCr (JFIF), chroma averaged over 2 x 2 pixels (4:2:0), each 8 x 8 block of each plane sent
through the 2-D DCT-II, divided by the quality-scaled quantisation table, rounded, multiplied
back and inverted.  Entropy coding is lossless and so left out.  Everything is batched, with
one quality per image, and runs on the batch's device; images of any size are edge-padded to
a multiple of 16 and cropped back.  Input and output are floats in [0, 1] of shape (B, C, H, W)
with C = 1 (luma only) or 3.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

# Annex K.1 luminance and chrominance quantisation tables (quality 50)
_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
_CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
           47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32
_RGB_TO_YCC = [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]


def quant_tables(quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(n,) qualities in [1, 100] -> luma and chroma tables (n, 8, 8), scaled as libjpeg does."""
    q = quality.float().clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q).view(-1, 1, 1)
    out = []
    for base in (_LUMA, _CHROMA):
        t = torch.tensor(base, dtype=torch.float32).view(1, 8, 8)
        out.append(torch.floor((t * scale + 50) / 100).clamp(1, 255))
    return out[0], out[1]


def _dct_matrix(device: torch.device) -> torch.Tensor:
    """The orthonormal 8-point DCT-II matrix D (8, 8): coefficients = D @ block @ D.T."""
    k = torch.arange(8, dtype=torch.float32).view(-1, 1)
    i = torch.arange(8, dtype=torch.float32).view(1, -1)
    d = torch.cos((2 * i + 1) * k * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d.to(device)


def _quantise_plane(p: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """(n, H, W) plane in [0, 255] (H, W multiples of 8), (n, 8, 8) tables -> the plane after DCT quantisation."""
    n, h, w = p.shape
    d = _dct_matrix(p.device)
    blocks = (p - 128).view(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)   # (n, h/8, w/8, 8, 8)
    t = table.to(p.device).view(n, 1, 1, 8, 8)
    coef = torch.round(d @ blocks @ d.T / t) * t
    back = (d.T @ coef @ d).permute(0, 1, 3, 2, 4).reshape(n, h, w)
    return back + 128


def jpeg_like(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) in [0, 1], (B,) qualities -> the batch as a JPEG of that quality would decode."""
    n, c, h, w = x.shape
    ph, pw = -h % 16, -w % 16
    y = F.pad(x.float() * 255, (0, pw, 0, ph), mode="replicate")             # (n, c, H', W')
    luma_t, chroma_t = quant_tables(quality)
    if c == 1:
        out = _quantise_plane(y[:, 0], luma_t).unsqueeze(1)
    else:
        m = torch.tensor(_RGB_TO_YCC, device=x.device)
        offset = torch.tensor([0.0, 128, 128], device=x.device).view(1, 3, 1, 1)  # chroma is stored around 128
        ycc = torch.einsum("ij,bjhw->bihw", m, y) + offset
        lum = _quantise_plane(ycc[:, 0], luma_t)
        small = F.avg_pool2d(ycc[:, 1:], 2)                                     # 4:2:0 chroma
        chroma = torch.stack([_quantise_plane(small[:, k], chroma_t) for k in range(2)], 1)
        chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
        ycc = torch.cat([lum.unsqueeze(1), chroma], 1) - offset
        out = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(m), ycc)
    return (out[:, :, :h, :w] / 255).clamp(0, 1).to(x.dtype)
