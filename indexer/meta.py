"""index.json: its format, and the validation of every field the index uses."""
from __future__ import annotations

from pathlib import Path

from nacsearch.indexer.params import IndexParams
from nacsearch.indexer.layout import INDEX_JSON, IndexError_
from nacsearch.regions import RegionConfig

FORMAT, FORMAT_VERSION = "nacsearch-index", 1


def check_meta(root: Path, meta) -> IndexParams:
    """Validate every field of index.json that is used; returns its IndexParams."""
    where = root / INDEX_JSON
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"{where}: not a {FORMAT} v{FORMAT_VERSION} file")
    shapes = {"params": dict, "model": dict, "counts": dict}
    for key, typ in shapes.items():
        if not isinstance(meta.get(key), typ):
            raise IndexError_(f"{where}: field {key!r} is missing or not an object")
    m, c = meta["model"], meta["counts"]
    if not isinstance(m.get("sha256"), str) or not all(isinstance(m.get(k), dict) for k in ("config", "objective")):
        raise IndexError_(f"{where}: field 'model' lacks the model's sha256, config or objective")
    for key in ("records", "faiss_ntotal", "id_sum"):
        if not isinstance(c.get(key), int) or isinstance(c.get(key), bool) or c[key] < 0:
            raise IndexError_(f"{where}: counts.{key} is not a non-negative integer")
    try:
        if meta.get("regions") is not None:  # absent in indexes made before regions existed
            RegionConfig(**meta["regions"])
    except (TypeError, ValueError) as e:
        raise IndexError_(f"{where}: invalid regions: {e}") from None
    try:
        return IndexParams(**meta["params"])
    except (TypeError, ValueError) as e:
        raise IndexError_(f"{where}: invalid params: {e}") from None


def model_mismatch(have: dict, want: dict) -> str | None:
    """The model config fields that differ between the index's record and model/config.json."""
    diff = [f"{k}: {want.get(k)!r} -> {have.get(k)!r}" for k in sorted(set(have) | set(want)) if have.get(k) != want.get(k)]
    return ", ".join(diff) or None
