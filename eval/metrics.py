"""Hamming-ranking retrieval metrics (pure numpy, chunked over queries).

Conventions (stated once, used everywhere):

* **Ranking.** The database is sorted by true Hamming distance to the query; ties are
  broken by database index (a stable sort), so results are deterministic.
* **Relevance.** Query and item are relevant when they share at least one label:
  single-label ``(N,)`` integer labels compare equal; multi-label ``(N, L)`` {0,1}
  labels have a positive inner product.
* **AP@R.** Over the top R items (R = ``"all"`` for the whole database):
  ``AP = sum_k P@k * rel_k / sum_k rel_k``; a query with no relevant item in its top R
  scores 0.  mAP is the mean over all queries.
* **Precision within radius r.** Items at distance <= r; a query that retrieves
  nothing scores precision 0 (the usual hashing convention).
* **PR curve.** For each radius r = 0..bits: precision and recall of the items at
  distance <= r, averaged over queries; queries retrieving nothing are left out of
  that radius's precision mean.

Memory is bounded by ``chunk`` queries x database size.
"""
from __future__ import annotations

import numpy as np

from nacsearch import codes as C


def relevance(q_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """bool (nq, ndb): shares at least one label."""
    q, db = np.asarray(q_labels), np.asarray(db_labels)
    if q.ndim == 1 and db.ndim == 1:
        return q[:, None] == db[None, :]
    if q.ndim == 2 and db.ndim == 2 and q.shape[1] == db.shape[1]:
        return (q.astype(np.float32) @ db.astype(np.float32).T) > 0
    raise ValueError(f"labels must both be (N,) or both (N, L); got {q.shape} and {db.shape}")


def hamming_chunk(q_pm1: np.ndarray, db_pm1: np.ndarray) -> np.ndarray:
    """Hamming distances from +-1 float codes: (bits - q . db) / 2, as uint16 (nq, ndb)."""
    bits = q_pm1.shape[1]
    return np.rint((bits - q_pm1 @ db_pm1.T) / 2).astype(np.uint16)


def rank(dist: np.ndarray) -> np.ndarray:
    """Row-wise ranking by distance with ties broken by database index (stable radix sort)."""
    return np.argsort(dist, axis=1, kind="stable")


def average_precision(rel_sorted: np.ndarray, topk: int | None) -> np.ndarray:
    """AP@topk per row of relevance flags already in rank order (nq, ndb) -> (nq,)."""
    r = rel_sorted[:, :topk] if topk else rel_sorted
    hits = np.cumsum(r, axis=1, dtype=np.float64)
    prec = hits / np.arange(1, r.shape[1] + 1)
    n_rel = r.sum(axis=1)
    ap = (prec * r).sum(axis=1)
    return np.divide(ap, n_rel, out=np.zeros_like(ap), where=n_rel > 0)


def _parse_topk(topk, ndb: int) -> int | None:
    if topk in ("all", None, 0):
        return None
    return min(int(topk), ndb)


def evaluate(q_codes: np.ndarray, db_codes: np.ndarray, q_labels: np.ndarray, db_labels: np.ndarray,
             map_at=(1000, "all"), precision_at=(1, 10, 100, 500, 1000), radius: int = 2,
             pr_curve: bool = True, chunk: int = 256) -> dict:
    """All metrics in one pass over query chunks. Codes are packed ``uint8 (n, bits/8)``."""
    q_codes, db_codes = C.as_packed(q_codes), C.as_packed(db_codes)
    if q_codes.shape[1] != db_codes.shape[1]:
        raise ValueError("query and database codes have different lengths")
    if len(q_codes) != len(q_labels) or len(db_codes) != len(db_labels):
        raise ValueError("labels do not match codes")
    bits, ndb = q_codes.shape[1] * 8, len(db_codes)
    db_pm1 = C.to_pm1(db_codes)
    aps = {str(k): [] for k in map_at}
    p_at = {int(n): [] for n in precision_at if int(n) <= ndb}
    p_rad, pr_p, pr_r = [], [], []
    for s in range(0, len(q_codes), chunk):
        dist = hamming_chunk(C.to_pm1(q_codes[s:s + chunk]), db_pm1)
        rel = relevance(q_labels[s:s + chunk], db_labels)
        order = rank(dist)
        rel_sorted = np.take_along_axis(rel, order, axis=1)
        for k in map_at:
            aps[str(k)].append(average_precision(rel_sorted, _parse_topk(k, ndb)))
        for n in p_at:
            p_at[n].append(rel_sorted[:, :n].mean(axis=1))
        within = dist <= radius
        n_ret = within.sum(axis=1)
        p_rad.append(np.divide((within & rel).sum(axis=1), n_ret, out=np.zeros(len(dist)), where=n_ret > 0))
        if pr_curve:
            p, r = _pr_counts(dist, rel, bits)
            pr_p.append(p)
            pr_r.append(r)
    out = {f"map@{k}": float(np.concatenate(v).mean()) for k, v in aps.items()}
    out["precision@n"] = {str(n): float(np.concatenate(v).mean()) for n, v in p_at.items()}
    out[f"precision@radius{radius}"] = float(np.concatenate(p_rad).mean())
    if pr_curve:
        out["pr_curve"] = _pr_average(np.concatenate(pr_p), np.concatenate(pr_r))
    return out


def distance_counts(dist: np.ndarray, bits: int, where: np.ndarray | None = None) -> np.ndarray:
    """Per row of ``dist`` (n, ndb): how many items (only those flagged in ``where``) lie at each
    Hamming distance 0..bits, ``int64 (n, bits + 1)``; a cumulative sum gives counts within r."""
    n = len(dist)
    cell = (np.arange(n, dtype=np.int64)[:, None] * (bits + 1) + dist).ravel()  # (row, distance) bins
    if where is not None:
        cell = cell[where.ravel()]
    return np.bincount(cell, minlength=n * (bits + 1)).reshape(n, bits + 1)


def _pr_counts(dist: np.ndarray, rel: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query precision (NaN where nothing is retrieved) and recall at radii 0..bits."""
    ret, hit = distance_counts(dist, bits).cumsum(axis=1), distance_counts(dist, bits, rel).cumsum(axis=1)
    total = hit[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(ret > 0, hit / np.maximum(ret, 1), np.nan)
        rec = np.where(total > 0, hit / np.maximum(total, 1), 0.0)
    return prec, rec


def _pr_average(prec: np.ndarray, rec: np.ndarray) -> dict:
    with np.errstate(invalid="ignore"):
        p = np.nanmean(np.where(np.isnan(prec).all(axis=0), 0.0, prec), axis=0) if len(prec) else prec
    return {"radius": list(range(prec.shape[1])), "precision": [float(x) for x in p],
            "recall": [float(x) for x in rec.mean(axis=0)]}


def mean_average_precision(q_codes, db_codes, q_labels, db_labels, topk=1000, chunk: int = 256) -> float:
    """mAP@topk (``"all"`` for the whole database) under the conventions above."""
    return evaluate(q_codes, db_codes, q_labels, db_labels, map_at=(topk,), precision_at=(),
                    pr_curve=False, chunk=chunk)[f"map@{topk}"]


def split_scores(codes: np.ndarray, labels: np.ndarray, split, digits: int = 4) -> dict:
    """Codes of a whole dataset (packed, (N, bits/8)) scored on a saved protocol split (``split.npz``'s arrays:
    query, database, val_query, val_database index the dataset): {"test": ..., "validation": ...}, each
    mAP@1000, mAP@all and precision within radius 2, rounded to ``digits``."""
    out = {}
    for name, q, db in (("test", "query", "database"), ("validation", "val_query", "val_database")):
        m = evaluate(codes[split[q]], codes[split[db]], labels[split[q]], labels[split[db]], map_at=(1000, "all"),
                     precision_at=(), pr_curve=False)
        out[name] = {k: round(v, digits) for k, v in m.items() if isinstance(v, float)}
    return out
