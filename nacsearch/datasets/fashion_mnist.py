"""Fashion-MNIST from its IDX files (``.gz`` or raw), e.g. Debian's ``dataset-fashion-mnist``.

The four files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (optionally ``.gz``).
``load_fashion_mnist`` pools train then test: 70,000 images ``uint8 (N, 28, 28)``.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from nacsearch.datasets.arrays import ArrayImages

DEFAULT_PATH = "/usr/share/datasets/fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_IDX_TYPES = {0x08: np.uint8}


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (magic 0x0000 0x08 ndim, big-endian dims, uint8 data)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(dims)) if dims else 0
    if len(data) - header != count:
        raise ValueError(f"{path}: expected {count} bytes of data for shape {dims}, found {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"{root}: missing {stem}[.gz] (install Debian's dataset-fashion-mnist "
                            f"or download the IDX files)")


def load_fashion_mnist(root: str | Path = DEFAULT_PATH) -> ArrayImages:
    """Train + test pooled: ``images uint8 (70000, 1, 28, 28)``, ``labels int64 (70000,)``."""
    root = Path(root)
    parts = []
    for split in ("train", "t10k"):
        x = read_idx(_find(root, f"{split}-images-idx3-ubyte"))
        y = read_idx(_find(root, f"{split}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{root}: {split} images {x.shape} do not match labels {y.shape}")
        parts.append((x, y))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    return ArrayImages(images, labels, name="fashion-mnist")
