"""What a binary code is. Every other module imports these functions.

Conventions (the single source of truth):

* **Binarisation / tie rule.** A code bit is ``1`` where the pre-activation is
  strictly positive and ``0`` otherwise: ``u > 0 -> 1``, ``u <= 0 -> 0``.  An
  exact zero therefore maps to ``0`` (it is the sign of a ReLU unit that is off).
* **Bit order.** Bit ``j`` of a ``bits``-long code lives in byte ``j // 8`` at bit
  position ``j % 8`` counted from the least significant bit.  This is the layout
  of ``faiss.real_to_binary`` and therefore of every FAISS binary index, and it
  equals ``numpy.packbits(..., bitorder="little")``.
* **Packed shape.** ``uint8 (n, bits // 8)``, C-contiguous.
* **Lengths.** Any multiple of 8 from 8 to 256 bits.

Hamming distances here are the numpy reference (a popcount lookup table);
FAISS results are checked against them in the tests.
"""
from __future__ import annotations

import numpy as np

MIN_BITS = 8
MAX_BITS = 256
STANDARD_BITS = (16, 32, 64, 128)

# popcount of every byte value
_POPCOUNT8 = np.array([bin(v).count("1") for v in range(256)], dtype=np.uint8)


def check_bits(bits: int) -> int:
    """Return ``bits`` if it is a supported code length, else raise ``ValueError``."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise ValueError(f"bits must be an integer, got {bits!r}")
    if bits < MIN_BITS or bits > MAX_BITS or bits % 8:
        raise ValueError(f"bits must be a multiple of 8 between {MIN_BITS} and {MAX_BITS}, got {bits}")
    return int(bits)


def binarize(u: np.ndarray) -> np.ndarray:
    """Pre-activations ``(n, bits)`` float -> bits ``(n, bits)`` uint8 in {0, 1}.

    Tie rule: ``u > 0 -> 1``; ``u <= 0`` (zero included) ``-> 0``.
    NaN maps to 0 as well (``NaN > 0`` is False); callers should not feed NaNs.
    """
    u = np.asarray(u)
    if u.ndim != 2:
        raise ValueError(f"expected (n, bits) pre-activations, got shape {u.shape}")
    return (u > 0).astype(np.uint8)


def pack(bits01: np.ndarray) -> np.ndarray:
    """Bits ``(n, bits)`` in {0, 1} -> packed ``uint8 (n, bits // 8)`` (LSB-first per byte)."""
    b = np.asarray(bits01)
    if b.ndim != 2:
        raise ValueError(f"expected (n, bits) array of 0/1, got shape {b.shape}")
    check_bits(b.shape[1])
    if b.size and (b.min() < 0 or b.max() > 1):
        raise ValueError("bits must be 0 or 1")
    out = np.packbits(b.astype(np.uint8), axis=1, bitorder="little")
    return np.ascontiguousarray(out)


def unpack(codes: np.ndarray, bits: int | None = None) -> np.ndarray:
    """Packed ``uint8 (n, nbytes)`` -> bits ``uint8 (n, bits)`` in {0, 1}."""
    c = as_packed(codes)
    nbits = c.shape[1] * 8 if bits is None else check_bits(bits)
    if nbits != c.shape[1] * 8:
        raise ValueError(f"{c.shape[1]} bytes per code cannot hold {nbits} bits")
    return np.unpackbits(c, axis=1, bitorder="little")


def encode_preactivations(u: np.ndarray) -> np.ndarray:
    """Pre-activations ``(n, bits)`` -> packed codes ``uint8 (n, bits // 8)``."""
    return pack(binarize(u))


def as_packed(codes: np.ndarray) -> np.ndarray:
    """Validate packed codes: 2-D ``uint8`` with a supported length; returns a contiguous view."""
    c = np.asarray(codes)
    if c.ndim != 2 or c.dtype != np.uint8:
        raise ValueError(f"packed codes must be uint8 (n, bits/8), got {c.dtype} {c.shape}")
    check_bits(c.shape[1] * 8)
    return np.ascontiguousarray(c)


def to_pm1(codes: np.ndarray) -> np.ndarray:
    """Packed codes -> ``float32 (n, bits)`` in {-1, +1} (bit 1 -> +1)."""
    return unpack(codes).astype(np.float32) * 2.0 - 1.0


def hamming_matrix(q: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Hamming distances ``int32 (nq, ndb)`` between packed codes, numpy popcount reference.

    Memory is ``nq * ndb * nbytes`` bytes; chunk the queries for large inputs.
    """
    q, db = as_packed(q), as_packed(db)
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"code lengths differ: {q.shape[1] * 8} vs {db.shape[1] * 8} bits")
    x = np.bitwise_xor(q[:, None, :], db[None, :, :])
    return _POPCOUNT8[x].sum(axis=2, dtype=np.int32)


def hamming_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distances ``int32 (n,)`` between two packed arrays of equal shape."""
    a, b = as_packed(a), as_packed(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return _POPCOUNT8[np.bitwise_xor(a, b)].sum(axis=1, dtype=np.int32)


def bit_balance(codes: np.ndarray) -> dict:
    """Bit statistics of packed codes.

    Returns ``ones_fraction`` per bit (list of ``bits`` floats), ``mean_balance``
    (mean of ``min(f, 1-f) / 0.5`` over bits: 1.0 = every bit is on for half the
    items, 0.0 = constant bits), ``dead_bits`` (bits constant over all items),
    ``unique_codes`` and ``n``.
    """
    bits01 = unpack(codes)
    n = bits01.shape[0]
    if n == 0:
        return {"n": 0, "bits": bits01.shape[1], "ones_fraction": [], "mean_balance": 0.0,
                "dead_bits": 0, "unique_codes": 0}
    f = bits01.mean(axis=0, dtype=np.float64)
    balance = np.minimum(f, 1.0 - f) / 0.5
    return {
        "n": int(n),
        "bits": int(bits01.shape[1]),
        "ones_fraction": [round(float(v), 6) for v in f],
        "mean_balance": float(balance.mean()),
        "dead_bits": int(((f == 0) | (f == 1)).sum()),
        "unique_codes": int(np.unique(as_packed(codes), axis=0).shape[0]),
    }


def format_balance(stats: dict) -> str:
    """One human line summarising :func:`bit_balance`."""
    return (f"{stats['n']} codes x {stats['bits']} bits: mean balance {stats['mean_balance']:.3f}, "
            f"{stats['dead_bits']} dead bits, {stats['unique_codes']} unique codes")


def collapse_warning(stats: dict) -> str | None:
    """A warning when codes from :func:`bit_balance` look collapsed, else None.

    Collapsed: some bits are constant over all ``n >= 2`` codes (dead bits), or every
    code is the same.  Typical of an encoder trained for too few steps or on too few
    images; Hamming search over such codes cannot tell the images apart.
    """
    n, dead, bits = stats["n"], stats["dead_bits"], stats["bits"]
    if n < 2 or (dead == 0 and stats["unique_codes"] > 1):
        return None
    what = (f"all {n} codes are identical" if stats["unique_codes"] == 1
            else f"{dead} of {bits} bits are constant over all {n} codes")
    return f"{what}: the encoder looks under-trained for these images (train longer or on more images)"
