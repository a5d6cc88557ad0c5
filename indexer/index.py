"""An index directory: model + LMDB records + FAISS binary index + index.json.

Layout of ``DIR``::

    DIR/index.json        parameters, counts, model hash, versions, git revision
    DIR/model/            model.safetensors + config.json (a copy of the encoder)
    DIR/store.lmdb/       records and codes (the source of truth)
    DIR/faiss.index       FAISS binary index (derived; rebuilt from LMDB when stale)
    DIR/skipped.jsonl     files that could not be indexed, with the reason

Opening validates everything: format, bits, model hash, LMDB code width.  When the
FAISS file disagrees with LMDB (an interrupted build), it is rebuilt from LMDB.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from nacsearch import codes as C
from nacsearch.checkpoint import CheckpointError, load_model, read_meta
from nacsearch.indexer.binary_index import BinaryIndex, IndexParams
from nacsearch.indexer.store import Store
from nacsearch.provenance import provenance, read_json, write_json

FORMAT, FORMAT_VERSION = "nacsearch-index", 1
INDEX_JSON, MODEL_DIR, STORE_DIR, FAISS_FILE, SKIPPED = "index.json", "model", "store.lmdb", "faiss.index", "skipped.jsonl"


class IndexError_(ValueError):
    """An index directory is missing, corrupt, or incompatible with the request."""


def default_index_dir(images: str | os.PathLike) -> Path:
    """``IMAGES/.nacsearch`` for a folder, ``<parent>/.nacsearch`` for a single file."""
    p = Path(images)
    return (p if p.is_dir() else p.parent) / ".nacsearch"


class Index:
    """A persistent Hamming index over image codes. Create with :meth:`create`, open with :meth:`open`.

    Use it as a context manager (``with Index.open(d) as index: ...``) or call :meth:`close`:
    the LMDB environment may be open only once per process.
    """

    def __init__(self, root: Path, meta: dict, params: IndexParams) -> None:
        self.root, self.meta, self.params = root, meta, params
        self.store = Store(root / STORE_DIR, params.bits // 8)
        self._model = None
        try:
            self.faiss = self._load_faiss()
        except BaseException:
            self.store.close()
            raise

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- lifecycle --------------------------------------------------------------
    @classmethod
    def create(cls, root: str | os.PathLike, model_dir: str | os.PathLike, params: IndexParams) -> "Index":
        """Make a new index directory holding a copy of the model at ``model_dir``."""
        root = Path(root)
        if (root / INDEX_JSON).exists():
            raise IndexError_(f"{root} already holds an index")
        model_meta = read_meta(model_dir)
        bits = model_meta["run"].model.bits
        if params.bits != bits:
            raise IndexError_(f"index bits {params.bits} differ from the model's {bits}")
        root.mkdir(parents=True, exist_ok=True)
        if Path(model_dir).resolve() != (root / MODEL_DIR).resolve():
            shutil.rmtree(root / MODEL_DIR, ignore_errors=True)
            shutil.copytree(model_dir, root / MODEL_DIR)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "params": dataclasses.asdict(params),
                "model": {"sha256": model_meta["weights_sha256"], "source": str(Path(model_dir).resolve()),
                          "config": model_meta["config"]["model"], "objective": model_meta["config"]["objective"]},
                "counts": {"records": 0, "faiss_ntotal": 0, "id_sum": 0}, "provenance": provenance()}
        write_json(root / INDEX_JSON, meta)
        return cls(root, meta, params)

    @classmethod
    def open(cls, root: str | os.PathLike, bits: int | None = None, model_dir: str | os.PathLike | None = None) -> "Index":
        """Open and validate an index; ``bits``/``model_dir`` (optional) must match what it holds."""
        root = Path(root)
        if not (root / INDEX_JSON).is_file():
            raise IndexError_(f"{root}: no index here (missing {INDEX_JSON}); build one with 'nacsearch build-index'")
        meta = read_json(root / INDEX_JSON)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise IndexError_(f"{root / INDEX_JSON}: not a {FORMAT} v{FORMAT_VERSION} file")
        try:
            params = IndexParams(**meta["params"])
            model_meta = read_meta(root / MODEL_DIR)
        except (TypeError, ValueError, KeyError) as e:
            raise IndexError_(f"{root}: invalid index: {e}") from None
        if model_meta["weights_sha256"] != meta["model"]["sha256"]:
            raise IndexError_(f"{root}: stored model does not match index.json (hash differs)")
        if bits is not None and bits != params.bits:
            raise IndexError_(f"{root}: index holds {params.bits}-bit codes, {bits} bits were requested")
        if model_dir is not None:
            other = read_meta(model_dir)["weights_sha256"]
            if other != meta["model"]["sha256"]:
                raise IndexError_(f"{root}: index was built with model {meta['model']['sha256'][:12]}, "
                                  f"not {model_dir} ({other[:12]}); use another --index or no --model")
        return cls(root, meta, params)

    def _load_faiss(self) -> BinaryIndex:
        path = self.root / FAISS_FILE
        n, s = self.store.count(), self.store.id_sum()
        c = self.meta["counts"]
        if path.is_file() and c.get("faiss_ntotal") == n and c.get("id_sum") == s:
            index = BinaryIndex.load(str(path), self.params)
            if index.ntotal == n:
                return index
        return self._rebuild_faiss(quiet=n == 0)

    def _rebuild_faiss(self, quiet: bool = False) -> BinaryIndex:
        ids, codes = self.store.all_codes()
        if not quiet:
            print(f"rebuilding the FAISS index from {len(ids)} LMDB records", file=sys.stderr)
        index = BinaryIndex(self.params)
        if len(ids):
            index.add(codes, ids)
        self.faiss = index
        return index

    def sync(self) -> None:
        """Make FAISS agree with LMDB (rebuild if needed), then write faiss.index and index.json."""
        if self.faiss.ntotal != self.store.count():
            self._rebuild_faiss()
        self.faiss.save(str(self.root / FAISS_FILE))
        self.meta["counts"] = {"records": self.store.count(), "faiss_ntotal": self.faiss.ntotal,
                               "id_sum": self.store.id_sum()}
        self.meta["updated"] = provenance()
        write_json(self.root / INDEX_JSON, self.meta)

    def close(self) -> None:
        self.store.close()

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

    # -- mutation ------------------------------------------------------------------
    def add_codes(self, records, codes: np.ndarray, replace: dict[str, int] | None = None) -> np.ndarray:
        """One atomic LMDB batch, then the FAISS add (an untrained IVF waits for :meth:`sync`)."""
        ids = self.store.add(records, codes, replace)
        if replace:
            self.faiss.remove(np.fromiter(replace.values(), dtype=np.int64))
        if self.params.index_type != "ivf" or self.faiss.ivf is not None:
            self.faiss.add(codes, ids)
        return ids

    def add(self, images: str | os.PathLike, batch_size: int = 256, device: str = "auto",
            progress: bool = False):
        """Index new and changed images under a folder (or one file); returns an AddReport."""
        from nacsearch.indexer.build import add_images

        return add_images(self, images, batch_size=batch_size, device=device, progress=progress)

    def search(self, queries, k: int = 10, radius: int | None = None, device: str = "auto"):
        """Hits per query, ordered by (distance, id).

        ``queries`` is packed codes ``uint8 (n, bits/8)`` or a list of image paths; with
        ``radius`` every item at Hamming distance <= radius is returned (``k`` caps, 0 = all).
        """
        from nacsearch.indexer.search import search_codes, search_images

        if isinstance(queries, np.ndarray):
            return search_codes(self, queries, k, radius)
        return search_images(self, list(queries), k, radius, device)

    def remove(self, ids) -> int:
        """Delete ids from LMDB and FAISS; returns how many records were deleted."""
        ids = np.asarray(list(ids), dtype=np.int64)
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
                "unique_codes": None if bal is None else bal["unique_codes"], "disk_bytes": disk}


def find_index(start: str | os.PathLike) -> Path:
    """The nearest ``.nacsearch`` index at or above ``start``'s folder (for ``query`` without --index)."""
    p = Path(start).resolve()
    for d in [p if p.is_dir() else p.parent, *(p if p.is_dir() else p.parent).parents]:
        if (d / ".nacsearch" / INDEX_JSON).is_file():
            return d / ".nacsearch"
    raise IndexError_(f"no .nacsearch index found at or above {p.parent}; pass --index")
