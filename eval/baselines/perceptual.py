"""Perceptual hashes via the ``imagehash`` package: average, difference and DCT hash.

They need no training.  ``imagehash`` produces ``hash_size ** 2`` bits; for a code
length that is not a square the next larger square is computed and its first
``bits`` bits are kept (the natural length is 64 = 8 x 8, the one usually quoted).
imagehash returns bits row-major; they are packed with nacsearch's bit order.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from nacsearch import codes as C

KINDS = {"ahash": "average_hash", "dhash": "dhash", "phash": "phash"}


class PerceptualHash:
    def __init__(self, bits: int, kind: str = "phash") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        self.bits, self.kind, self.name = C.check_bits(bits), kind, kind
        self.hash_size = math.isqrt(bits - 1) + 1 if math.isqrt(bits) ** 2 != bits else math.isqrt(bits)

    def fit(self, train_images: np.ndarray, seed: int = 0) -> "PerceptualHash":
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        import imagehash

        fn = getattr(imagehash, KINDS[self.kind])
        out = np.zeros((len(images), self.bits), np.uint8)
        for i, img in enumerate(images):
            arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
            h = fn(Image.fromarray(arr), hash_size=self.hash_size).hash.ravel()
            out[i] = h[:self.bits]
        return C.pack(out)
