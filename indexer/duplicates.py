"""Groups of near-duplicate images in an index: connected components of the radius-r graph.

Two images are linked when their codes are within Hamming distance ``r`` (inclusive); a group
is a connected component with at least two members (so a chain a-b-c is one group even when a
and c are further apart than r; each member's distance to the group's first member is given).

The links are found with FAISS range search on multi-hash tables built for this pass
(``IndexBinaryMultiHash``, 16-bit tables where the code allows, probed with enough flips to be
exact, see :mod:`nacsearch.indexer.binary_index`), query chunk by query chunk, and merged into a
union-find on the fly: memory grows with the codes and the links of one chunk, never n x n.

In an index with regions (:mod:`nacsearch.regions`) two images are also linked when one's whole-image
code lies within ``r - penalty`` of a region code of the other (the image distance of ``search``: the
smallest over their codes, a region's counting its penalty more), so a crop or a framed copy joins its
original's group; region codes are not linked to each other.
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
#                    mirror-summed codes, the prior at weight 4) in an index with build-index's regions (crops +3
#                    bits, the framed image +0): the largest radius with <= 0.1 false matches per query on the
#                    near-duplicate validation collection, averaged over two training seeds (r = 2: recall 0.758 at
#                    0.078 false/query; r = 3: 0.828 at 0.163; benchmarks/neardup/regions-validation.jsonl).  Whole
#                    images only gave the same radius (r = 2: 0.676 at 0.063).  The CLI's --radius help repeats
#                    this number (tested).


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


def duplicate_components(codes: np.ndarray, radius: int, chunk: int = 8192, progress: bool = False,
                         regions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[list[np.ndarray], int]:
    """Connected components (row positions, size >= 2) of the graph linking rows within ``radius``,
    and the number of links (unordered pairs) found.  ``regions = (owner, region codes, penalties)``:
    ``owner[j]`` is the row whose image region code j belongs to, ``penalties[j]`` what it adds (module doc)."""
    codes = C.as_packed(codes)
    n = len(codes)
    uf = UnionFind(n)
    links = 0
    for s, found in _chunks(codes, codes, radius, chunk, progress):
        for q, (_, rows) in enumerate(found, start=s):
            for j in rows[rows > q].tolist():
                links += 1
                uf.union(q, j)
    pairs = set()
    for owner, rcodes, pen in _penalty_groups(regions):
        if radius < pen:
            continue
        for s, found in _chunks(codes, rcodes, radius - pen, chunk, progress):
            for q, (_, rows) in enumerate(found, start=s):
                pairs.update((min(q, j), max(q, j)) for j in owner[rows].tolist() if j != q)
    if pairs:
        a, b = np.array(sorted(pairs)).T
        new = C.hamming_rows(codes[a], codes[b]) > radius  # pairs the whole codes did not link already
        for x, y in zip(a[new].tolist(), b[new].tolist()):
            links += 1
            uf.union(x, y)
    return uf.groups(), links


def _penalty_groups(regions) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(owner, packed codes, penalty) of the region rows of each penalty."""
    if regions is None or not len(regions[1]):
        return []
    owner, rcodes, pens = regions
    pens = np.asarray(pens)
    return [(owner[pens == p], C.as_packed(rcodes)[pens == p], int(p)) for p in np.unique(pens)]


def _chunks(queries: np.ndarray, base: np.ndarray, radius: int, chunk: int, progress: bool):
    """(first query row, range-search results) for chunks of ``queries`` against ``base`` (row ids)."""
    index = BinaryIndex(table_params(base.shape[1] * 8))
    index.add(base, np.arange(len(base), dtype=np.int64))
    for s in tqdm(range(0, len(queries), chunk), desc="duplicates", unit="chunk", disable=not progress,
                  file=sys.stderr, leave=False):
        yield s, index.range_search(queries[s:s + chunk], radius)


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
        regions = None
        if index.regions is not None:
            owner_ids, rcodes = index.store.all_region_codes(index.regions.count)
            keep = np.isin(owner_ids, ids)
            pens = index.regions.row_penalties(len(owner_ids) // index.regions.count)
            regions = (np.searchsorted(ids, owner_ids[keep]), rcodes[keep], pens[keep])
        comps, links = duplicate_components(codes, radius, progress=progress, regions=regions)
        groups = []
        for comp in comps:
            recs = index.store.get_many(ids[comp])
            dist = _to_first(codes, comp, regions)
            groups.append([{"id": int(ids[i]), "path": r.abspath if r else None, "sha256": r.sha256 if r else None,
                            "distance": int(d)}
                           for i, r, d in zip(comp, recs, dist)])
    return DuplicateGroups(int(radius), int(len(ids)), links, groups)


def _to_first(codes: np.ndarray, comp: np.ndarray, regions) -> np.ndarray:
    """Each member's distance to the component's first member (with regions, the image distance: module doc)."""
    dist = C.hamming_rows(codes[comp], np.repeat(codes[comp[:1]], len(comp), axis=0))
    if regions is None:
        return dist
    owner, rcodes, pens = regions  # owner is sorted: an image's region codes are one run of rows

    def of(row: int) -> slice:
        return slice(np.searchsorted(owner, row), np.searchsorted(owner, row, side="right"))

    first = comp[0]
    for m, row in enumerate(comp[1:], start=1):
        via = [C.hamming_rows(rcodes[r], np.repeat(codes[o:o + 1], r.stop - r.start, axis=0)) + pens[r]
               for r, o in ((of(row), first), (of(first), row)) if r.stop > r.start]
        dist[m] = min([int(dist[m])] + [int(v.min()) for v in via])
    return dist
