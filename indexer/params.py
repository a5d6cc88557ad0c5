"""What kind of binary index to build and its parameters (stored in index.json).

Light on purpose (no FAISS import), so that the command line can offer the choices.
"""
from __future__ import annotations

from dataclasses import dataclass

INDEX_TYPES = ("flat", "hash", "multihash", "ivf")


@dataclass(frozen=True)
class IndexParams:
    """Parameters of a binary index (stored in index.json)."""

    index_type: str = "flat"
    bits: int = 64
    hash_bits: int = 0        # hash: prefix bits (0 = min(bits, 24)); multihash: bits per table (0 = bits // nhash)
    nhash: int = 4            # multihash: number of tables
    nlist: int = 0            # ivf: lists (0 = about 4 sqrt(n) at training time)
    nprobe: int = 8           # ivf: lists visited per query

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_TYPES:
            raise ValueError(f"index type must be one of {INDEX_TYPES}, got {self.index_type!r}")
        if self.nhash < 1 or self.nprobe < 1 or self.hash_bits < 0 or self.nlist < 0:
            raise ValueError("nhash, nprobe must be >= 1; hash_bits, nlist >= 0")
        if self.index_type == "multihash" and self.bits // self.nhash < 1:
            raise ValueError(f"{self.nhash} hash tables cannot split {self.bits} bits")
