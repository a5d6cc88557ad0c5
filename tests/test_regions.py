"""Regions of a database image (nacsearch.regions) and their decode path."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nacsearch.imageio import decode_image, decode_regions
from nacsearch.regions import RegionConfig, offsets, region_images


def _picture(w: int = 100, h: int = 60, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(a, "RGB")
    return img.convert(mode)


def test_grid_crops_are_the_stated_crops_row_by_row_then_the_frame():
    img = _picture()
    regions = region_images(img, RegionConfig())
    assert len(regions) == RegionConfig().count == 10
    # 80 % of 100 x 60 is 80 x 48; free margins 20 and 12; offsets 0, 10, 20 and 0, 6, 12
    boxes = [(x, y, x + 80, y + 48) for y in (0, 6, 12) for x in (0, 10, 20)]
    for r, box in zip(regions[:9], boxes):
        assert r.size == (80, 48) and r.tobytes() == img.crop(box).tobytes()
    framed = np.asarray(regions[9])
    assert framed.shape == (60 + 12, 100 + 12, 3)  # a frame of 10 % of the shorter side (6 px) on every side
    assert (framed[:6] == 255).all() and (framed[:, -6:] == 255).all()
    assert np.array_equal(framed[6:-6, 6:-6], np.asarray(img))


def test_config_shapes_and_validation():
    assert offsets(1) == [0.5] and offsets(3) == [0, 0.5, 1]
    assert RegionConfig(grid=1, frame=0).count == 1 and RegionConfig(grid=2).count == 5
    assert RegionConfig(grid=0).count == 1 and region_images(_picture(), RegionConfig(grid=0))[0].size == (112, 72)
    gray = region_images(_picture(mode="L"), RegionConfig(grid=1))
    assert [r.mode for r in gray] == ["L", "L"] and np.asarray(gray[1])[0, 0] == 255
    assert RegionConfig().penalties == (3,) * 9 + (0,) and RegionConfig(frame=0).penalties == (3,) * 9
    assert RegionConfig(grid=1, penalty=2, frame_penalty=2).slots_by_penalty() == {2: [0, 1]}
    assert RegionConfig(grid=2).slots_by_penalty() == {3: [0, 1, 2, 3], 0: [4]}
    assert RegionConfig(grid=1).row_penalties(3).tolist() == [3, 0, 3, 0, 3, 0]
    for bad in ({"crop": 1.0}, {"grid": 6}, {"grid": 0, "frame": 0}, {"frame": 0.5}, {"penalty": -1},
                {"frame_penalty": -1}):
        with pytest.raises(ValueError):
            RegionConfig(**bad)


def test_decode_regions_starts_with_the_decode_image_array():
    buf = io.BytesIO()
    rgba = _picture().convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 0))  # fully transparent: every region is white, as the whole is
    rgba.save(buf, "PNG")
    data = buf.getvalue()
    rows = decode_regions(data, 3, 16, lambda im: region_images(im, RegionConfig()))
    assert rows.shape == (11, 3, 16, 16) and rows.dtype == np.uint8
    assert np.array_equal(rows[0], decode_image(data, 3, 16))
    assert (rows == 255).all()
    buf = io.BytesIO()
    _picture().save(buf, "PNG")
    rows = decode_regions(buf.getvalue(), 1, 16, lambda im: region_images(im, RegionConfig(grid=1, frame=0)))
    assert rows.shape == (2, 1, 16, 16) and np.array_equal(rows[0], decode_image(buf.getvalue(), 1, 16))
    assert not np.array_equal(rows[0], rows[1])  # the centre crop is another picture
