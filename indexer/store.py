"""LMDB record store: the source of truth of an index.

Sub-databases (keys are fixed-width big-endian so LMDB's byte order is id order):

* ``records``: id (8 bytes) -> JSON {path, abspath, size, mtime_ns, sha256, labels?, meta?}
* ``codes``:   id (8 bytes) -> packed code bytes (``bits/8``)
* ``regions``: id (8 bytes) -> the packed codes of the image's regions, one after another (only in an
  index that indexes regions, :mod:`nacsearch.regions`)
* ``paths``:   SHA-256 of the absolute path's bytes (``os.fsencode``) -> id.  Hashing keeps
  the key within LMDB's 511-byte limit for any path the OS allows, and any file name
  (not valid UTF-8, newlines, ...) round-trips: JSON holds the path as text with
  surrogate escapes.
* ``sha``:     sha256 (32 bytes) + id (8 bytes) -> b"" (exact-duplicate lookup by prefix)
* ``meta``:    b"next_id", b"count", b"id_sum", b"layout" -> 8-byte integers

Every write is one transaction: a record, its code and its keys land together or
not at all.  ``MapFullError`` grows the map (x2) and retries; any other LMDB failure
(disk full, I/O error, read-only files) becomes a :class:`StoreError` that says so,
with nothing of that transaction committed.  The environment is reopened after
``fork()`` (an LMDB environment must not cross a fork).  Before mapping ``data.mdb``
its length is checked against its own meta pages, so a truncated file is refused
instead of ending the process with SIGBUS.  ``next_id`` never decreases: it is the
store's high-water mark, which the index compares with ``index.json``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import lmdb
import numpy as np

from nacsearch.indexer.lmdb_file import DATA_FILE, StoreError, check_data_file
from nacsearch.indexer.records import MAX_ID, Record, id_key, key_id, path_key

INITIAL_MAP = 1 << 30
LAYOUT = 2          # 1: paths keyed by UTF-8 text; 2: by SHA-256 of the path bytes

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
                self._env = None
            self._env = self._open()
            self._pid = os.getpid()
            create = not self.readonly
            self._dbs = {name: self._env.open_db(name.encode(), create=create)
                         for name in ("records", "codes", "paths", "sha", "meta")}
            try:  # a store written before regions existed has no such table (read-only: none is made)
                self._dbs["regions"] = self._env.open_db(b"regions", create=create)
            except lmdb.NotFoundError:
                self._dbs["regions"] = None
            if not self.readonly:
                self._migrate()
        return self._env

    def read(self) -> lmdb.Transaction:
        """A read transaction; adopts a map that another process grew (``MDB_MAP_RESIZED``)."""
        try:
            return self.env.begin()
        except lmdb.MapResizedError:
            self.env.set_mapsize(0)
            return self.env.begin()

    def _open(self) -> lmdb.Environment:
        if self.readonly and not (self.path / DATA_FILE).is_file():
            raise StoreError(f"{self.path}: no LMDB store")
        if not self.readonly:
            self.path.mkdir(parents=True, exist_ok=True)
        check_data_file(self.path)
        kw = dict(map_size=INITIAL_MAP, max_dbs=8, max_readers=1024, readonly=self.readonly, readahead=False)
        try:
            return lmdb.open(str(self.path), lock=True, **kw)
        except lmdb.Error as e:
            if not self.readonly:
                raise StoreError(f"cannot open {self.path} for writing: {e}") from None
        try:  # read-only files or folder: no lock file can be used; read without one
            return lmdb.open(str(self.path), lock=False, **kw)
        except lmdb.Error as e:
            raise StoreError(f"cannot open {self.path}: {e}") from None

    def _migrate(self) -> None:
        """Layout 1 -> 2: re-key ``paths`` by path hash (one transaction)."""
        def fn(txn):
            if self._meta_int(txn, b"layout") == LAYOUT:
                return
            paths = self._dbs["paths"]
            txn.drop(paths, delete=False)
            for k, v in txn.cursor(db=self._dbs["records"]):
                txn.put(path_key(self._record(k, v).abspath), k, db=paths)
            txn.put(b"layout", id_key(LAYOUT), db=self._dbs["meta"])

        self._write(fn)

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
            except lmdb.ReadonlyError:
                raise StoreError(f"{self.path} is read-only; nothing was written") from None
            except lmdb.Error as e:
                raise StoreError(f"cannot write to {self.path} ({e}); this batch was not committed, "
                                 f"everything committed before it is intact (disk full?)") from None

    def _meta_int(self, txn, key: bytes) -> int:
        v = txn.get(key, db=self._dbs["meta"])
        return 0 if v is None else key_id(v)

    def _record(self, k: bytes, raw: bytes) -> Record:
        try:
            return Record.from_json(raw)
        except (ValueError, TypeError) as e:
            raise StoreError(f"record {key_id(k)} in {self.path} is damaged ({e}); remove it with "
                             f"'nacsearch remove {key_id(k)}' or rebuild the index") from None

    # -- writes --------------------------------------------------------------
    def add(self, records: list[Record], codes: np.ndarray, replace: dict[str, int] | None = None,
            regions: np.ndarray | None = None) -> np.ndarray:
        """Insert records with their packed codes ``(n, code_bytes)``; returns the new ids (int64).

        ``replace`` maps abspath -> old id to delete in the same transaction (changed files);
        ``regions`` (``(n, R, code_bytes)``) are the records' region codes, stored with them.
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.shape != (len(records), self.code_bytes):
            raise ValueError(f"codes {codes.shape} do not match {len(records)} records of {self.code_bytes} bytes")
        if regions is not None:
            regions = np.ascontiguousarray(regions, dtype=np.uint8)
            if regions.ndim != 3 or regions.shape[0] != len(records) or regions.shape[2] != self.code_bytes:
                raise ValueError(f"region codes {regions.shape} do not match {len(records)} records")

        def fn(txn):
            if replace:
                self._delete_in(txn, list(replace.values()))
            start = self._meta_int(txn, b"next_id")
            ids = np.arange(start, start + len(records), dtype=np.int64)
            for i, rec, code in zip(ids, records, codes):
                k = id_key(i)
                if txn.get(path_key(rec.abspath), db=self.db("paths")) is not None:
                    raise ValueError(f"{rec.abspath!r} is already indexed")
                txn.put(k, rec.to_json(), db=self.db("records"))
                txn.put(k, code.tobytes(), db=self.db("codes"))
                if regions is not None:
                    txn.put(k, regions[i - start].tobytes(), db=self.db("regions"))
                txn.put(path_key(rec.abspath), k, db=self.db("paths"))
                txn.put(bytes.fromhex(rec.sha256) + k, b"", db=self.db("sha"))
            self._bump(txn, len(records), int(ids.sum()), next_id=start + len(records))
            return ids

        return self._write(fn)

    def move(self, moves: dict[int, Record]) -> int:
        """Give existing ids new records (a file renamed or moved; same content, same code)."""
        def fn(txn):
            for i, rec in moves.items():
                k = id_key(i)
                raw = txn.get(k, db=self.db("records"))
                if raw is None:
                    continue
                txn.delete(path_key(self._record(k, raw).abspath), db=self.db("paths"))
                txn.put(k, rec.to_json(), db=self.db("records"))
                txn.put(path_key(rec.abspath), k, db=self.db("paths"))
            return len(moves)

        return self._write(fn) if moves else 0

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
            txn.delete(k, db=self.db("records"))
            txn.delete(k, db=self.db("codes"))
            if self.db("regions") is not None:
                txn.delete(k, db=self.db("regions"))
            try:
                rec = self._record(k, raw)
            except StoreError:  # a damaged record can still be removed; sweep its keys by value
                self._sweep_keys(txn, k)
            else:
                txn.delete(path_key(rec.abspath), db=self.db("paths"))
                txn.delete(bytes.fromhex(rec.sha256) + k, db=self.db("sha"))
            n, s = n + 1, s + int(i)
        self._bump(txn, -n, -s)
        return n

    def _sweep_keys(self, txn, k: bytes) -> None:
        for name, by_value in (("paths", True), ("sha", False)):
            with txn.cursor(db=self.db(name)) as cur:
                dead = [key for key, v in cur if (v == k if by_value else key.endswith(k))]
            for key in dead:
                txn.delete(key, db=self.db(name))

    def delete(self, ids: Iterable[int]) -> int:
        """Delete records by id (unknown or out-of-range ids are ignored); returns how many were deleted."""
        ids = [int(i) for i in ids if 0 <= int(i) <= MAX_ID]
        return self._write(lambda txn: self._delete_in(txn, ids))

    # -- reads ---------------------------------------------------------------
    def _meta(self, key: bytes) -> int:
        with self.read() as txn:
            return self._meta_int(txn, key)

    def count(self) -> int:
        return self._meta(b"count")

    def id_sum(self) -> int:
        return self._meta(b"id_sum")

    def next_id(self) -> int:
        """One more than the largest id ever given (never decreases)."""
        return self._meta(b"next_id")

    def get(self, i: int) -> Record | None:
        return self.get_many([i])[0]

    def get_many(self, ids: Iterable[int]) -> list[Record | None]:
        keys = [id_key(i) if 0 <= int(i) <= MAX_ID else None for i in ids]
        with self.read() as txn:
            raws = [None if k is None else txn.get(k, db=self.db("records")) for k in keys]
        return [None if r is None else self._record(k, r) for k, r in zip(keys, raws)]

    def codes_for(self, ids: Iterable[int]) -> list[bytes | None]:
        """Stored packed codes of ``ids`` (None where absent)."""
        with self.read() as txn:
            return [txn.get(id_key(i), db=self.db("codes")) for i in ids]

    def id_for_path(self, abspath: str) -> int | None:
        with self.read() as txn:
            if self._meta_int(txn, b"layout") == LAYOUT:
                v = txn.get(path_key(abspath), db=self.db("paths"))
            else:  # layout 1, opened read-only (writers migrate on open)
                v = txn.get(abspath.encode("utf-8", "surrogateescape"), db=self.db("paths"))
        return None if v is None else key_id(v)

    def ids_for_sha(self, sha256: str) -> list[int]:
        prefix = bytes.fromhex(sha256)
        out = []
        with self.read() as txn, txn.cursor(db=self.db("sha")) as cur:
            if cur.set_range(prefix):
                for k in cur.iternext(values=False):
                    if not k.startswith(prefix):
                        break
                    out.append(key_id(k[32:]))
        return out

    def _scan(self, name: str) -> list[tuple[bytes, bytes]]:
        """Every (key, value) of table ``name`` in key (id) order; none when the table does not exist."""
        if self.db(name) is None:
            return []
        with self.read() as txn, txn.cursor(db=self.db(name)) as cur:
            return list(cur.iternext())

    def _ids_and_codes(self, items: list[tuple[bytes, bytes]], per_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids repeated ``per_id`` times, packed codes) from a codes-like table's items."""
        ids = np.repeat(np.fromiter((key_id(k) for k, _ in items), dtype=np.int64, count=len(items)), per_id)
        codes = np.frombuffer(b"".join(v for _, v in items), dtype=np.uint8).reshape(len(ids), self.code_bytes)
        return ids, codes.copy()

    def all_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), packed codes uint8 (n, code_bytes)) in id order."""
        return self._ids_and_codes(self._scan("codes"), 1)

    def all_region_codes(self, per_image: int) -> tuple[np.ndarray, np.ndarray]:
        """(owner ids int64 (m,), packed codes uint8 (m, code_bytes)): every stored region code in id order,
        ``per_image`` for each image; raises :class:`StoreError` when an image's entry has another length."""
        items = self._scan("regions")
        bad = next((key_id(k) for k, v in items if len(v) != per_image * self.code_bytes), None)
        if bad is not None:
            raise StoreError(f"{self.path}: the region codes of id {bad} are damaged; rebuild the index")
        return self._ids_and_codes(items, per_image)

    def iter_records(self) -> Iterable[tuple[int, Record]]:
        with self.read() as txn, txn.cursor(db=self.db("records")) as cur:
            for k, v in cur:
                yield key_id(k), self._record(k, v)

    def disk_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.glob("*") if f.is_file())
