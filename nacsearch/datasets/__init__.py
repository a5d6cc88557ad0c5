"""Dataset adapters. ``open_dataset(spec)`` understands ``KIND:PATH`` specs and folders.

* ``fashion-mnist:PATH`` -- IDX files (train + test pooled, 70,000, 28 px grayscale)
* ``cifar10:PATH``       -- python or binary batches (60,000, 32 px RGB)
* ``mirflickr:PATH``     -- MIRFLICKR-25K images + 24 label files (decoded at ``image_size``)
* any other value        -- a folder of images, walked recursively
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nacsearch.datasets.arrays import ArrayImages
from nacsearch.datasets.cifar10 import load_cifar10
from nacsearch.datasets.fashion_mnist import load_fashion_mnist
from nacsearch.datasets.imagefolder import decode_paths, folder_format, load_image_folder, walk_images
from nacsearch.datasets.mirflickr import load_mirflickr

KINDS = ("fashion-mnist", "cifar10", "mirflickr")
NATIVE = {"fashion-mnist": (1, 28), "cifar10": (3, 32), "mirflickr": (3, 64)}


def parse_spec(spec: str) -> tuple[str, Path]:
    """``"kind:path"`` -> (kind, path); a plain path -> ("folder", path)."""
    kind, sep, rest = spec.partition(":")
    if sep and kind in KINDS:
        return kind, Path(rest)
    return "folder", Path(spec)


def dataset_format(spec: str, channels: int | None = None, image_size: int | None = None) -> tuple[int, int]:
    """(channels, image_size) a spec is loaded at: given values, else the kind's native format,
    else (folders) :func:`~nacsearch.datasets.imagefolder.folder_format`."""
    kind, path = parse_spec(spec)
    if kind == "folder":
        return folder_format(path, channels, image_size)
    ch, size = NATIVE[kind]
    return channels or ch, image_size or size


def open_dataset(spec: str, channels: int | None = None, image_size: int | None = None,
                 progress: bool = True, max_images: int = 0, seed: int = 0) -> ArrayImages:
    """Load a dataset spec into memory as uint8 images (format from :func:`dataset_format`).

    ``max_images`` > 0 keeps a seeded sample (:func:`~nacsearch.datasets.arrays.sample_indices`);
    folders are sampled before decoding.
    """
    kind, path = parse_spec(spec)
    channels, image_size = dataset_format(spec, channels, image_size)
    if kind == "folder":
        return load_image_folder(path, channels, image_size, progress, max_images, seed).data
    return _open_kind(kind, path, channels, image_size, progress).sample(max_images, seed)


def _open_kind(kind: str, path: Path, channels: int, image_size: int, progress: bool) -> ArrayImages:
    if kind == "mirflickr":
        idx = load_mirflickr(path)
        arrays, skipped = decode_paths(idx.paths, channels, image_size, progress=progress)
        if skipped:
            raise ValueError(f"{path}: {len(skipped)} MIRFLICKR images unreadable, e.g. {skipped[0]}")
        return ArrayImages(np.stack(arrays), idx.labels, name="mirflickr")
    data = load_fashion_mnist(path) if kind == "fashion-mnist" else load_cifar10(path)
    return convert(data, channels, image_size)


def convert(data: ArrayImages, channels: int, image_size: int) -> ArrayImages:
    """Change channel count (gray <-> RGB) and size (bilinear) of an in-memory dataset."""
    x = data.images
    if x.shape[1] != channels:
        if channels == 3:
            x = np.repeat(x, 3, axis=1)
        else:
            w = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
            x = np.clip((x * w).sum(axis=1, keepdims=True) + 0.5, 0, 255).astype(np.uint8)
    if x.shape[2] != image_size or x.shape[3] != image_size:
        import torch
        from torch.nn import functional as F

        out = []
        for i in range(0, len(x), 4096):
            t = torch.from_numpy(x[i:i + 4096]).float()
            t = F.interpolate(t, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
            out.append(t.round().clamp(0, 255).to(torch.uint8).numpy())
        x = np.concatenate(out)
    return ArrayImages(x, data.labels, data.name)


__all__ = ["ArrayImages", "open_dataset", "parse_spec", "dataset_format", "folder_format", "convert", "walk_images",
           "load_fashion_mnist", "load_cifar10", "load_mirflickr", "load_image_folder", "decode_paths"]
