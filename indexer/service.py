"""A long-lived, read-only view of an index for servers.

The index (LMDB + FAISS) and the model are loaded once; every request is answered from
memory.  Before answering, :meth:`LiveIndex.current` compares ``index.json``'s stat with the
one it loaded: an ``add``, ``remove`` or ``prune`` run by another process rewrites that file
when it finishes, and the FAISS index is then reloaded (LMDB readers see new commits by
themselves).  A reload that fails keeps the previous state and logs why; it never stops
the service.  Thumbnails are made from the indexed files through the bounded decoder and kept
in a small LRU cache keyed by (id, content hash).
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from nacsearch.device import resolve_device
from nacsearch.encode import encode_images
from nacsearch.imageio import decode_image, thumbnail_jpeg
from nacsearch.indexer.index import Index
from nacsearch.indexer.layout import INDEX_JSON, IndexError_
from nacsearch.indexer.search import Hit, search_codes
from nacsearch.indexer.records import MAX_ID, FileChanged, Record, indexed_content  # noqa: F401 (FileChanged re-exported)
from nacsearch.indexer.store import StoreError

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class UnknownId(KeyError):
    """An id that is not in the index."""


class LiveIndex:
    """Searches an index opened read-only, kept current with other processes' writes."""

    def __init__(self, root: str | os.PathLike, device: str = "auto", thumbnails: int = 2048) -> None:
        self.root = Path(root)
        self.device = resolve_device(device)
        self._stamp = _stamp(self.root / INDEX_JSON)
        self._index = Index.open(self.root, readonly=True)
        self.model = self._index.model(str(self.device))
        self._lock = threading.Lock()
        self._thumbs: OrderedDict[tuple[int, str, int], bytes] = OrderedDict()
        self._max_thumbs = thumbnails
        self._info: tuple | None = None

    def close(self) -> None:
        self._index.close()

    def current(self) -> Index:
        """The index, reloaded first when another process changed it."""
        stamp = _stamp(self.root / INDEX_JSON)
        if stamp != self._stamp and stamp is not None:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._index.reload()
                        log.info("%s: reloaded (%d records)", self.root, self._index.faiss.ntotal)
                    except (IndexError_, StoreError, ValueError, OSError) as e:
                        log.warning("%s: changed on disk but not reloaded, still serving the previous state: %s",
                                    self.root, e)
                    self._stamp = stamp
        return self._index

    @property
    def bits(self) -> int:
        return self._index.params.bits

    def search_image(self, data: bytes, k: int = 10, radius: int | None = None) -> list[Hit]:
        """Hits for an uploaded image's bytes; raises :class:`ImageError` when they are not a usable image."""
        cfg = self.model.cfg
        arr = decode_image(data, cfg.channels, cfg.image_size)
        code = encode_images(self.model, arr[None], self.device)
        return search_codes(self.current(), code, k, radius)[0]

    def search_id(self, id_: int, k: int = 10, radius: int | None = None) -> list[Hit]:
        """Hits for an indexed image (by its stored code); raises :class:`UnknownId`."""
        index = self.current()
        code = index.store.codes_for([id_])[0] if 0 <= id_ <= MAX_ID else None
        if code is None:
            raise UnknownId(id_)
        return search_codes(index, np.frombuffer(code, np.uint8)[None], k, radius)[0]

    def record(self, id_: int) -> Record:
        """The stored record of ``id_``; raises :class:`UnknownId`."""
        rec = self.current().store.get(id_) if 0 <= id_ <= MAX_ID else None
        if rec is None:
            raise UnknownId(id_)
        return rec

    def file_bytes(self, id_: int) -> tuple[Record, bytes]:
        """The indexed file's bytes, only if their SHA-256 is the one indexed: whatever the path now
        points to, nothing but indexed content is ever returned.  Raises :class:`UnknownId`,
        :class:`FileChanged`, or :class:`ImageError` (reason ``unreadable``: gone, no permission)."""
        rec = self.record(id_)
        return rec, indexed_content(id_, rec.abspath, rec.sha256)

    def thumbnail(self, id_: int, side: int = 192) -> bytes:
        """A JPEG thumbnail of indexed image ``id_`` (see :meth:`file_bytes` for what can be raised)."""
        rec = self.record(id_)
        key = (id_, rec.sha256, side)
        with self._lock:
            if key in self._thumbs:
                self._thumbs.move_to_end(key)
                return self._thumbs[key]
        jpeg = thumbnail_jpeg(indexed_content(id_, rec.abspath, rec.sha256), side)
        with self._lock:
            self._thumbs[key] = jpeg
            while len(self._thumbs) > self._max_thumbs:
                self._thumbs.popitem(last=False)
        return jpeg

    def info(self) -> dict:
        """:meth:`Index.info` of the current state (computed once per state: it scans every code)."""
        index = self.current()
        cached = self._info
        if cached is None or cached[0] != self._stamp:
            cached = self._info = (self._stamp, index.info())
        return cached[1]
