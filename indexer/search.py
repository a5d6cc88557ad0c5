"""Queries against an index: images or codes in, ranked hits out."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from nacsearch.device import resolve_device
from nacsearch.encode import encode_images
from nacsearch.imageio import load_query
from nacsearch.indexer.index import Index
from nacsearch.indexer.layout import find_index


@dataclass(frozen=True)
class Hit:
    """One search result; ``path`` is absolute (as indexed; any OS file name, surrogate-escaped)."""

    rank: int
    distance: int
    id: int
    path: str
    sha256: str

    def to_dict(self) -> dict:
        return asdict(self)


def encode_query_images(index: Index, paths: list[str | os.PathLike], device: str = "auto") -> np.ndarray:
    """Decode and encode query images exactly as the index did: packed codes (n, bits/8)."""
    dev = resolve_device(device)
    model = index.model(str(dev))
    arrays = np.stack([load_query(p, model.cfg.channels, model.cfg.image_size) for p in paths])
    return encode_images(model, arrays, dev)


def search_codes(index: Index, codes: np.ndarray, k: int = 10, radius: int | None = None) -> list[list[Hit]]:
    """k-NN (or every item within Hamming ``radius``, inclusive) for each packed query code.

    Results are ordered by (distance, id).  With ``radius``, ``k`` caps the hits (0 = no cap).
    ``k`` beyond the index size returns everything; a radius beyond the code length is the code length.
    In an index with regions an image's distance is the smallest over its codes, a region's counting its
    penalty more (:mod:`nacsearch.regions`); an image is listed once.
    """
    if radius is not None:
        found = index.faiss.range_search(codes, radius)
    else:
        dist, ids = index.faiss.search(codes, k)
        found = [(d[i >= 0], i[i >= 0]) for d, i in zip(dist, ids)]
    if index.regions is not None:
        found = [_nearest_per_image(w, r) for w, r in zip(found, _region_hits(index, codes, k, radius))]
    else:
        found = [_ordered(d, i) for d, i in found]
    if k:
        found = [(d[:k], i[:k]) for d, i in found]
    out = []
    for d, i in found:
        recs = index.store.get_many(i)
        out.append([Hit(r + 1, int(dd), int(ii), rec.abspath, rec.sha256)
                    for r, (dd, ii, rec) in enumerate(zip(d, i, recs)) if rec is not None])
    return out


def _ordered(d: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((i, d))  # by distance, then id
    return d[order], i[order]


def _region_hits(index: Index, codes: np.ndarray, k: int, radius: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query: (distance + penalty, image id) of its region-code hits, one penalty group at a time (within
    a group the penalty is a constant, so its nearest rows are its nearest images); k-NN asks each group for
    k x its regions per image rows, enough for k distinct images."""
    per_image = index.regions.slots_by_penalty()
    hits: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(len(codes))]
    for rindex, owner, pen in index.region_index():
        if rindex.ntotal == 0 or (radius is not None and radius < pen):
            continue
        if radius is not None:
            found = rindex.range_search(codes, radius - pen)
        else:
            dist, rows = rindex.search(codes, k * len(per_image[pen]))
            found = [(d[r >= 0], r[r >= 0]) for d, r in zip(dist, rows)]
        for h, (d, r) in zip(hits, found):
            h.append((d + pen, owner[r]))
    empty = (np.zeros(0, np.int32), np.zeros(0, np.int64))
    return [tuple(np.concatenate(x) for x in zip(empty, *h)) for h in hits]


def _nearest_per_image(whole: tuple[np.ndarray, np.ndarray], region: tuple[np.ndarray, np.ndarray]):
    """Each image once, at the smaller of its distances, ordered by (distance, id)."""
    d, i = _ordered(np.concatenate([whole[0], region[0]]), np.concatenate([whole[1], region[1]]))
    first = np.sort(np.unique(i, return_index=True)[1])
    return d[first], i[first]


def query_files(images: list[str | os.PathLike], index_dir: str | os.PathLike | None = None, k: int = 10,
                radius: int | None = None, device: str = "auto") -> list[list[Hit]]:
    """Open an index read-only (given, or the ``.nacsearch`` found beside the first image) and search."""
    with Index.open(index_dir or find_index(images[0]), readonly=True) as index:
        return search_images(index, list(images), k, radius, device)


def search_images(index: Index, paths: list[str | os.PathLike], k: int = 10, radius: int | None = None,
                  device: str = "auto") -> list[list[Hit]]:
    """Encode the query images with the index's model and search."""
    return search_codes(index, encode_query_images(index, paths, device), k, radius)
