"""What the store holds about one image, and the keys it is found by.

A :class:`Record` is the JSON value of the ``records`` table (see :mod:`nacsearch.indexer.store`);
ids are non-negative 63-bit integers keyed as 8 big-endian bytes, so LMDB's byte order is id order;
paths are keyed by the SHA-256 of their OS bytes.  :func:`indexed_content` is the one way to read an
indexed file back: only the content that was indexed is ever returned.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacsearch.imageio import ImageError

MAX_ID = (1 << 63) - 1


def id_key(i: int) -> bytes:
    i = int(i)
    if not 0 <= i <= MAX_ID:
        raise ValueError(f"id {i} is outside 0..{MAX_ID}")
    return i.to_bytes(8, "big")


def path_key(abspath: str) -> bytes:
    """Key of the ``paths`` table: SHA-256 of the path's OS bytes (any name, any length)."""
    return hashlib.sha256(os.fsencode(abspath)).digest()


def key_id(b: bytes) -> int:
    return int.from_bytes(b, "big")


@dataclass(frozen=True)
class Record:
    """One indexed image. ``path`` is as given; ``abspath`` resolved; ``sha256`` hex of the content."""

    path: str
    abspath: str
    size: int
    mtime_ns: int
    sha256: str
    labels: list | None = None
    meta: dict | None = None

    def to_json(self) -> bytes:
        d = {k: v for k, v in self.__dict__.items() if v is not None}
        return json.dumps(d, separators=(",", ":")).encode()  # ASCII: surrogates become \\udcXX escapes

    @classmethod
    def from_json(cls, b: bytes) -> "Record":
        return cls(**json.loads(b))


class FileChanged(Exception):
    """The indexed file's content is no longer what was indexed (edited, replaced, or now a link elsewhere)."""


def indexed_content(id_: int, abspath: str, sha256: str) -> bytes:
    """The bytes at ``abspath`` if their SHA-256 is the indexed ``sha256``: whatever the path now
    points to, nothing but indexed content is returned.  Raises :class:`FileChanged`, or
    :class:`~nacsearch.imageio.ImageError` (reason ``unreadable``: gone, no permission)."""
    try:
        data = Path(abspath).read_bytes()
    except OSError as e:
        raise ImageError.unreadable(e) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise FileChanged(f"id {id_}: the file changed since it was indexed; run 'nacsearch add' to update")
    return data
