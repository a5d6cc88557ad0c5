"""In-memory image datasets: ``uint8 (N, C, H, W)`` plus optional labels."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


def sample_indices(n: int, max_images: int, seed: int) -> np.ndarray:
    """The seeded training sample: ``max_images`` of ``range(n)`` drawn without replacement, sorted
    (everything when ``max_images`` is 0 or >= n).  The one rule for folders and in-memory datasets."""
    if not max_images or max_images >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 0x5A4D]).choice(n, max_images, replace=False))


class ArrayImages(Dataset):
    """Images held in memory; items are ``uint8`` tensors ``(C, H, W)``.

    ``labels`` is ``(N,)`` int (single-label) or ``(N, L)`` {0,1} (multi-label) or None.
    Implements ``__getitems__`` so a DataLoader fetches a whole batch with one index.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, name: str = "arrays") -> None:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 (N, H, W) or (N, C, H, W), got {images.dtype} {images.shape}")
        if images.ndim == 3:
            images = images[:, None]
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(labels)} labels for {len(images)} images")
        self.images = np.ascontiguousarray(images)
        self.labels = None if labels is None else np.asarray(labels)
        self.name = name

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[2])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(self.images[i])

    def __getitems__(self, idx: list[int]) -> torch.Tensor:
        return torch.from_numpy(self.images[np.asarray(idx)])

    def sample(self, max_images: int, seed: int) -> "ArrayImages":
        """The seeded sample of :func:`sample_indices` (this dataset itself when nothing is left out)."""
        if not max_images or len(self) <= max_images:
            return self
        return self.subset(sample_indices(len(self), max_images, seed))

    def subset(self, idx: np.ndarray) -> "ArrayImages":
        """A new dataset holding rows ``idx`` (copies)."""
        idx = np.asarray(idx)
        return ArrayImages(self.images[idx], None if self.labels is None else self.labels[idx], self.name)


def collate_batch(batch) -> torch.Tensor:
    """DataLoader collate: a batch from ``__getitems__`` is already a tensor; else stack items."""
    if isinstance(batch, torch.Tensor):
        return batch
    return torch.stack(list(batch))
