"""The near-duplicate protocol's data: distinct sources, a seeded split, edited copies as queries.

From a folder of images:

1. **Sources.** Every image the one decode path can read (:func:`nacsearch.imageio.decode_pil`:
   oriented, transparency on white) at a longer side of at most ``SOURCE_SIDE`` px; a seeded
   sample of at most ``max_sources`` files is decoded.  The originals of the protocol are these
   bounded images, stored losslessly (PNG).
2. **Distinct.** Near-identical sources make the task unanswerable, so a source is dropped when
   its 16 x 16 grayscale thumbnail (whole image, squashed), centred and normalised, has a
   correlation >= ``DISTINCT_CORRELATION`` with the thumbnail of a source kept before it (files in
   the sampled order), or when that thumbnail is flat (a blank image).
3. **Split.** The distinct sources are shuffled with the seed; the first ``val_sources`` form the
   *validation* collection (for choosing defaults), the rest (at most ``test_sources``) the *test*
   collection.  The two never share a source.
4. **Queries.** ``n_queries`` sources of the chosen collection, drawn without replacement, each
   edited once; the edit kinds are dealt round-robin in a seeded order, so every kind has the same
   count (within one), and each copy has its own seed (recorded).  The database is the whole
   collection of originals.
"""
from __future__ import annotations

import hashlib
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from nacsearch.datasets.arrays import sample_indices
from nacsearch.datasets.imagefolder import walk_images
from nacsearch.eval.edits import EDITS, EditParams, apply_edit
from nacsearch.imageio import ImageError, decode_pil, png_bytes

log = logging.getLogger(__name__)

SOURCE_SIDE = 512            # px, longer side of the protocol's originals
DISTINCT_CORRELATION = 0.95  # thumbnails at least this correlated count as the same picture
THUMB = 16


@dataclass
class CopySet:
    """One collection of the protocol: originals (the database) and edited copies (the queries).

    Images are PNG bytes, exactly what a user's files would be; ``target[i]`` is the database
    row of query ``i``'s original, ``kinds[i]`` its edit and ``seeds[i]`` the edit's seed.
    """

    database: list[bytes]
    names: list[str]
    queries: list[bytes]
    target: np.ndarray
    kinds: list[str]
    seeds: list[int]
    info: dict = field(default_factory=dict)


def load_sources(root: str | Path, max_sources: int, seed: int, progress: bool = True,
                 threads: int = 4) -> tuple[list[Image.Image], list[str], dict]:
    """Decode a seeded sample of at most ``max_sources`` images under ``root`` (sampled order)."""
    paths = list(walk_images(root))
    n_files = len(paths)
    if not paths:
        raise ValueError(f"{root}: no image files found")
    idx = sample_indices(len(paths), max_sources, seed)
    paths = [paths[i] for i in np.random.default_rng([seed, 1]).permutation(idx)]

    def one(p: Path):
        try:
            return decode_pil(p.read_bytes(), SOURCE_SIDE)
        except (ImageError, OSError):
            return None

    with ThreadPoolExecutor(threads) as pool:
        imgs = list(tqdm(pool.map(one, paths), total=len(paths), desc="sources", unit="img",
                         disable=not progress, file=sys.stderr, leave=False))
    keep = [i for i, im in enumerate(imgs) if im is not None]
    root = Path(root)
    names = [str(paths[i].relative_to(root)) if root.is_dir() else paths[i].name for i in keep]
    return [imgs[i] for i in keep], names, {"files": n_files, "sampled": len(paths), "unreadable": len(paths) - len(keep)}


def thumbnails(images: list[Image.Image]) -> np.ndarray:
    """float32 ``(N, 256)``: 16 x 16 grayscale thumbnails, centred, unit norm (0 for flat images)."""
    t = np.stack([np.asarray(im.convert("L").resize((THUMB, THUMB), Image.Resampling.BOX), np.float32).ravel()
                  for im in images]) if images else np.zeros((0, THUMB * THUMB), np.float32)
    t -= t.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return np.divide(t, norm, out=np.zeros_like(t), where=norm > 1e-3)


def distinct(thumbs: np.ndarray, threshold: float = DISTINCT_CORRELATION) -> tuple[np.ndarray, dict]:
    """Indices kept by the greedy rule of the module doc, and counts of what was dropped."""
    flat = np.linalg.norm(thumbs, axis=1) < 0.5
    kept: list[int] = []
    near = 0
    for i in np.flatnonzero(~flat):
        if kept and float((thumbs[kept] @ thumbs[i]).max()) >= threshold:
            near += 1
            continue
        kept.append(int(i))
    return np.asarray(kept, dtype=np.int64), {"dropped_near_identical": near, "dropped_blank": int(flat.sum())}


def split_sources(n: int, seed: int, val_sources: int, test_sources: int) -> dict[str, np.ndarray]:
    """Seeded disjoint validation and test source indices (module doc, step 3)."""
    order = np.random.default_rng([seed, 2]).permutation(n)
    n_val = min(val_sources, n // 4)
    return {"validation": np.sort(order[:n_val]), "test": np.sort(order[n_val:n_val + test_sources])}


def make_copies(sources: list[Image.Image], n_queries: int, seed: int, params: EditParams,
                progress: bool = True) -> tuple[list[bytes], np.ndarray, list[str], list[int]]:
    """Edited copies of ``n_queries`` of ``sources`` (module doc, step 4)."""
    rng = np.random.default_rng([seed, 3])
    n_queries = min(n_queries, len(sources))
    target = np.sort(rng.choice(len(sources), n_queries, replace=False))
    kinds = [list(EDITS)[i % len(EDITS)] for i in rng.permutation(n_queries)]
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, n_queries)]
    copies = [png_bytes(apply_edit(k, sources[t], s, params), compress_level=1)
              for k, t, s in tqdm(zip(kinds, target, seeds), total=n_queries, desc="copies", unit="img",
                                  disable=not progress, file=sys.stderr, leave=False)]
    return copies, target, kinds, seeds


def build_copy_set(root: str | Path, split: str = "test", seed: int = 0, n_queries: int = 1000,
                   val_sources: int = 1000, test_sources: int = 3000, max_sources: int = 6000,
                   params: EditParams = EditParams(), progress: bool = True) -> CopySet:
    """The ``split`` ('test' or 'validation') collection of a folder, with its edited copies."""
    if split not in ("test", "validation"):
        raise ValueError("split must be 'test' or 'validation'")
    images, names, counts = load_sources(root, max_sources, seed, progress)
    keep, dropped = distinct(thumbnails(images))
    parts = split_sources(len(keep), seed, val_sources, test_sources)
    chosen = keep[parts[split]]
    sources = [images[i] for i in chosen]
    if len(sources) < 2:
        raise ValueError(f"{root}: only {len(sources)} distinct images for the {split} collection")
    copies, target, kinds, seeds = make_copies(sources, n_queries, seed, params, progress)
    database = [png_bytes(im, compress_level=1) for im in sources]
    info = {**counts, **dropped, "distinct": int(len(keep)), "split": split, "database": len(database),
            "queries": len(copies), "split_sizes": {k: int(len(v)) for k, v in parts.items()},
            "source_side": SOURCE_SIDE, "distinct_correlation": DISTINCT_CORRELATION,
            "database_sha256": hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in database)).hexdigest()}
    return CopySet(database, [names[i] for i in chosen], copies, target, kinds, seeds, info)
