"""Perceptual hashes via the ``imagehash`` package: average, difference, DCT and wavelet hash.

They need no training.  ``imagehash`` produces ``hash_size ** 2`` bits; for a code
length that is not a square the next larger square is computed and its first
``bits`` bits are kept (the natural length is 64 = 8 x 8, the one usually quoted).
imagehash returns bits row-major; they are packed with nacsearch's bit order.

``encode`` takes the protocol's uint8 arrays; ``encode_pil`` takes whole PIL images, the way
a user calls imagehash on a file (the near-duplicate protocol uses it).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from nacsearch import codes as C

KINDS = {"ahash": "average_hash", "dhash": "dhash", "phash": "phash", "whash": "whash"}


class PerceptualHash:
    def __init__(self, bits: int, kind: str = "phash") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        self.bits, self.kind, self.name = C.check_bits(bits), kind, kind
        self.hash_size = math.isqrt(bits - 1) + 1 if math.isqrt(bits) ** 2 != bits else math.isqrt(bits)
        if kind == "whash" and self.hash_size & (self.hash_size - 1):
            raise ValueError(f"whash needs a square power-of-two length (16, 64, 256 bits), got {bits}")

    def fit(self, train_images: np.ndarray, seed: int = 0) -> "PerceptualHash":
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        """uint8 ``(N, C, H, W)`` -> packed codes."""
        return self.encode_pil([Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0))
                                for img in images])

    def encode_pil(self, images: list[Image.Image]) -> np.ndarray:
        """PIL images (any size and mode imagehash accepts) -> packed codes ``uint8 (N, bits/8)``."""
        import imagehash

        fn = getattr(imagehash, KINDS[self.kind])
        out = np.zeros((len(images), self.bits), np.uint8)
        for i, img in enumerate(images):
            out[i] = fn(img, hash_size=self.hash_size).hash.ravel()[:self.bits]
        return C.pack(out)
