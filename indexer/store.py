"""LMDB record store: the source of truth of an index.

Sub-databases (keys are fixed-width big-endian so LMDB's byte order is id order):

* ``records``: id (8 bytes) -> JSON {path, abspath, size, mtime_ns, sha256, labels?, meta?}
* ``codes``:   id (8 bytes) -> packed code bytes (``bits/8``)
* ``paths``:   absolute path (utf-8) -> id
* ``sha``:     sha256 (32 bytes) + id (8 bytes) -> b"" (exact-duplicate lookup by prefix)
* ``meta``:    b"next_id", b"count", b"id_sum" -> 8-byte integers

Every write is one transaction: a record, its code and its keys land together or
not at all.  ``MapFullError`` grows the map (x2) and retries.  The environment is
reopened after ``fork()`` (an LMDB environment must not cross a fork).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import lmdb
import numpy as np

_ID = ">Q"
INITIAL_MAP = 1 << 30


def id_key(i: int) -> bytes:
    return int(i).to_bytes(8, "big")


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
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, b: bytes) -> "Record":
        return cls(**json.loads(b))


class Store:
    """LMDB store of records and packed codes of a fixed byte width."""

    def __init__(self, path: str | os.PathLike, code_bytes: int, readonly: bool = False) -> None:
        self.path = Path(path)
        self.code_bytes = code_bytes
        self.readonly = readonly
        self._env: lmdb.Environment | None = None
        self._pid = -1

    # -- environment -------------------------------------------------------
    @property
    def env(self) -> lmdb.Environment:
        if self._env is None or self._pid != os.getpid():
            if self._env is not None:  # inherited across fork(): drop it (LMDB checks the pid on close)
                self._env.close()
            if not self.readonly:
                self.path.mkdir(parents=True, exist_ok=True)
            elif not self.path.is_dir():
                raise FileNotFoundError(f"{self.path}: no LMDB store")
            self._env = lmdb.open(str(self.path), map_size=INITIAL_MAP, max_dbs=8, max_readers=1024,
                                  readonly=self.readonly, lock=not self.readonly, readahead=False)
            self._pid = os.getpid()
            self._dbs = {name: self._env.open_db(name.encode(), create=not self.readonly)
                         for name in ("records", "codes", "paths", "sha", "meta")}
        return self._env

    def db(self, name: str):
        _ = self.env
        return self._dbs[name]

    def close(self) -> None:
        if self._env is not None and self._pid == os.getpid():
            self._env.close()
        self._env = None

    def _write(self, fn):
        """Run ``fn(txn)`` in one write transaction, growing the map on MapFullError."""
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    return fn(txn)
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)

    def _meta_int(self, txn, key: bytes) -> int:
        v = txn.get(key, db=self.db("meta"))
        return 0 if v is None else key_id(v)

    # -- writes --------------------------------------------------------------
    def add(self, records: list[Record], codes: np.ndarray, replace: dict[str, int] | None = None) -> np.ndarray:
        """Insert records with their packed codes ``(n, code_bytes)``; returns the new ids (int64).

        ``replace`` maps abspath -> old id to delete in the same transaction (changed files).
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.shape != (len(records), self.code_bytes):
            raise ValueError(f"codes {codes.shape} do not match {len(records)} records of {self.code_bytes} bytes")

        def fn(txn):
            if replace:
                self._delete_in(txn, list(replace.values()))
            start = self._meta_int(txn, b"next_id")
            ids = np.arange(start, start + len(records), dtype=np.int64)
            for i, rec, code in zip(ids, records, codes):
                k = id_key(i)
                if txn.get(rec.abspath.encode(), db=self.db("paths")) is not None:
                    raise ValueError(f"{rec.abspath} is already indexed")
                txn.put(k, rec.to_json(), db=self.db("records"))
                txn.put(k, code.tobytes(), db=self.db("codes"))
                txn.put(rec.abspath.encode(), k, db=self.db("paths"))
                txn.put(bytes.fromhex(rec.sha256) + k, b"", db=self.db("sha"))
            self._bump(txn, len(records), int(ids.sum()), next_id=start + len(records))
            return ids

        return self._write(fn)

    def _bump(self, txn, dcount: int, dsum: int, next_id: int | None = None) -> None:
        meta = self.db("meta")
        txn.put(b"count", id_key(self._meta_int(txn, b"count") + dcount), db=meta)
        txn.put(b"id_sum", id_key(self._meta_int(txn, b"id_sum") + dsum), db=meta)
        if next_id is not None:
            txn.put(b"next_id", id_key(next_id), db=meta)

    def _delete_in(self, txn, ids: Iterable[int]) -> int:
        n, s = 0, 0
        for i in ids:
            k = id_key(i)
            raw = txn.get(k, db=self.db("records"))
            if raw is None:
                continue
            rec = Record.from_json(raw)
            txn.delete(k, db=self.db("records"))
            txn.delete(k, db=self.db("codes"))
            txn.delete(rec.abspath.encode(), db=self.db("paths"))
            txn.delete(bytes.fromhex(rec.sha256) + k, db=self.db("sha"))
            n, s = n + 1, s + int(i)
        self._bump(txn, -n, -s)
        return n

    def delete(self, ids: Iterable[int]) -> int:
        """Delete records by id (unknown ids are ignored); returns how many were deleted."""
        ids = [int(i) for i in ids]
        return self._write(lambda txn: self._delete_in(txn, ids))

    # -- reads ---------------------------------------------------------------
    def count(self) -> int:
        with self.env.begin() as txn:
            return self._meta_int(txn, b"count")

    def id_sum(self) -> int:
        with self.env.begin() as txn:
            return self._meta_int(txn, b"id_sum")

    def get(self, i: int) -> Record | None:
        with self.env.begin() as txn:
            raw = txn.get(id_key(i), db=self.db("records"))
        return None if raw is None else Record.from_json(raw)

    def get_many(self, ids: Iterable[int]) -> list[Record | None]:
        with self.env.begin() as txn:
            raws = [txn.get(id_key(int(i)), db=self.db("records")) for i in ids]
        return [None if r is None else Record.from_json(r) for r in raws]

    def id_for_path(self, abspath: str) -> int | None:
        with self.env.begin() as txn:
            v = txn.get(abspath.encode(), db=self.db("paths"))
        return None if v is None else key_id(v)

    def ids_for_sha(self, sha256: str) -> list[int]:
        prefix = bytes.fromhex(sha256)
        out = []
        with self.env.begin() as txn, txn.cursor(db=self.db("sha")) as cur:
            if cur.set_range(prefix):
                for k in cur.iternext(values=False):
                    if not k.startswith(prefix):
                        break
                    out.append(key_id(k[32:]))
        return out

    def all_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), packed codes uint8 (n, code_bytes)) in id order."""
        with self.env.begin() as txn, txn.cursor(db=self.db("codes")) as cur:
            items = list(cur.iternext())
        ids = np.fromiter((key_id(k) for k, _ in items), dtype=np.int64, count=len(items))
        codes = np.frombuffer(b"".join(v for _, v in items), dtype=np.uint8).reshape(len(items), self.code_bytes)
        return ids, codes.copy()

    def iter_records(self) -> Iterable[tuple[int, Record]]:
        with self.env.begin() as txn, txn.cursor(db=self.db("records")) as cur:
            for k, v in cur:
                yield key_id(k), Record.from_json(v)

    def disk_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.glob("*") if f.is_file())
