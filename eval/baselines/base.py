"""The one protocol every method implements, so the same metric code scores all of them.

``fit(train_images, seed)`` learns from unlabeled ``uint8 (N, C, H, W)`` training images;
``encode(images)`` returns packed codes ``uint8 (n, bits/8)`` (layout of nacsearch.codes).
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np


class Hasher(Protocol):
    name: str
    bits: int

    def fit(self, train_images: np.ndarray, seed: int = 0) -> "Hasher": ...

    def encode(self, images: np.ndarray) -> np.ndarray: ...


FeatureFn = Callable[[np.ndarray], np.ndarray]


def pixel_features(images: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 (N, C*H*W) in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def checkpoint_features(model_dir: str, device: str = "cpu") -> FeatureFn:
    """Backbone features h (N, D) of a trained checkpoint, as a feature function."""
    from nacsearch.checkpoint import load_model
    from nacsearch.encode import preactivations

    model, _ = load_model(model_dir, device)
    return lambda images: preactivations(model, images, device, features=True)
