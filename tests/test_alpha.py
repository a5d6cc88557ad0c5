"""Transparency is composited onto white, identically for training, indexing, queries and thumbnails."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from nacsearch.imageio import decode_image, flatten_alpha, thumbnail_jpeg


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _rgba() -> Image.Image:
    """16x16: left half opaque red, right half fully transparent with hidden black pixels,
    bottom-left quarter black at alpha 128."""
    a = np.zeros((16, 16, 4), np.uint8)
    a[:, :8] = (255, 0, 0, 255)
    a[8:, :8] = (0, 0, 0, 128)
    return Image.fromarray(a, "RGBA")


def test_rgba_is_composited_on_white():
    x = decode_image(_png(_rgba()), 3, 16)  # (3, 16, 16)
    assert (x[:, :, 8:] == 255).all()                        # transparent -> white, not the hidden black
    assert tuple(x[:, 0, 0]) == (255, 0, 0)                  # opaque pixels untouched
    assert np.abs(x[:, 12, 2].astype(int) - 127).max() <= 1  # half-transparent black on white: 255 * 127/255
    gray = decode_image(_png(_rgba()), 1, 16)
    assert (gray[0, :, 8:] == 255).all()


def test_la_and_palette_transparency():
    la = Image.fromarray(np.dstack([np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8)]), "LA")
    assert (decode_image(_png(la), 1, 8) == 255).all()
    p = Image.new("P", (8, 8), 0)
    p.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    p.paste(1, (0, 0, 4, 8))
    p.info["transparency"] = 0
    x = decode_image(_png(p), 3, 8)
    assert (x[:, :, 4:] == 255).all() and tuple(x[:, 0, 0]) == (10, 200, 10)


def test_opaque_images_are_unchanged():
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8), "RGB")
    assert flatten_alpha(rgb) is rgb
    opaque = rgb.convert("RGBA")
    assert np.array_equal(np.asarray(flatten_alpha(opaque)), np.asarray(rgb))


def test_thumbnail_uses_the_same_background():
    with Image.open(io.BytesIO(thumbnail_jpeg(_png(_rgba()), side=16))) as t:
        a = np.asarray(t.convert("RGB")).astype(int)
    assert a[:, 12:].min() >= 235  # white up to JPEG ringing near the red edge, not the hidden black (0)
