"""Everyday edits that make a near-duplicate copy of an image (the near-duplicate protocol's queries).

Each edit is a pure function ``(PIL image, numpy Generator, EditParams) -> PIL image``; the random
choices (crop position, angle sign, enhancement factors) come from the generator only, so a seed
reproduces every copy.  Sources are RGB or L images with transparency already composited on white
(:func:`nacsearch.imageio.decode_pil`).  The parameters are one frozen dataclass, written into
every report.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps


@dataclass(frozen=True)
class EditParams:
    """What each edit kind does; every number is written into the report."""

    jpeg_quality: int = 20                       # re-encode as JPEG at this quality
    downscale: float = 0.4                       # both sides scaled by this factor (Lanczos)
    crop_keep: float = 0.8                       # crop keeps this fraction of each side, at a random position
    rotate_degrees: tuple[float, float] = (2.0, 6.0)  # |angle| uniform in this range, random sign, white fill
    brightness: tuple[float, float] = (0.7, 1.4)      # brightness factor, uniform (PIL ImageEnhance)
    contrast: tuple[float, float] = (0.7, 1.4)        # contrast factor, uniform, drawn independently
    min_change: float = 0.15                     # brightness and contrast factors stay >= this far from 1
    border: float = 0.10                         # white border of this fraction of the shorter side, each side
    caption: str = "(c) copy 2026"               # text drawn in the bottom border, black

    def __post_init__(self) -> None:
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError("jpeg_quality must be in [1, 95]")
        for name in ("downscale", "crop_keep"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1)")
        if not 0 <= self.border < 0.5 or self.min_change < 0:
            raise ValueError("border must be in [0, 0.5) and min_change >= 0")
        for name in ("rotate_degrees", "brightness", "contrast"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))


def jpeg(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=p.jpeg_quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def downscale(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    w, h = img.size
    return img.resize((max(1, round(w * p.downscale)), max(1, round(h * p.downscale))), Image.Resampling.LANCZOS)


def crop(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    w, h = img.size
    cw, ch = max(1, round(w * p.crop_keep)), max(1, round(h * p.crop_keep))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x0, y0, x0 + cw, y0 + ch))


def rotate(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    angle = float(rng.uniform(*p.rotate_degrees)) * (1 if rng.random() < 0.5 else -1)
    fill = 255 if img.mode == "L" else (255, 255, 255)
    return img.rotate(angle, Image.Resampling.BILINEAR, expand=False, fillcolor=fill)


def _factor(rng: np.random.Generator, lo_hi: tuple[float, float], min_change: float) -> float:
    lo, hi = lo_hi
    for _ in range(100):
        f = float(rng.uniform(lo, hi))
        if abs(f - 1) >= min_change:
            return f
    return hi


def brightness_contrast(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    img = ImageEnhance.Brightness(img).enhance(_factor(rng, p.brightness, p.min_change))
    return ImageEnhance.Contrast(img).enhance(_factor(rng, p.contrast, p.min_change))


def grayscale(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    return img.convert("L")


def mirror(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    return ImageOps.mirror(img)


def border_caption(img: Image.Image, rng: np.random.Generator, p: EditParams) -> Image.Image:
    """A white frame of ``border`` x the shorter side on every side, the caption in the bottom one."""
    b = max(1, round(min(img.size) * p.border))
    fill = 255 if img.mode == "L" else (255, 255, 255)
    out = ImageOps.expand(img, border=b, fill=fill)
    size = max(6, int(b * 0.7))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizing: the fixed bitmap font
        font = ImageFont.load_default()
    ink = 0 if img.mode == "L" else (0, 0, 0)
    ImageDraw.Draw(out).text((b, out.height - b + (b - size) // 2), p.caption, fill=ink, font=font)
    return out


EDITS: dict[str, Callable[[Image.Image, np.random.Generator, EditParams], Image.Image]] = {
    "jpeg": jpeg, "downscale": downscale, "crop": crop, "rotate": rotate,
    "brightness_contrast": brightness_contrast, "grayscale": grayscale, "mirror": mirror, "border_caption": border_caption,
}


def apply_edit(kind: str, img: Image.Image, seed: int, params: EditParams = EditParams()) -> Image.Image:
    """The copy of ``img`` made by edit ``kind`` with the generator seeded by ``seed``."""
    if kind not in EDITS:
        raise ValueError(f"unknown edit {kind!r}; choose from {', '.join(EDITS)}")
    return EDITS[kind](img, np.random.default_rng(seed), params)


def describe_edits(params: EditParams) -> dict:
    """JSON-ready parameters of every edit kind."""
    return {"kinds": list(EDITS), "params": asdict(params)}
