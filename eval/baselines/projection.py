"""Classic projection hashing on features: LSH, PCAH, ITQ, spectral hashing.

* LSH  -- sign of random Gaussian projections of centred features (Charikar 2002).
* PCAH -- sign of the top-``bits`` principal components.
* ITQ  -- PCA followed by the orthogonal rotation minimising quantisation error,
  alternating 50 iterations (Gong & Lazebnik, CVPR 2011); the fit is :mod:`nacsearch.itq`'s.
* SH   -- spectral hashing (Weiss, Torralba, Fergus, NIPS 2008): PCA, then the
  ``bits`` lowest-frequency 1-D Laplacian eigenfunctions sign(sin(pi/2 + k pi (x - a)/(b - a))).

Features default to raw pixels; pass ``features=checkpoint_features(dir)`` for deep features.
All sign functions use the codes module's tie rule (> 0 -> 1).
"""
from __future__ import annotations

import numpy as np

from nacsearch import codes as C
from nacsearch.itq import ITQ_ITERATIONS, itq_rotation, principal_directions
from nacsearch.eval.baselines.base import FeatureFn, pixel_features


class _Projection:
    name = "projection"

    def __init__(self, bits: int, features: FeatureFn | None = None) -> None:
        self.bits = C.check_bits(bits)
        self.features = features or pixel_features
        self.mean: np.ndarray | None = None

    def _pca(self, x: np.ndarray, k: int) -> np.ndarray:
        """(D, k) top principal directions of centred x."""
        return principal_directions(x, k)

    def fit(self, train_images: np.ndarray, seed: int = 0):
        x = self.features(train_images)
        self.mean = x.mean(axis=0)
        self._fit(x - self.mean, np.random.default_rng(seed))
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        if self.mean is None:
            raise RuntimeError(f"{self.name}: fit() before encode()")
        return C.encode_preactivations(self._project(self.features(images) - self.mean))


class LSH(_Projection):
    name = "lsh"

    def _fit(self, x, rng):
        self.w = rng.standard_normal((x.shape[1], self.bits)).astype(np.float32)

    def _project(self, x):
        return x @ self.w


class PCAH(_Projection):
    name = "pcah"

    def _fit(self, x, rng):
        self.w = self._pca(x, self.bits)

    def _project(self, x):
        return x @ self.w


class ITQ(_Projection):
    name = "itq"
    iterations = ITQ_ITERATIONS

    def _fit(self, x, rng):
        self.w = self._pca(x, self.bits)
        self.r = itq_rotation(x @ self.w, rng, self.iterations)

    def _project(self, x):
        return (x @ self.w) @ self.r


class SpectralHashing(_Projection):
    name = "sh"

    def _fit(self, x, rng):
        npca = min(self.bits, x.shape[1])
        self.w = self._pca(x, npca)
        v = x @ self.w
        self.lo, self.hi = v.min(axis=0) - 1e-6, v.max(axis=0) + 1e-6
        span = self.hi - self.lo
        # candidate modes (dim, k) with eigenvalue ~ (k / span)^2; keep the `bits` smallest
        ks = np.arange(1, self.bits + 1)
        cand = [(float((k / span[d]) ** 2), d, int(k)) for d in range(npca) for k in ks]
        cand.sort()
        self.modes = np.array([(d, k) for _, d, k in cand[:self.bits]], dtype=np.int64)

    def _project(self, x):
        v = x @ self.w
        d, k = self.modes[:, 0], self.modes[:, 1]
        omega = k * np.pi / (self.hi[d] - self.lo[d])
        return np.sin(np.pi / 2 + (v[:, d] - self.lo[d]) * omega)
