"""Index maintenance operations used by the CLI and the Python API."""
from __future__ import annotations

from pathlib import Path

from nacsearch.indexer.index import Index


def resolve_ids(index: Index, items: list[str]) -> tuple[list[int], list[str]]:
    """Map paths (as given, resolved) or decimal ids to stored ids; returns (ids, not found)."""
    ids, missing = [], []
    for item in items:
        i = index.store.id_for_path(str(Path(item).resolve()))
        if i is None and item.isdigit() and index.store.get(int(item)) is not None:
            i = int(item)
        if i is None:
            missing.append(item)
        else:
            ids.append(i)
    return ids, missing


def remove_paths(index: Index, items: list[str]) -> dict:
    """Remove by path or id; returns {"removed", "not_found", "records"}."""
    ids, missing = resolve_ids(index, items)
    n = index.remove(ids) if ids else 0
    return {"removed": n, "not_found": missing, "records": index.store.count()}
