"""Checking an LMDB data file before it is memory-mapped.

LMDB maps ``data.mdb`` and reads pages wherever its meta pages point; a file cut short
(a copy that stopped, a full disk, a damaged backup) then ends the process with SIGBUS.
The two meta pages (pages 0 and 1) record the last page in use; the newer one (larger
transaction id) says how long the file must be.
"""
from __future__ import annotations

import struct
from pathlib import Path

DATA_FILE = "data.mdb"
MAGIC = 0xBEEFC0DE
# offsets inside a meta page: 16-byte page header, then MDB_meta
_MAGIC_AT, _PSIZE_AT, _LAST_PG_AT = 16, 40, 16 + 120


class StoreError(ValueError):
    """The LMDB store is damaged, unwritable, or a record in it cannot be read."""


def check_data_file(store_dir: Path) -> None:
    """Refuse a ``data.mdb`` shorter than its newest meta page says (mapping it would SIGBUS)."""
    f = store_dir / DATA_FILE
    if not f.is_file():
        return
    size = f.stat().st_size
    with open(f, "rb") as fh:
        head = fh.read(64)
        if size == 0:
            raise StoreError(f"{f} is empty (the store was truncated); restore it or rebuild the index")
        if len(head) < 64 or struct.unpack_from("<I", head, _MAGIC_AT)[0] != MAGIC:
            raise StoreError(f"{f} is not an LMDB file (damaged)")
        psize = struct.unpack_from("<I", head, _PSIZE_AT)[0]
        metas = []
        for page in (0, 1):
            fh.seek(page * psize + _LAST_PG_AT)
            raw = fh.read(16)
            if len(raw) < 16:
                raise StoreError(f"{f} is truncated ({size} bytes)")
            last_pg, txnid = struct.unpack("<QQ", raw)
            metas.append((txnid, last_pg))
    need = (max(metas)[1] + 1) * psize
    if size < need:
        raise StoreError(f"{f} is truncated ({size} of {need} bytes); restore it or rebuild the index")
