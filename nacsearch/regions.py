"""Regions of an image that a copy search can index beside the whole image.

A single code of the whole image cannot match a copy cropped to 80 % of each side at a random place, or one
framed in a wide border, as well as it matches re-encoded or recoloured copies: at the encoder's input
size a 20 % shift moves every feature.  Indexing the codes of fixed regions of each database image as
well gives such copies something to match:

* a ``grid`` x ``grid`` set of crops keeping ``crop`` of each side, at evenly spaced offsets of the free
  margin (3 x 3: offsets 0, 1/2 and 1 on each axis);
* the image inside a white frame of ``frame`` x its shorter side on every side (white as transparency
  is: :func:`nacsearch.imageio.flatten_alpha`).

A query's distance to a database image is then the smallest over the image's codes, where a crop's
distance counts ``penalty`` bits more than the whole image's would (and the framed image's
``frame_penalty`` more), so that the many extra codes seldom tie with the whole-image matches of other
images.  The regions and penalties were chosen on the near-duplicate validation collections
(benchmarks/RESULTS.md, "Regions"); a penalty of the code length or more turns a region off.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps


@dataclass(frozen=True)
class RegionConfig:
    """Which regions of a database image get codes of their own, and what a region match costs."""

    crop: float = 0.8    # each crop keeps this fraction of each side (the protocol's crop edit keeps 0.8)
    grid: int = 3        # grid x grid crop positions (1: the centre crop only; 0: no crops)
    frame: float = 0.10  # white frame of this fraction of the shorter side (0: no framed region)
    penalty: int = 3     # bits added to a crop's distance
    frame_penalty: int = 0  # bits added to the framed image's distance

    def __post_init__(self) -> None:
        if not 0 < self.crop < 1 or not 0 <= self.grid <= 5:
            raise ValueError(f"crop must be in (0, 1) and grid in 0..5, got {self.crop}, {self.grid}")
        if not 0 <= self.frame < 0.5 or min(self.penalty, self.frame_penalty) < 0:
            raise ValueError(f"frame must be in [0, 0.5) and the penalties >= 0, got {self.frame}, "
                             f"{self.penalty}, {self.frame_penalty}")
        if self.count == 0:
            raise ValueError("no regions: give grid >= 1 or frame > 0")

    @property
    def count(self) -> int:
        """Regions per image."""
        return self.grid * self.grid + (self.frame > 0)

    @property
    def penalties(self) -> tuple[int, ...]:
        """Bits added to each region's distance, in :func:`region_images`' order."""
        return (self.penalty,) * (self.grid * self.grid) + ((self.frame_penalty,) if self.frame > 0 else ())

    def row_penalties(self, images: int) -> np.ndarray:
        """``int64 (images * count,)``: each region row's penalty, for region codes stored image after image."""
        return np.tile(np.asarray(self.penalties, np.int64), images)

    def slots_by_penalty(self) -> dict[int, list[int]]:
        """Region positions (0..count-1) grouped by their penalty: a search of each group by Hamming distance
        alone is then a search by penalised distance."""
        out: dict[int, list[int]] = {}
        for slot, pen in enumerate(self.penalties):
            out.setdefault(pen, []).append(slot)
        return out


def offsets(grid: int) -> list[float]:
    """Evenly spaced fractions of the free margin: 1 -> [0.5], 3 -> [0, 0.5, 1]."""
    return [0.5] if grid == 1 else [i / (grid - 1) for i in range(grid)]  # 0 -> []


def region_images(img: Image.Image, cfg: RegionConfig = RegionConfig()) -> list[Image.Image]:
    """``cfg.count`` regions of an L or RGB image: the grid crops row by row, then the framed image."""
    w, h = img.size
    cw, ch = max(1, round(w * cfg.crop)), max(1, round(h * cfg.crop))
    out = []
    for fy in offsets(cfg.grid):
        for fx in offsets(cfg.grid):
            x0, y0 = round(fx * (w - cw)), round(fy * (h - ch))
            out.append(img.crop((x0, y0, x0 + cw, y0 + ch)))
    if cfg.frame > 0:
        b = max(1, round(min(w, h) * cfg.frame))
        out.append(ImageOps.expand(img, border=b, fill=255 if img.mode == "L" else (255, 255, 255)))
    return out
