"""An index directory: model + LMDB records + FAISS binary index + index.json.

See :mod:`nacsearch.indexer.layout` for the files.  Opening validates everything:
format and every field of index.json, bits, the model's weights hash and its
preprocessing config, the LMDB code width, and that the store is not missing, emptied
or older than index.json (refused: answering from nothing would look like "no
results").  ``faiss.index`` is derived data: it is checked against its recorded
SHA-256 and against the store (count, id checksum, a sample of codes) and rebuilt from
LMDB whenever it is missing, unreadable or disagrees.

A writable open takes the index's writer lock; ``readonly=True`` (query, info) takes
no lock, writes nothing and works on read-only files.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from nacsearch import codes as C
from nacsearch.checkpoint import CONFIG, WEIGHTS, CheckpointError, load_model, read_meta
from nacsearch.indexer.binary_index import BinaryIndex, IndexParams
from nacsearch.indexer.layout import (FAISS_FILE, INDEX_JSON, MODEL_DIR, SKIPPED, STORE_DIR, IndexError_,
                                      WriterLock, check_members, claim_index_dir)
from nacsearch.indexer.lmdb_file import DATA_FILE
from nacsearch.indexer.meta import FORMAT, FORMAT_VERSION, check_meta, model_mismatch
from nacsearch.indexer.store import Store, StoreError
from nacsearch.provenance import provenance, read_json, write_json
from nacsearch.regions import RegionConfig
from nacsearch.safeio import atomic_write_bytes, read_bytes

__all__ = ["Index", "IndexError_", "FAISS_FILE", "INDEX_JSON", "MODEL_DIR",
           "SKIPPED", "STORE_DIR"]
VERIFY_SAMPLE = 256
log = logging.getLogger(__name__)


class Index:
    """A persistent Hamming index over image codes. Create with :meth:`create`, open with :meth:`open`.

    Use it as a context manager (``with Index.open(d) as index: ...``) or call :meth:`close`:
    the LMDB environment may be open only once per process.
    """

    def __init__(self, root: Path, meta: dict, params: IndexParams, readonly: bool = False) -> None:
        self.root, self.meta, self.params, self.readonly = root, meta, params, readonly
        self._lock = None if readonly else WriterLock(root).acquire()
        self.store = Store(root / STORE_DIR, params.bits // 8, readonly=readonly)
        self._model = None
        self._regions = None  # per region penalty: (BinaryIndex, image id of each row, penalty); built lazily
        try:
            self._check_store()
            self.faiss = self._load_faiss()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- lifecycle --------------------------------------------------------------
    @classmethod
    def create(cls, root: str | os.PathLike, model_dir: str | os.PathLike, params: IndexParams,
               regions: RegionConfig | None = None) -> "Index":
        """Make a new index in a new or empty folder (or one this index owns) with a copy of the model;
        ``regions``: each image's regions get codes too (:mod:`nacsearch.regions`)."""
        root = Path(root)
        if (root / INDEX_JSON).exists():
            raise IndexError_(f"{root} already holds an index")
        model_meta = read_meta(model_dir)
        bits = model_meta["run"].model.bits
        if params.bits != bits:
            raise IndexError_(f"index bits {params.bits} differ from the model's {bits}")
        claim_index_dir(root)
        with WriterLock(root):
            _install_model(Path(model_dir), root / MODEL_DIR, model_meta["weights_sha256"])
            meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "params": dataclasses.asdict(params),
                    "model": {"sha256": model_meta["weights_sha256"], "source": str(Path(model_dir).resolve()),
                              "config": model_meta["config"]["model"], "objective": model_meta["config"]["objective"]},
                    "counts": {"records": 0, "faiss_ntotal": 0, "id_sum": 0, "next_id": 0},
                    "regions": None if regions is None else dataclasses.asdict(regions),
                    "provenance": provenance()}
            write_json(root / INDEX_JSON, meta)
            return cls(root, meta, params)

    @classmethod
    def open(cls, root: str | os.PathLike, bits: int | None = None, model_dir: str | os.PathLike | None = None,
             readonly: bool = False) -> "Index":
        """Open and validate an index; ``bits``/``model_dir`` (optional) must match what it holds."""
        root = Path(root)
        if not (root / INDEX_JSON).is_file():
            raise IndexError_(f"{root}: no index here (missing {INDEX_JSON}); build one with 'nacsearch build-index'")
        check_members(root)
        meta = read_json(root / INDEX_JSON)
        params = check_meta(root, meta)
        try:
            model_meta = read_meta(root / MODEL_DIR)
        except CheckpointError as e:
            raise IndexError_(f"{root}: invalid index: {e}") from None
        if model_meta["weights_sha256"] != meta["model"]["sha256"]:
            raise IndexError_(f"{root}: stored model does not match index.json (hash differs)")
        diff = model_mismatch(model_meta["config"].get("model", {}), meta["model"]["config"])
        if diff:
            raise IndexError_(f"{root}: {MODEL_DIR}/{CONFIG} was changed after indexing ({diff}); "
                              f"query codes would not match the stored ones")
        if bits is not None and bits != params.bits:
            raise IndexError_(f"{root}: index holds {params.bits}-bit codes, {bits} bits were requested")
        if model_dir is not None:
            other = read_meta(model_dir)["weights_sha256"]
            if other != meta["model"]["sha256"]:
                raise IndexError_(f"{root}: index was built with model {meta['model']['sha256'][:12]}, "
                                  f"not {model_dir} ({other[:12]}); use another --index or no --model")
        return cls(root, meta, params, readonly=readonly)

    def reload(self) -> None:
        """Read-only: take up what another process committed (index.json, FAISS); the model must be the same.

        Raises :class:`IndexError_` (the index keeps its previous state) when the folder no longer holds
        a valid index of the same model.
        """
        meta = read_json(self.root / INDEX_JSON)
        params = check_meta(self.root, meta)
        if meta["model"]["sha256"] != self.meta["model"]["sha256"] or params != self.params:
            raise IndexError_(f"{self.root}: the index was rebuilt with another model or parameters; reopen it")
        old = self.meta
        self.meta = meta
        self._regions = None
        try:
            self._check_store()
            self.faiss = self._load_faiss()
        except BaseException:
            self.meta = old
            raise

    def _check_store(self) -> None:
        """Refuse a store that is missing, emptied or older than index.json says."""
        c = self.meta["counts"]
        expected_next = int(c.get("next_id") or 0)
        damaged = f"{self.root / STORE_DIR} is missing or was replaced"
        advice = "restore it from a backup, or build a new index into another folder"
        if not (self.root / STORE_DIR / DATA_FILE).is_file():
            if c["records"] or expected_next:
                raise IndexError_(f"{damaged}: index.json records {c['records']} images; {advice}")
            if self.readonly:
                raise IndexError_(f"{self.root}: the index has no store yet; build it with 'nacsearch build-index'")
        try:
            count, next_id = self.store.count(), self.store.next_id()
        except StoreError as e:
            raise IndexError_(f"{e}") from None
        if next_id < expected_next or (count == 0 and c["records"] > 0):
            raise IndexError_(f"{damaged}: it holds {count} records where index.json records {c['records']}; {advice}")

    def _load_faiss(self) -> BinaryIndex:
        """faiss.index if it is intact and agrees with the store, else a rebuild from LMDB."""
        path = self.root / FAISS_FILE
        problem = "missing"
        if path.is_file():
            data = read_bytes(path)
            want = self.meta["counts"].get("faiss_sha256")
            try:
                if want is not None and hashlib.sha256(data).hexdigest() != want:
                    raise ValueError("its SHA-256 differs from index.json")
                index = BinaryIndex.from_bytes(data, self.params)
                problem = self._disagreement(index)
            except ValueError as e:
                problem = str(e)
            if problem is None:
                return index
        if problem != "missing" or self.store.count():
            log.warning("%s: %s is %s; rebuilding it from the %d LMDB records", self.root, FAISS_FILE,
                        problem if problem == "missing" else f"not usable ({problem})", self.store.count())
        index = self._rebuild_faiss()
        if not self.readonly:
            self.sync()
        return index

    def _disagreement(self, index: BinaryIndex) -> str | None:
        """Why ``index`` does not match the store (count, id checksum, sampled codes), or None."""
        n = self.store.count()
        if index.ntotal != n:
            return f"it holds {index.ntotal} codes, the store {n}"
        ids, codes = index.ids_and_codes()
        if int(ids.sum()) != self.store.id_sum():
            return "its ids differ from the store's"
        if n:
            pick = np.random.default_rng(n).choice(n, size=min(n, VERIFY_SAMPLE), replace=False)
            stored = self.store.codes_for(ids[pick])
            if any(s != codes[p].tobytes() for s, p in zip(stored, pick)):
                return "its codes differ from the store's"
        return None

    def _rebuild_faiss(self) -> BinaryIndex:
        ids, codes = self.store.all_codes()
        index = BinaryIndex(self.params)
        if len(ids):
            index.add(codes, ids)
        self.faiss = index
        return index

    def sync(self) -> None:
        """Make FAISS agree with LMDB (rebuild if needed), then write faiss.index and index.json."""
        if self.readonly:
            raise IndexError_(f"{self.root} was opened read-only")
        if self.faiss.ntotal != self.store.count():
            log.warning("%s: FAISS holds %d codes, the store %d; rebuilding", self.root, self.faiss.ntotal,
                        self.store.count())
            self._rebuild_faiss()
        data = self.faiss.to_bytes()
        atomic_write_bytes(self.root / FAISS_FILE, data)
        self.meta["counts"] = {"records": self.store.count(), "faiss_ntotal": self.faiss.ntotal,
                               "id_sum": self.store.id_sum(), "next_id": self.store.next_id(),
                               "faiss_sha256": hashlib.sha256(data).hexdigest()}
        self.meta["updated"] = provenance()
        write_json(self.root / INDEX_JSON, self.meta)

    def close(self) -> None:
        self.store.close()
        if self._lock is not None:
            self._lock.release()

    # -- model ---------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        return self.root / MODEL_DIR

    def model(self, device: str = "cpu"):
        if self._model is None:
            try:
                self._model, _ = load_model(self.model_dir, device, expect={"bits": self.params.bits})
            except CheckpointError as e:
                raise IndexError_(str(e)) from None
        return self._model

    # -- regions ---------------------------------------------------------------------
    @property
    def regions(self) -> RegionConfig | None:
        """The regions each image's codes cover besides the whole image (None: the whole image only)."""
        return None if self.meta.get("regions") is None else RegionConfig(**self.meta["regions"])

    def region_index(self) -> list[tuple[BinaryIndex, np.ndarray, int]]:
        """Per penalty of :meth:`RegionConfig.slots_by_penalty`: (FAISS index over those region codes, ids = row
        numbers; the image id of each row; the penalty), built from LMDB on first use after opening or changing
        the index (flat, or the index's hash tables)."""
        if self._regions is None:
            cfg = self.regions
            owner, codes = self.store.all_region_codes(cfg.count)
            slot = np.arange(len(owner)) % cfg.count  # rows are image after image, regions in order
            kind = "flat" if self.params.index_type == "ivf" else self.params.index_type
            self._regions = []
            for pen, slots in cfg.slots_by_penalty().items():
                rows = np.flatnonzero(np.isin(slot, slots))
                index = BinaryIndex(dataclasses.replace(self.params, index_type=kind))
                if len(rows):
                    index.add(codes[rows], np.arange(len(rows), dtype=np.int64))
                self._regions.append((index, owner[rows], pen))
        return self._regions

    # -- mutation ------------------------------------------------------------------
    def add_codes(self, records, codes: np.ndarray, replace: dict[str, int] | None = None,
                  regions: np.ndarray | None = None) -> np.ndarray:
        """One atomic LMDB batch, then the FAISS add (an untrained IVF waits for :meth:`sync`);
        ``regions`` ``(n, R, bits/8)``: the images' region codes, required exactly when the index has regions."""
        if (regions is None) != (self.regions is None):
            raise IndexError_(f"{self.root}: region codes are {'required' if self.regions else 'not used'} here")
        self._regions = None
        ids = self.store.add(records, codes, replace, regions)
        if replace:
            self.faiss.remove(np.fromiter(replace.values(), dtype=np.int64))
        if self.params.index_type != "ivf" or self.faiss.ivf is not None:
            self.faiss.add(codes, ids)
        return ids

    def remove(self, ids) -> int:
        """Delete ids from LMDB and FAISS; returns how many records were deleted."""
        ids = np.asarray(list(ids), dtype=np.int64)
        self._regions = None
        n = self.store.delete(ids)
        self.faiss.remove(ids)
        self.sync()
        return n

    # -- queries ---------------------------------------------------------------------
    def code_balance(self) -> dict:
        """:func:`nacsearch.codes.bit_balance` over every stored code (one LMDB scan)."""
        _, codes = self.store.all_codes()
        return C.bit_balance(codes)

    def info(self) -> dict:
        bal = self.code_balance()
        bal = bal if bal["n"] else None
        disk = sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())
        return {"index": str(self.root), "records": self.store.count(), "faiss_ntotal": self.faiss.ntotal,
                "bits": self.params.bits, "index_type": self.params.index_type, "params": dataclasses.asdict(self.params),
                "model": {k: self.meta["model"][k] for k in ("sha256", "config", "objective")},
                "mean_bit_balance": None if bal is None else bal["mean_balance"],
                "dead_bits": None if bal is None else bal["dead_bits"],
                "unique_codes": None if bal is None else bal["unique_codes"], "disk_bytes": disk,
                "regions": self.meta.get("regions")}


def _install_model(src: Path, dst: Path, sha256: str) -> None:
    """Copy a model's weights and config into ``dst`` (via a temp folder + rename); never deletes.

    An existing ``dst`` is kept when it holds the same weights (a resumed build, or a model
    trained in place) and refused otherwise.
    """
    if dst.exists():
        try:
            same = read_meta(dst)["weights_sha256"] == sha256
        except CheckpointError:
            same = False
        if not same:
            raise IndexError_(f"{dst} already holds another model; nothing was changed (choose another --index)")
        return
    tmp = Path(tempfile.mkdtemp(prefix=".model-", dir=dst.parent))
    try:
        for name in (WEIGHTS, CONFIG):
            shutil.copyfile(src / name, tmp / name)
        os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # the temp folder is ours
        raise
