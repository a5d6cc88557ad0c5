"""Decoding one image file into the encoder's input format, with reasons for failure.

``load_image`` returns ``uint8 (C, S, S)``: EXIF orientation applied, converted to
grayscale (C=1) or RGB (C=3), shorter side resized to S (bilinear, antialiased),
centre-cropped to S x S.  Every failure raises :class:`ImageError` carrying a
short machine-readable reason (``empty``, ``not_image``, ``truncated``,
``too_large``, ``unreadable``).

High-bit-depth images are scaled, not clipped: 16-bit (``I;16*``) and 32-bit integer
(``I``, read as 16-bit data) samples are divided by 257 (65535 -> 255, so a 16-bit copy
of an 8-bit image decodes to the same pixels); float (``F``) samples are taken as
[0, 1] when their maximum is <= 1, as [0, 255] when it is <= 255, else as 16-bit data;
NaN becomes 0.

Transparency is composited onto **white**: RGBA, LA, PA and palette or RGB/L images with a
transparent colour (``transparency`` in the file) are flattened as if printed on white paper,
so a transparent area never becomes the colour its hidden pixels happen to hold (often
black).  Training, indexing, queries and thumbnails all pass through :func:`flatten_alpha`.

Memory is bounded: JPEGs are decoded at a reduced size (DCT scaling, at least 4x the
target on the shorter side); other large images are box-reduced right after decoding
(integer factor, again at least 4x the target) before orientation and mode conversion,
so a huge image is held once, not copied; and images of more than :data:`LARGE_PIXELS`
decoded pixels are decoded one at a time, in one dedicated thread, whatever the number of
decode threads (glibc keeps a freed allocation in the arena of the thread that made it,
so huge decodes spread over n threads would hold n images' worth of memory).
"""
from __future__ import annotations

import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
MAX_PIXELS = 89_478_485  # PIL's own decompression-bomb threshold; larger images are refused


class ImageError(Exception):
    """An image could not be used; ``reason`` is a short code, ``str(e)`` the details."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason

    @classmethod
    def unreadable(cls, e: OSError) -> "ImageError":
        """A file that could not be read or stat'ed (vanished, permissions, I/O error)."""
        return cls("unreadable", e.strerror or str(e))


def is_image_name(path: str | os.PathLike) -> bool:
    """True for file names with a known image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


LARGE_PIXELS = 16_000_000  # decoded images above this size are decoded in the one large-decode thread
_LARGE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nacsearch-large-decode")
T = TypeVar("T")
HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def to_8bit(img: Image.Image) -> Image.Image:
    """High-bit-depth grayscale (``I;16*``, ``I``, ``F``) -> ``L`` by scaling (see module doc); others unchanged."""
    if img.mode not in HIGH_DEPTH_MODES:
        return img
    a = np.asarray(img).astype(np.float64)
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    if img.mode == "F" and a.size and a.max() <= 1.0:
        a = a * 255.0
    elif img.mode != "F" or (a.size and a.max() > 255.0):
        a = a / 257.0
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
BACKGROUND = (255, 255, 255)  # transparent areas are shown on white


def flatten_alpha(img: Image.Image) -> Image.Image:
    """Composite an image with transparency onto :data:`BACKGROUND` (-> RGB); others unchanged."""
    if img.mode not in ALPHA_MODES and "transparency" not in img.info:
        return img
    rgba = img.convert("RGBA")
    out = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    out.alpha_composite(rgba)
    return out.convert("RGB")


def to_model_array(img: Image.Image, channels: int, size: int) -> np.ndarray:
    """PIL image -> ``uint8 (channels, size, size)`` (alpha on white, resize shorter side, centre crop)."""
    img = flatten_alpha(to_8bit(img)).convert("L" if channels == 1 else "RGB")
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
    left, top = (nw - size) // 2, (nh - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = np.array(img, dtype=np.uint8)  # a writable copy (torch.from_numpy warns on read-only arrays)
    return arr[None] if channels == 1 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def decode_image(data: bytes, channels: int, size: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes into ``uint8 (channels, size, size)``; raises :class:`ImageError`."""
    return _decode(data, 4 * size, max_pixels, lambda img: to_model_array(img, channels, size))


def decode_regions(data: bytes, channels: int, size: int, regions: Callable[[Image.Image], list[Image.Image]],
                   max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """``uint8 (1 + R, channels, size, size)``: the image exactly as :func:`decode_image` decodes it, then
    the ``R`` images ``regions`` makes of it (from the same bounded decode, alpha on white, L or RGB)."""
    def finish(img: Image.Image) -> np.ndarray:
        img = flatten_alpha(to_8bit(img)).convert("L" if channels == 1 else "RGB")
        return np.stack([to_model_array(im, channels, size) for im in (img, *regions(img))])

    return _decode(data, 4 * size, max_pixels, finish)


def thumbnail_jpeg(data: bytes, side: int = 192, max_pixels: int = MAX_PIXELS, quality: int = 85) -> bytes:
    """Image bytes -> a JPEG whose longer side is at most ``side`` (:func:`decode_pil`); raises :class:`ImageError`."""
    out = io.BytesIO()
    decode_pil(data, side, max_pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def png_bytes(img: Image.Image, compress_level: int = 6) -> bytes:
    """A PIL image as PNG bytes (``compress_level`` 0-9; 6 is Pillow's default, 1 is fast)."""
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=compress_level)
    return out.getvalue()


def decode_pil(data: bytes, side: int, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Image bytes -> an RGB (or L for grayscale sources) PIL image, oriented, alpha on white, longer
    side at most ``side``; the same bounded decode as :func:`decode_image`; raises :class:`ImageError`."""
    def finish(img: Image.Image) -> Image.Image:
        img = flatten_alpha(to_8bit(img))
        img = img.convert("L" if img.mode in ("1", "L") else "RGB")
        img.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=None)
        return img

    return _decode(data, side, max_pixels, finish)


def _decode(data: bytes, min_side: int, max_pixels: int, finish: Callable[[Image.Image], T]) -> T:
    """Open, bound, reduce (shorter side >= ``min_side``), orient, then ``finish`` the image;
    every failure becomes an :class:`ImageError` with its reason."""
    if not data:
        raise ImageError("empty", "zero-byte file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > max_pixels:
                    raise ImageError("too_large", f"{img.width}x{img.height} exceeds {max_pixels} pixels")
                _reduce_jpeg(img, min_side)
                if img.width * img.height > LARGE_PIXELS:
                    small = _LARGE.submit(_load_reduced, img, min_side).result()
                else:
                    small = _load_reduced(img, min_side)
                return finish(small)
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


ORIENTATION = 0x0112  # EXIF tag
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def _load_reduced(img: Image.Image, min_side: int) -> Image.Image:
    """Decode, box-reduce and orient; the full-size pixels are freed before returning."""
    img.load()
    orientation = img.getexif().get(ORIENTATION)  # after load: a PNG's eXIf chunk may follow the pixels
    small = _orient(_reduce(img, min_side), orientation)
    if small is not img:
        img.close()
    return small


def _orient(img: Image.Image, orientation) -> Image.Image:
    """Apply an EXIF orientation (as ``ImageOps.exif_transpose`` does), after any size reduction."""
    method = _TRANSPOSE.get(orientation)
    return img.transpose(method) if method is not None else img


def _reduce(img: Image.Image, min_side: int) -> Image.Image:
    """Box-reduce a decoded image by an integer factor keeping its shorter side >= ``min_side``.

    Everything after this step (orientation, mode conversion, the final resize) then works on a
    small image instead of copying a huge one several times.  Images under 2x ``min_side`` are
    returned as they are.
    """
    factor = min(img.size) // min_side
    if factor < 2:
        return img
    try:
        return img.reduce(factor)
    except ValueError:  # a mode reduce() does not support (palette, 1-bit): convert small steps later
        return img


def _reduce_jpeg(img: Image.Image, min_side: int) -> None:
    """Ask the JPEG decoder for a DCT-scaled image whose shorter side stays >= ``min_side``."""
    if img.format != "JPEG":
        return
    w, h = img.size
    scale = max(min_side / min(w, h), 1 / 8)
    if scale < 1:
        img.draft(img.mode, (max(1, int(w * scale)), max(1, int(h * scale))))


def read_image(path: str | os.PathLike, channels: int, size: int,
               regions: Callable[[Image.Image], list[Image.Image]] | None = None) -> tuple[np.ndarray, bytes]:
    """Read a file once and decode it: (``uint8 (C, S, S)``, the file's bytes); with ``regions``, the array
    is ``(1 + R, C, S, S)``, the image then its regions (:func:`decode_regions`).

    Every failure, an unreadable or vanished file included (reason ``unreadable``), raises
    :class:`ImageError`; this is the one path training, indexing and queries decode through.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ImageError.unreadable(e) from None
    if regions is not None:
        return decode_regions(data, channels, size, regions), data
    return decode_image(data, channels, size), data


def load_image(path: str | os.PathLike, channels: int, size: int) -> np.ndarray:
    """:func:`read_image` without the bytes."""
    return read_image(path, channels, size)[0]


def load_query(path: str | os.PathLike, channels: int, size: int) -> np.ndarray:
    """:func:`load_image` for a query: the :class:`ImageError` message starts with the file's path."""
    try:
        return load_image(path, channels, size)
    except ImageError as e:
        raise ImageError(e.reason, f"{path}: {e}") from None


def skip_row(path: str | os.PathLike, err: ImageError) -> dict:
    """The record of a file that was not used: ``{path, reason, detail}`` (``skipped.jsonl`` rows)."""
    return {"path": str(path), "reason": err.reason, "detail": str(err)}
