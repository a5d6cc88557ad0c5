"""FAISS binary indices behind one interface, with ids equal to the LMDB ids.

Index types:

* ``flat``      -- ``IndexBinaryIDMap2(IndexBinaryFlat)``: exact k-NN and radius search, removal.
* ``hash``      -- flat (exact k-NN) + ``IndexBinaryHash`` on a b-bit prefix for radius search.
* ``multihash`` -- flat (exact k-NN) + ``IndexBinaryMultiHash`` (nhash tables) for radius search.
* ``ivf``       -- ``IndexBinaryIVF`` (trained Hamming k-means, ``nprobe`` lists searched):
  approximate for large collections; exact when ``nprobe == nlist``.

**Radius semantics.** ``range_search(q, r)`` returns every item at Hamming distance
``<= r``.  FAISS keeps distances strictly below its radius, so FAISS is asked for
``r + 1``.  The hash tables are probed with enough flips to make radius search
exact: ``nflip = r`` for ``hash``; ``nflip = r // nhash`` for ``multihash``
(pigeonhole: some table's b bits differ in at most ``r // nhash`` places).  A radius is
clamped to the code length (every code is within ``bits``).  When probing the tables
would visit more buckets than there are codes (large radius: the probes grow as
``sum C(b, i), i <= nflip``), the exact flat scan answers instead -- same result, bounded time.

``k`` is capped at the number of stored codes, so a huge ``k`` never allocates more
than the index holds.

**GPU.** When faiss sees a GPU, exact k-NN on ``flat`` runs on ``GpuIndexBinaryFlat``
(k <= 2048); everything the GPU index lacks stays on the CPU.
"""
from __future__ import annotations

import math

import faiss
import numpy as np

from nacsearch.codes import as_packed
from nacsearch.indexer.params import INDEX_TYPES, IndexParams  # noqa: F401  (re-exported)

GPU_MAX_K = 2048


class BinaryIndex:
    """Hamming search over packed codes with int64 ids."""

    def __init__(self, params: IndexParams) -> None:
        self.params = params
        self.flat = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(params.bits))
        self.ivf: faiss.IndexBinaryIVF | None = None
        self.table = None           # hash / multihash index over positions in ``self.flat``
        self._table_ids = np.zeros(0, np.int64)
        self._gpu = None             # cached GpuIndexBinaryFlat copy of ``flat`` (positions, not ids)

    # -- construction ---------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(self.ivf.ntotal if self.ivf is not None else self.flat.ntotal)

    def ids(self) -> np.ndarray:
        """Stored ids in insertion order (flat types)."""
        return faiss.vector_to_array(self.flat.id_map).astype(np.int64)

    def ids_and_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), packed codes (n, bits/8)) of every stored code, any index type."""
        if self.params.index_type != "ivf":
            return self.ids(), self.codes()
        if self.ivf is None:
            return np.zeros(0, np.int64), np.zeros((0, self.params.bits // 8), np.uint8)
        inv, nb = self.ivf.invlists, self.params.bits // 8
        ids, codes = [], []
        for lst in range(inv.nlist):
            n = inv.list_size(lst)
            if n:
                ids.append(faiss.rev_swig_ptr(inv.get_ids(lst), n).copy())
                codes.append(faiss.rev_swig_ptr(inv.get_codes(lst), n * nb).copy().reshape(n, nb))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, nb), np.uint8)
        return np.concatenate(ids).astype(np.int64), np.concatenate(codes)

    def codes(self) -> np.ndarray:
        """Stored codes ``uint8 (n, bits/8)`` in insertion order (flat types)."""
        xb = faiss.vector_to_array(faiss.downcast_IndexBinary(self.flat.index).xb)
        return xb.reshape(-1, self.params.bits // 8)

    def add(self, codes: np.ndarray, ids: np.ndarray) -> None:
        """Add packed codes ``(n, bits/8)`` with ids ``int64 (n,)``."""
        codes, ids = self._check(codes), np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) != len(codes):
            raise ValueError(f"{len(ids)} ids for {len(codes)} codes")
        self._gpu = None
        if self.params.index_type == "ivf":
            self._ivf_add(codes, ids)
            return
        self.flat.add_with_ids(codes, ids)
        self._rebuild_table() if self.table is None else self._table_add(codes, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; returns how many were removed."""
        sel = np.ascontiguousarray(ids, dtype=np.int64)
        self._gpu = None
        if self.params.index_type == "ivf":
            return int(self.ivf.remove_ids(sel)) if self.ivf is not None else 0
        n = int(self.flat.remove_ids(sel))
        if n and self.table is not None:
            self._rebuild_table()
        return n

    def _check(self, codes: np.ndarray) -> np.ndarray:
        codes = as_packed(codes)
        if codes.shape[1] * 8 != self.params.bits:
            raise ValueError(f"codes have {codes.shape[1] * 8} bits, index has {self.params.bits}")
        return codes

    def _rebuild_table(self) -> None:
        p = self.params
        if p.index_type == "hash":
            self.table = faiss.IndexBinaryHash(p.bits, p.hash_bits or min(p.bits, 24))
        elif p.index_type == "multihash":
            self.table = faiss.IndexBinaryMultiHash(p.bits, p.nhash, p.hash_bits or p.bits // p.nhash)
        else:
            return
        self._table_ids = np.zeros(0, np.int64)
        if self.flat.ntotal:
            self._table_add(self.codes(), self.ids())

    def _table_add(self, codes: np.ndarray, ids: np.ndarray) -> None:
        self.table.add(codes)  # positions 0..n-1 map to ids through _table_ids
        self._table_ids = np.concatenate([self._table_ids, ids])

    def _ivf_add(self, codes: np.ndarray, ids: np.ndarray) -> None:
        if self.ivf is None:
            p = self.params
            nlist = min(p.nlist or max(1, min(len(codes) // 39, int(4 * np.sqrt(len(codes))))), len(codes))
            self._quantizer = faiss.IndexBinaryFlat(p.bits)  # must outlive the IVF index (not owned by it)
            self.ivf = faiss.IndexBinaryIVF(self._quantizer, p.bits, nlist)
            self.ivf.train(codes)
        self.ivf.nprobe = min(self.params.nprobe, self.ivf.nlist)
        self.ivf.add_with_ids(codes, ids)

    # -- search -----------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k-NN: (distances int32 (nq, k), ids int64 (nq, k)); missing slots have id -1."""
        q = self._check(queries)
        if k < 1:
            raise ValueError("k must be >= 1")
        index = self.ivf if self.params.index_type == "ivf" else self.flat
        if index is None or index.ntotal == 0:
            return np.zeros((len(q), 0), np.int32), np.zeros((len(q), 0), np.int64)
        k = min(int(k), int(index.ntotal))
        if self._gpu is None and self.params.index_type != "ivf":
            self._gpu = _gpu_flat(self)
        gpu = self._gpu if k <= GPU_MAX_K else None
        if gpu is not None:
            d, pos = gpu.search(q, k)
            ids = np.where(pos >= 0, self.ids()[np.maximum(pos, 0)], -1)
            return d.astype(np.int32), ids.astype(np.int64)
        d, ids = index.search(q, k)
        return d.astype(np.int32), ids.astype(np.int64)

    def range_search(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """All items with Hamming distance <= radius: per query (distances int32, ids int64), sorted."""
        q = self._check(queries)
        if radius < 0:
            raise ValueError("radius must be >= 0")
        p = self.params
        radius = min(int(radius), p.bits)
        if p.index_type in ("hash", "multihash") and self.table is not None and self._probes(radius) <= self.ntotal:
            self.table.nflip = radius if p.index_type == "hash" else radius // p.nhash
            lims, d, pos = self.table.range_search(q, radius + 1)
            ids = self._table_ids[pos] if len(pos) else pos.astype(np.int64)
        else:
            index = self.ivf if p.index_type == "ivf" else self.flat
            if index is None or index.ntotal == 0:
                return [(np.zeros(0, np.int32), np.zeros(0, np.int64)) for _ in q]
            lims, d, ids = index.range_search(q, radius + 1)
        out = []
        for i in range(len(q)):
            di, ii = d[lims[i]:lims[i + 1]].astype(np.int32), ids[lims[i]:lims[i + 1]].astype(np.int64)
            order = np.lexsort((ii, di))  # by distance, then id
            out.append((di[order], ii[order]))
        return out

    def _probes(self, radius: int) -> int:
        """Hash buckets a radius search visits (all tables)."""
        p = self.params
        if p.index_type == "hash":
            b, nflip, tables = p.hash_bits or min(p.bits, 24), radius, 1
        else:
            b, nflip, tables = p.hash_bits or p.bits // p.nhash, radius // p.nhash, p.nhash
        return tables * sum(math.comb(b, i) for i in range(min(nflip, b) + 1))

    # -- persistence ------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The FAISS serialisation of the stored index (what :meth:`from_bytes` reads).

        An IVF index that was never trained (no codes yet) is written as the empty flat map.
        """
        return faiss.serialize_index_binary(self.ivf if self.ivf is not None else self.flat).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, params: IndexParams) -> "BinaryIndex":
        """Rebuild from :meth:`to_bytes`; raises ValueError for anything FAISS cannot read or that does not fit."""
        self = cls(params)
        try:
            index = faiss.deserialize_index_binary(np.frombuffer(data, dtype=np.uint8))
        except (RuntimeError, MemoryError) as e:
            raise ValueError(f"FAISS cannot read it ({str(e).splitlines()[0][:120]})") from None
        want = faiss.IndexBinaryIVF if params.index_type == "ivf" else faiss.IndexBinaryIDMap2
        if params.index_type == "ivf" and isinstance(index, faiss.IndexBinaryIDMap2) and index.ntotal == 0:
            return self  # not trained yet
        if not isinstance(index, want):
            raise ValueError(f"it holds a {type(index).__name__}, not a {want.__name__}")
        if index.d != params.bits:
            raise ValueError(f"FAISS index has {index.d} bits, expected {params.bits}")
        if params.index_type == "ivf":
            self.ivf = index
            self.ivf.nprobe = min(params.nprobe, self.ivf.nlist)
        else:
            self.flat = index
            self._rebuild_table()
        return self


def gpu_count() -> int:
    """GPUs faiss can use (0 for CPU builds and machines without CUDA)."""
    try:
        return int(faiss.get_num_gpus())
    except AttributeError:
        return 0


def _gpu_flat(index: BinaryIndex):
    """A GpuIndexBinaryFlat copy of the flat codes, or None when no GPU is usable."""
    if gpu_count() == 0 or not hasattr(faiss, "GpuIndexBinaryFlat") or index.flat.ntotal == 0:
        return None
    res = faiss.StandardGpuResources()
    gpu = faiss.GpuIndexBinaryFlat(res, index.params.bits)
    gpu.add(index.codes())
    gpu._res = res  # keep the resources alive with the index
    return gpu
