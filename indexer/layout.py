"""The index directory: its file names, where it is, who owns it, and the one-writer lock.

Layout of ``DIR``::

    DIR/nacsearch.owner   marks a folder nacsearch created or claimed empty (it writes only there)
    DIR/index.json        parameters, counts, model hash, versions, git revision
    DIR/model/            model.safetensors + config.json (a copy of the encoder)
    DIR/store.lmdb/       records and codes (the source of truth)
    DIR/faiss.index       FAISS binary index (derived; verified on open, rebuilt from LMDB)
    DIR/skipped.jsonl     files that could not be indexed, with the reason
    DIR/write.lock        held (flock) by the one process changing the index

nacsearch writes into a folder only if it is new, empty, or already an index
(``nacsearch.owner`` or ``index.json``).  None of the members above may be a symlink:
an index holding one is refused before anything is read or written.
"""
from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from nacsearch.safeio import UnsafePathError, atomic_write_text, open_nofollow, refuse_symlinks

INDEX_JSON, MODEL_DIR, STORE_DIR, FAISS_FILE, SKIPPED = "index.json", "model", "store.lmdb", "faiss.index", "skipped.jsonl"
OWNER, LOCK_FILE = "nacsearch.owner", "write.lock"
MEMBERS = (OWNER, INDEX_JSON, MODEL_DIR, STORE_DIR, f"{STORE_DIR}/data.mdb", f"{STORE_DIR}/lock.mdb",
           FAISS_FILE, SKIPPED, LOCK_FILE, f"{MODEL_DIR}/model.safetensors", f"{MODEL_DIR}/config.json")


class IndexError_(ValueError):
    """An index directory is missing, corrupt, or incompatible with the request."""


def check_members(root: Path) -> None:
    """Refuse an index folder whose members are symlinks (raises IndexError_)."""
    try:
        refuse_symlinks(root, MEMBERS)
    except UnsafePathError as e:
        raise IndexError_(f"{e.strerror}; refusing to use {root}") from None


def is_owned(root: Path) -> bool:
    return (root / OWNER).is_file() or (root / INDEX_JSON).is_file()


def claim_index_dir(root: Path) -> None:
    """Make ``root`` an index folder: create it, or claim it if empty; refuse anything else.

    A folder holding other files is never written into (so nothing of the user's is
    replaced or deleted).
    """
    if root.exists() and not root.is_dir():
        raise IndexError_(f"{root} exists and is not a folder")
    if root.is_dir():
        check_members(root)
        if is_owned(root):
            return
        if any(root.iterdir()):
            raise IndexError_(f"{root} is not empty and is not a nacsearch index; nacsearch writes an index only "
                              f"into a new or empty folder (choose another --index)")
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / OWNER, "This folder is a nacsearch index; nacsearch creates and replaces files here.\n")


class WriterLock:
    """An exclusive ``flock`` on ``DIR/write.lock``, re-entrant within one process."""

    _held: dict[str, list] = {}     # real path -> [fd, count]
    _mutex = threading.Lock()

    def __init__(self, root: Path) -> None:
        self.key = os.path.realpath(root / LOCK_FILE)
        self.root = root
        self.acquired = False

    def acquire(self) -> "WriterLock":
        with self._mutex:
            held = self._held.get(self.key)
            if held is None:
                held = [self._lock(), 0]
                self._held[self.key] = held
            held[1] += 1
        self.acquired = True
        return self

    def _lock(self) -> int:
        try:
            fd = open_nofollow(self.key, os.O_RDWR | os.O_CREAT)
        except UnsafePathError as e:
            raise IndexError_(f"{e.strerror}; refusing to use {self.root}") from None
        except OSError as e:
            raise IndexError_(f"cannot update {self.root}: {e.strerror} (read-only?)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise IndexError_(f"another process is updating {self.root}; try again when it has finished") from None
        return fd

    def release(self) -> None:
        if not self.acquired:
            return
        self.acquired = False
        with self._mutex:
            held = self._held[self.key]
            held[1] -= 1
            if held[1] == 0:
                os.close(held[0])  # closing the descriptor drops the flock
                del self._held[self.key]

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def default_index_dir(images: str | os.PathLike) -> Path:
    """``IMAGES/.nacsearch`` for a folder, ``<parent>/.nacsearch`` for a single file."""
    p = Path(images)
    return (p if p.is_dir() else p.parent) / ".nacsearch"


def find_index(start: str | os.PathLike) -> Path:
    """The nearest ``.nacsearch`` index at or above ``start``'s folder (for ``query`` without --index)."""
    p = Path(start).resolve()
    for d in [p if p.is_dir() else p.parent, *(p if p.is_dir() else p.parent).parents]:
        if (d / ".nacsearch" / INDEX_JSON).is_file():
            return d / ".nacsearch"
    raise IndexError_(f"no .nacsearch index found at or above {p.parent}; pass --index")
