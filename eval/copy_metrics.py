"""Near-duplicate metrics: find the one original of each edited copy (pure numpy, chunked).

Conventions:

* **Pessimistic ties.** The rank of a copy's original is the number of database images at a
  Hamming distance <= the original's (the original itself included): an original tied with
  other images ranks *last* among them, so a method that maps many images to one code gains
  nothing from the tie.  recall@k = share of copies whose original has rank <= k.
* **Duplicate-detection trade-off.** For each radius r = 0..bits: recall(r) = share of copies
  whose original is within distance r; false(r) = mean number of *other* database images within
  r per copy.  ``best_recall_at_false`` is the largest recall(r) with false(r) <= the budget
  (0 when even r = 0 is over it), with the radius that achieves it.
* **Several codes per original** (``owner``, optional): database row j is a code of original
  ``owner[j]`` (say, the whole image and regions of it), and a copy's distance to an original is the
  smallest over that original's codes, each row's distance counted ``extra[j]`` bits more (0 by
  default: a region's code can be made to cost more than the whole image's); ranks and false matches
  count originals, not rows.
"""
from __future__ import annotations

import numpy as np

from nacsearch import codes as C
from nacsearch.eval.metrics import distance_counts, hamming_chunk


def copy_ranks(q_codes: np.ndarray, db_codes: np.ndarray, target: np.ndarray, chunk: int = 512,
               owner: np.ndarray | None = None, extra: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per copy: pessimistic rank of its original (1-based), distance to it, and the cumulative
    count of database originals at distance <= r for r = 0..bits, shape ``(nq, bits + 1)``.
    ``owner[j]`` (default ``j``) is the original of database row j, ``extra[j]`` (default 0) bits added to
    that row's distance (module doc); ``target`` indexes originals.  Distances are capped at ``bits``."""
    q, db = C.as_packed(q_codes), C.as_packed(db_codes)
    order, starts = _groups(len(db), owner)
    add = None if extra is None else np.asarray(extra, dtype=np.int64)[order]
    if add is not None and (add.shape != order.shape or add.min(initial=0) < 0):
        raise ValueError("extra must give every database row a distance >= 0 to add")
    target = np.asarray(target, dtype=np.int64)
    if len(q) != len(target) or (len(target) and (target.min() < 0 or target.max() >= len(starts))):
        raise ValueError("target must give one database original per query")
    bits = q.shape[1] * 8
    db_pm1 = C.to_pm1(db[order])
    ranks, dists, cum = [], [], []
    for s in range(0, len(q), chunk):
        dist = hamming_chunk(C.to_pm1(q[s:s + chunk]), db_pm1).astype(np.int64)  # (n, rows)
        if add is not None:
            dist = np.minimum(dist + add, bits)
        if len(starts) != len(order):
            dist = np.minimum.reduceat(dist, starts, axis=1)                  # (n, originals)
        d_t = dist[np.arange(len(dist)), target[s:s + chunk]]
        ranks.append((dist <= d_t[:, None]).sum(axis=1))
        dists.append(d_t)
        cum.append(distance_counts(dist, bits).cumsum(axis=1))
    return np.concatenate(ranks), np.concatenate(dists), np.concatenate(cum)


def _groups(rows: int, owner: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Database rows ordered by original, and where each original's rows start; every original
    0..max(owner) must own at least one row."""
    if owner is None:
        return np.arange(rows), np.arange(rows)
    owner = np.asarray(owner, dtype=np.int64)
    if owner.shape != (rows,) or (rows and (owner.min() < 0 or np.bincount(owner).min() == 0)):
        raise ValueError("owner must give every database row an original 0..n-1, each with a row")
    order = np.argsort(owner, kind="stable")
    return order, np.flatnonzero(np.r_[True, np.diff(owner[order]) != 0])


def tradeoff(dist_to_original: np.ndarray, cum_within: np.ndarray) -> dict:
    """recall(r) and false(r) for r = 0..bits from :func:`copy_ranks`'s outputs."""
    radii = np.arange(cum_within.shape[1])
    found = dist_to_original[:, None] <= radii[None, :]                  # (nq, bits+1)
    recall = found.mean(axis=0)
    false = (cum_within - found).mean(axis=0)                            # others within r
    return {"radius": radii.tolist(), "recall": recall.tolist(), "false_per_query": false.tolist()}


def best_recall_at_false(curve: dict, budget: float = 0.1) -> dict:
    """Largest recall with at most ``budget`` false matches per query, and the radius giving it."""
    best = {"recall": 0.0, "radius": None, "false_per_query": 0.0, "budget": budget}
    for r, rec, fp in zip(curve["radius"], curve["recall"], curve["false_per_query"]):
        if fp <= budget and rec > best["recall"]:
            best.update(recall=float(rec), radius=int(r), false_per_query=float(fp))
    return best


def copy_metrics(q_codes: np.ndarray, db_codes: np.ndarray, target: np.ndarray, kinds: list[str],
                 ks=(1, 10), budget: float = 0.1, owner: np.ndarray | None = None,
                 extra: np.ndarray | None = None) -> dict:
    """recall@k (pessimistic ties), per-edit recall@1, the trade-off curve and the best recall at
    ``budget`` false matches per query; ``kinds[i]`` is the edit that made query i; ``owner`` and
    ``extra`` as in :func:`copy_ranks`."""
    ranks, d_t, cum = copy_ranks(q_codes, db_codes, target, owner=owner, extra=extra)
    kinds_arr = np.asarray(kinds)
    curve = tradeoff(d_t, cum)
    out = {f"recall@{k}": float((ranks <= k).mean()) for k in ks}
    out["per_edit_recall@1"] = {k: float((ranks[kinds_arr == k] <= 1).mean()) for k in dict.fromkeys(kinds)}
    out["best_recall_at_false"] = best_recall_at_false(curve, budget)
    out["mean_distance_to_original"] = float(d_t.mean())
    out["tradeoff"] = curve
    out["distinct_database_codes"] = int(len(np.unique(C.as_packed(db_codes), axis=0)))
    return out
