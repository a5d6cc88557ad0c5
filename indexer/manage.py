"""Index maintenance operations used by the CLI and the Python API."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from nacsearch.indexer.index import Index
from nacsearch.indexer.records import MAX_ID


@dataclass(frozen=True)
class Removed:
    """What ``remove`` did: records removed, the items not in the index, records left."""

    removed: int
    not_found: tuple[str, ...]
    records: int

    def to_dict(self) -> dict:
        return {**asdict(self), "not_found": list(self.not_found)}


@dataclass(frozen=True)
class Pruned:
    """What ``prune`` did: records of deleted files removed, records left."""

    pruned: int
    records: int

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_ids(index: Index, items: list[str]) -> tuple[list[int], list[str]]:
    """Map paths (absolute or relative to the current folder) or decimal ids to stored ids; returns (ids, not found)."""
    ids, missing = [], []
    for item in items:
        i = index.store.id_for_path(os.path.abspath(item))
        if i is None:  # indexes built before paths were kept unresolved stored the real path
            i = index.store.id_for_path(str(Path(item).resolve()))
        if i is None and item.isdigit() and int(item) <= MAX_ID and index.store.codes_for([int(item)])[0] is not None:
            i = int(item)
        if i is None:
            missing.append(item)
        else:
            ids.append(i)
    return ids, missing


def remove_paths(index: Index, items: list[str]) -> Removed:
    """Remove by path or id."""
    ids, missing = resolve_ids(index, items)
    n = index.remove(ids) if ids else 0
    return Removed(n, tuple(missing), index.store.count())


def index_info(index_dir: str | os.PathLike) -> dict:
    """:meth:`Index.info` of an index opened read-only."""
    with Index.open(index_dir, readonly=True) as index:
        return index.info()


def remove_from_index(index_dir: str | os.PathLike, items: list[str]) -> Removed:
    """Open an index and :func:`remove_paths` from it."""
    with Index.open(index_dir) as index:
        return remove_paths(index, items)


def prune_missing(index: Index) -> int:
    """Remove the records whose files no longer exist; returns how many."""
    gone = [i for i, rec in index.store.iter_records() if not os.path.lexists(rec.abspath)]
    return index.remove(gone) if gone else 0


def prune_index(index_dir: str | os.PathLike) -> Pruned:
    """Open an index and drop the records of deleted files."""
    with Index.open(index_dir) as index:
        n = prune_missing(index)
        return Pruned(n, index.store.count())
