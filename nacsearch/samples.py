"""Sample images made offline, for the README's first command and the tests.

``write_sample_images`` writes PNGs into ``DIR/<class>/<n>.png``: real
Fashion-MNIST images when the IDX files are found, otherwise a generated set of
ten shape classes (deterministic for a seed), and a ``labels.csv`` beside them.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image

from nacsearch.datasets.fashion_mnist import CLASSES as FMNIST_CLASSES, DEFAULT_PATH, load_fashion_mnist
from nacsearch.imageio import png_bytes
from nacsearch.safeio import atomic_write_bytes, atomic_write_text

SHAPES = ("disc", "square", "ring", "cross", "hstripes", "vstripes", "diagonal", "checker", "triangle", "dots")


def _shape(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cx, cy, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.18, 0.3)
    dx, dy = xx - cx, yy - cy
    f = rng.uniform(3, 6)
    masks = {
        "disc": dx ** 2 + dy ** 2 < r ** 2,
        "square": (abs(dx) < r) & (abs(dy) < r),
        "ring": abs(np.sqrt(dx ** 2 + dy ** 2) - r) < 0.06,
        "cross": ((abs(dx) < 0.06) | (abs(dy) < 0.06)) & (abs(dx) < r) & (abs(dy) < r),
        "hstripes": np.sin(yy * f * 2 * np.pi) > 0,
        "vstripes": np.sin(xx * f * 2 * np.pi) > 0,
        "diagonal": np.sin((xx + yy) * f * np.pi) > 0,
        "checker": (np.sin(xx * f * np.pi) * np.sin(yy * f * np.pi)) > 0,
        "triangle": (dy > -r) & (abs(dx) < (dy + r) / 2),
        "dots": (np.sin(xx * f * 2 * np.pi) > 0.6) & (np.sin(yy * f * 2 * np.pi) > 0.6),
    }
    fg, bg = rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.3)
    img = np.where(masks[kind], fg, bg) + rng.normal(0, 0.05, (size, size))
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def synthetic_images(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` generated grayscale images ``uint8 (n, size, size)`` and labels ``(n,)`` in 0..9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(SHAPES)
    return np.stack([_shape(SHAPES[k], size, rng) for k in labels]), labels


def write_sample_images(out_dir: str | Path, n: int = 1000, source: str = "auto", seed: int = 0,
                        fmnist_path: str | Path = DEFAULT_PATH) -> dict:
    """Write ``n`` labelled PNGs; returns {"source", "count", "dir", "classes"}."""
    out = Path(out_dir)
    use_fmnist = source == "fashion-mnist" or (source == "auto" and Path(fmnist_path).is_dir())
    if use_fmnist:
        data = load_fashion_mnist(fmnist_path)
        idx = np.sort(np.random.default_rng(seed).choice(len(data), size=min(n, len(data)), replace=False))
        images, labels, names = data.images[idx, 0], data.labels[idx], FMNIST_CLASSES
    elif source in ("auto", "synthetic"):
        images, labels = synthetic_images(n, seed=seed)
        names = SHAPES
    else:
        raise ValueError(f"unknown source {source!r} (auto, fashion-mnist, synthetic)")
    rows = []
    for i, (img, lab) in enumerate(zip(images, labels)):
        cls = names[int(lab)].replace("/", "-").replace(" ", "_").lower()
        path = out / cls / f"{i:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, png_bytes(Image.fromarray(img)))
        rows.append((str(path.relative_to(out)), int(lab), cls))
    table = io.StringIO(newline="")
    csv.writer(table).writerows([("path", "label", "class"), *rows])
    atomic_write_text(out / "labels.csv", table.getvalue())
    return {"source": "fashion-mnist" if use_fmnist else "synthetic", "count": len(rows), "dir": str(out),
            "classes": sorted({r[2] for r in rows})}
