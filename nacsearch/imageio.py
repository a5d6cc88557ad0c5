"""Decoding one image file into the encoder's input format, with reasons for failure.

``load_image`` returns ``uint8 (C, S, S)``: EXIF orientation applied, converted to
grayscale (C=1) or RGB (C=3), shorter side resized to S (bilinear, antialiased),
centre-cropped to S x S.  Every failure raises :class:`ImageError` carrying a
short machine-readable reason (``empty``, ``not_image``, ``truncated``,
``too_large``, ``unreadable``).
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
MAX_PIXELS = 89_478_485  # PIL's own decompression-bomb threshold; larger images are refused


class ImageError(Exception):
    """An image could not be used; ``reason`` is a short code, ``str(e)`` the details."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def is_image_name(path: str | os.PathLike) -> bool:
    """True for file names with a known image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def to_model_array(img: Image.Image, channels: int, size: int) -> np.ndarray:
    """PIL image -> ``uint8 (channels, size, size)`` (resize shorter side, centre crop)."""
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
    left, top = (nw - size) // 2, (nh - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def decode_image(data: bytes, channels: int, size: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes into ``uint8 (channels, size, size)``; raises :class:`ImageError`."""
    if not data:
        raise ImageError("empty", "zero-byte file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > max_pixels:
                    raise ImageError("too_large", f"{img.width}x{img.height} exceeds {max_pixels} pixels")
                img.load()
                img = ImageOps.exif_transpose(img)
                return to_model_array(img, channels, size)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError("too_large", str(e)) from None
    except UnidentifiedImageError:
        raise ImageError("not_image", "not an image format Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as e:
        msg = str(e)
        reason = "truncated" if "truncated" in msg.lower() or "broken data" in msg.lower() else "unreadable"
        raise ImageError(reason, msg or type(e).__name__) from None


def load_image(path: str | os.PathLike, channels: int, size: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read and decode one image file; raises :class:`ImageError` (OSError for unreadable files)."""
    return decode_image(Path(path).read_bytes(), channels, size, max_pixels)
