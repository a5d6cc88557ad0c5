"""Principal components and iterative quantisation (ITQ): one linear map from features to code bits.

ITQ (Gong & Lazebnik, CVPR 2011): centre the features, project them on their top ``bits``
principal directions, then alternate 50 times between the codes B = sign(V R) and the orthogonal
rotation R that minimises the quantisation error ||B - V R||_F (an SVD of B^T V).  The result is
an affine map u = (x - mean) W R whose signs are the codes; :mod:`nacsearch.eval.baselines.projection`
scores it on pixels or learned features, and :mod:`nacsearch.code_layer` installs it as an
encoder's last linear layer.  Pure numpy; the randomness (R's start) comes from the caller's ``rng``.
"""
from __future__ import annotations

import numpy as np

ITQ_ITERATIONS = 50


def principal_directions(x: np.ndarray, k: int) -> np.ndarray:
    """(D, k) top-``k`` principal directions of centred features ``x`` (N, D), largest variance first."""
    if k > x.shape[1]:
        raise ValueError(f"{k} components requested from {x.shape[1]}-dim features")
    cov = np.cov(x, rowvar=False).astype(np.float64).reshape(x.shape[1], x.shape[1])
    _, vecs = np.linalg.eigh(cov)                       # ascending eigenvalues
    return vecs[:, ::-1][:, :k].astype(np.float32)


def itq_rotation(v: np.ndarray, rng: np.random.Generator, iterations: int = ITQ_ITERATIONS) -> np.ndarray:
    """(k, k) orthogonal R minimising ||sign(V R) - V R||_F for PCA-projected features ``v`` (N, k)."""
    k = v.shape[1]
    r = np.linalg.qr(rng.standard_normal((k, k)))[0].astype(np.float32)
    for _ in range(iterations):
        b = np.where(v @ r > 0, 1.0, -1.0).astype(np.float32)
        u, _, wt = np.linalg.svd(b.T @ v)               # max tr(B^T V R) -> R = (U W^T)^T
        r = (u @ wt).T.astype(np.float32)
    return r


def fit_itq(x: np.ndarray, bits: int, rng: np.random.Generator,
            iterations: int = ITQ_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """ITQ on features ``x`` (N, D): returns (mean (D,), projection (D, bits)); codes are
    sign((x - mean) @ projection) with the codes module's tie rule (> 0 -> 1)."""
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"ITQ needs (N >= 2, D) features, got shape {x.shape}")
    mean = x.mean(axis=0).astype(np.float32)
    centred = x - mean                                  # (N, D)
    w = principal_directions(centred, bits)
    r = itq_rotation(centred @ w, rng, iterations)
    return mean, (w @ r).astype(np.float32)
