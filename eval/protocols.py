"""Retrieval protocols: seeded, recorded query/database/training/validation splits.

| protocol      | pool                     | queries            | database  | training (from db)   | mAP          |
|---------------|--------------------------|--------------------|-----------|----------------------|--------------|
| cifar10       | train+test, 60,000       | 1,000/class        | the rest  | 500/class (5,000)    | @all, @1000  |
| mirflickr     | 25,000 (or 24,581 lab.)  | 2,000 random       | the rest  | 5,000 random         | @5000, @all  |
| fashion-mnist | train+test, 70,000       | 100/class (1,000)  | the rest  | 500/class (5,000)    | @1000        |

**Validation** (for every choice of checkpoint or hyper-parameter): validation queries
are drawn from the *training* images (100 per class, or 500 random for multi-label);
the validation database is the database without them.  Test queries are never part
of either, so nothing chosen on validation has seen a test query.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Protocol:
    name: str
    query_per_class: int = 0     # per-class query count (single-label); 0 = use n_query
    n_query: int = 0             # random query count (multi-label)
    train_per_class: int = 0
    n_train: int = 0
    val_per_class: int = 0
    n_val: int = 0
    map_at: tuple = ("all",)     # mAP cut-offs reported; the first is the headline

    @property
    def headline(self) -> str:
        return f"map@{self.map_at[0]}"


PROTOCOLS = {
    "fashion-mnist": Protocol("fashion-mnist", query_per_class=100, train_per_class=500, val_per_class=100,
                              map_at=(1000, "all")),
    "cifar10": Protocol("cifar10", query_per_class=1000, train_per_class=500, val_per_class=100,
                        map_at=("all", 1000)),
    "mirflickr": Protocol("mirflickr", n_query=2000, n_train=5000, n_val=500, map_at=(5000, "all")),
}


@dataclass(frozen=True)
class Split:
    """Index arrays into the pooled dataset (all sorted, int64)."""

    query: np.ndarray
    database: np.ndarray
    train: np.ndarray
    val_query: np.ndarray
    val_database: np.ndarray
    seed: int

    def sha256(self) -> str:
        h = hashlib.sha256()
        for a in (self.query, self.database, self.train, self.val_query, self.val_database):
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
            h.update(b"|")
        return h.hexdigest()

    def sizes(self) -> dict:
        return {k: int(len(getattr(self, k))) for k in ("query", "database", "train", "val_query", "val_database")}


def _per_class(labels: np.ndarray, pool: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picked = []
    for c in np.unique(labels[pool]):
        members = pool[labels[pool] == c]
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} images, {per_class} needed")
        picked.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(picked))


def _draw(labels: np.ndarray, pool: np.ndarray, per_class: int, n: int, rng: np.random.Generator) -> np.ndarray:
    if per_class:
        if labels.ndim != 1:
            raise ValueError("per-class sampling needs single-label (N,) labels")
        return _per_class(labels, pool, per_class, rng)
    if n > len(pool):
        raise ValueError(f"{n} items requested from a pool of {len(pool)}")
    return np.sort(rng.choice(pool, n, replace=False))


def make_split(labels: np.ndarray, protocol: Protocol, seed: int = 0, scale: float = 1.0) -> Split:
    """Seeded split of ``range(len(labels))``; ``scale`` < 1 shrinks every count (for tests and smoke runs)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    s = lambda v: max(1, int(round(v * scale))) if v else 0  # noqa: E731
    everything = np.arange(len(labels))
    query = _draw(labels, everything, s(protocol.query_per_class), s(protocol.n_query), rng)
    database = np.setdiff1d(everything, query)
    train = _draw(labels, database, s(protocol.train_per_class), s(protocol.n_train), rng)
    val_query = _draw(labels, train, s(protocol.val_per_class), s(protocol.n_val), rng)
    val_database = np.setdiff1d(database, val_query)
    return Split(query, database, train, val_query, val_database, seed)


def describe(protocol: Protocol, split: Split) -> dict:
    """JSON-ready description of a protocol and its split (sizes, hash, seed)."""
    return {"protocol": asdict(protocol), "sizes": split.sizes(), "seed": split.seed, "split_sha256": split.sha256()}
