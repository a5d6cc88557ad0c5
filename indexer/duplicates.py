"""Groups of near-duplicate images in an index: connected components of the radius-r graph.

Two images are linked when their codes are within Hamming distance ``r`` (inclusive); a group
is a connected component with at least two members (so a chain a-b-c is one group even when a
and c are further apart than r; each member's distance to the group's first member is given).

The links are found with FAISS range search on multi-hash tables built for this pass
(``IndexBinaryMultiHash``, 16-bit tables where the code allows, probed with enough flips to be
exact, see :mod:`nacsearch.indexer.binary_index`), query chunk by query chunk, and merged into a
union-find on the fly: memory grows with the codes and the links of one chunk, never n x n.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from nacsearch import codes as C
from nacsearch.indexer.binary_index import BinaryIndex
from nacsearch.indexer.params import IndexParams

DEFAULT_RADIUS = 2  # 64-bit codes of the 'copies' recipe (2026-12-02: image normalisation, clean first views,
#                    mirror-summed codes, the prior at weight 4): the largest radius with <= 0.1 false matches per
#                    query on the near-duplicate validation collection, averaged over two training seeds (r = 2:
#                    recall 0.676 at 0.063 false/query; r = 3: 0.744 at 0.120;
#                    benchmarks/neardup/validation/fixed-copies-prior-4{,-seed-1}).  The recipe of 2026-12-01, with the
#                    prior's scale-free form, allowed r = 4: its codes crowd less.  The CLI's --radius help
#                    repeats this number (tested).


class UnionFind:
    """Disjoint sets over ``range(n)`` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)
        self.size = np.ones(n, dtype=np.int64)

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = int(p[i])
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]

    def groups(self) -> list[np.ndarray]:
        """Sets with two or more members, each sorted, ordered by their smallest member."""
        roots = np.fromiter((self.find(i) for i in range(len(self.parent))), np.int64, len(self.parent))
        order = np.argsort(roots, kind="stable")
        bounds = np.flatnonzero(np.diff(roots[order])) + 1
        sets = [s for s in np.split(order, bounds) if len(s) > 1]
        return sorted(sets, key=lambda s: int(s[0]))


def table_params(bits: int) -> IndexParams:
    """Multi-hash tables for a duplicates pass: 16-bit tables where the code allows."""
    nhash = max(1, bits // 16)
    return IndexParams("multihash", bits, nhash=nhash, hash_bits=bits // nhash)


def duplicate_components(codes: np.ndarray, radius: int, chunk: int = 8192,
                         progress: bool = False) -> tuple[list[np.ndarray], int]:
    """Connected components (row positions, size >= 2) of the graph linking rows within ``radius``,
    and the number of links (unordered pairs) found."""
    codes = C.as_packed(codes)
    n = len(codes)
    uf = UnionFind(n)
    index = BinaryIndex(table_params(codes.shape[1] * 8))
    index.add(codes, np.arange(n, dtype=np.int64))
    links = 0
    for s in tqdm(range(0, n, chunk), desc="duplicates", unit="chunk", disable=not progress, file=sys.stderr,
                  leave=False):
        for q, (_, found) in enumerate(index.range_search(codes[s:s + chunk], radius), start=s):
            for j in found[found > q].tolist():
                links += 1
                uf.union(q, j)
    return uf.groups(), links


@dataclass
class DuplicateGroups:
    """The groups of an index at one radius; members are ``{id, path, sha256, distance}`` dicts, where
    distance is to the group's first member (smallest id)."""

    radius: int
    images: int
    links: int
    groups: list[list[dict]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"radius": self.radius, "images": self.images, "links": self.links,
                "groups": len(self.groups), "images_in_groups": sum(len(g) for g in self.groups),
                "members": self.groups}


def find_duplicates(index_dir: str | os.PathLike, radius: int = DEFAULT_RADIUS, progress: bool = True) -> DuplicateGroups:
    """Every group of indexed images within Hamming ``radius`` of each other (module doc); read-only."""
    from nacsearch.indexer.index import Index

    if radius < 0:
        raise ValueError("radius must be >= 0")
    with Index.open(index_dir, readonly=True) as index:
        ids, codes = index.store.all_codes()
        comps, links = duplicate_components(codes, radius, progress=progress)
        groups = []
        for comp in comps:
            recs = index.store.get_many(ids[comp])
            dist = C.hamming_rows(codes[comp], np.repeat(codes[comp[:1]], len(comp), axis=0))
            groups.append([{"id": int(ids[i]), "path": r.abspath if r else None, "sha256": r.sha256 if r else None,
                            "distance": int(d)}
                           for i, r, d in zip(comp, recs, dist)])
    return DuplicateGroups(int(radius), int(len(ids)), links, groups)
