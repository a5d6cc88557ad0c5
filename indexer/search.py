"""Queries against an index: images or codes in, ranked hits out."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from nacsearch.device import resolve_device
from nacsearch.encode import encode_images
from nacsearch.imageio import load_query
from nacsearch.indexer.index import Index, find_index


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
    """
    if radius is not None:
        found = index.faiss.range_search(codes, radius)
        if k:
            found = [(d[:k], i[:k]) for d, i in found]
    else:
        dist, ids = index.faiss.search(codes, k)
        found = []
        for d, i in zip(dist, ids):
            keep = i >= 0
            d, i = d[keep], i[keep]
            order = np.lexsort((i, d))
            found.append((d[order], i[order]))
    out = []
    for d, i in found:
        recs = index.store.get_many(i)
        out.append([Hit(r + 1, int(dd), int(ii), rec.abspath, rec.sha256)
                    for r, (dd, ii, rec) in enumerate(zip(d, i, recs)) if rec is not None])
    return out


def query_files(images: list[str | os.PathLike], index_dir: str | os.PathLike | None = None, k: int = 10,
                radius: int | None = None, device: str = "auto") -> list[list[Hit]]:
    """Open an index read-only (given, or the ``.nacsearch`` found beside the first image) and search."""
    with Index.open(index_dir or find_index(images[0]), readonly=True) as index:
        return search_images(index, list(images), k, radius, device)


def search_images(index: Index, paths: list[str | os.PathLike], k: int = 10, radius: int | None = None,
                  device: str = "auto") -> list[list[Hit]]:
    """Encode the query images with the index's model and search."""
    return search_codes(index, encode_query_images(index, paths, device), k, radius)
