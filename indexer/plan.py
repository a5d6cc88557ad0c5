"""Which files an add must encode: new ones, changed ones, and renamed or moved ones.

* files already indexed with the same size and mtime are unchanged (this is what makes an
  interrupted build resume); a changed file is re-encoded and replaces its old record.
* a new path whose content (SHA-256) is indexed under a path that no longer exists is a
  renamed or moved file: its record takes the new path and keeps its id.

Paths are compared and stored absolute (``os.path.abspath``: symlinks are not resolved).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from nacsearch.imageio import ImageError, skip_row
from nacsearch.indexer.index import Index
from nacsearch.indexer.records import Record

Todo = tuple[Path, os.stat_result, "int | None"]  # a file to encode, its stat, the id it replaces


def plan_files(index: Index, paths: Iterable[Path], skipped: list[dict]) -> tuple[list[Todo], int]:
    """(files to encode, number unchanged); files that cannot be stat-ed are appended to ``skipped``."""
    todo: list[Todo] = []
    unchanged = 0
    for p in paths:
        try:
            st = p.stat()
        except OSError as e:
            skipped.append(skip_row(p, ImageError.unreadable(e)))
            continue
        old = index.store.id_for_path(os.path.abspath(p))
        if old is not None:
            rec = index.store.get(old)
            if rec is not None and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
                unchanged += 1
                continue
        todo.append((p, st, old))
    return todo, unchanged


def split_moved(index: Index, good: list) -> tuple[list, dict[int, Record]]:
    """Separate renamed/moved files (same content as a record whose file is gone) from new ones.

    ``good`` holds (record, image, replaced id); returns (to encode, {kept id: new record}).
    """
    new, moves = [], {}
    for rec, arr, old in good:
        if old is None:
            gone = [i for i in index.store.ids_for_sha(rec.sha256) if i not in moves
                    and not os.path.lexists(index.store.get(i).abspath)]
            if gone:
                moves[gone[0]] = rec
                continue
        new.append((rec, arr, old))
    return new, moves
