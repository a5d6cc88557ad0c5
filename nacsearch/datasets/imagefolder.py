"""Image folders: a recursive walk that follows no symlink loops, and bulk decoding."""
from __future__ import annotations

import itertools
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image
from tqdm import tqdm

from nacsearch.datasets.arrays import ArrayImages, sample_indices
from nacsearch.imageio import HIGH_DEPTH_MODES, ImageError, is_image_name, load_image, skip_row

log = logging.getLogger(__name__)


def walk_images(root: str | Path) -> Iterator[Path]:
    """Image files under ``root`` (or ``root`` itself), sorted per directory.

    Symlinked directories are followed once each (by real path), so loops end;
    hidden directories (``.name``, e.g. an index folder) are skipped.
    """
    root = Path(root)
    if root.is_file():
        if is_image_name(root):
            yield root
        return
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such file or directory")
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if is_image_name(name) and not name.startswith("."):
                yield Path(dirpath) / name


DEFAULT_FOLDER_SIZE = 32  # px: image folders are decoded at this size unless told otherwise
GRAY_MODES = ("1", "L", "LA", *HIGH_DEPTH_MODES)


def folder_format(root: str | Path, channels: int | None = None, image_size: int | None = None,
                  sample: int = 64) -> tuple[int, int]:
    """(channels, image_size) for a folder: the one rule ``train`` and ``build-index`` share.

    Channels: 1 when every one of the first ``sample`` readable images is grayscale, else 3;
    size: :data:`DEFAULT_FOLDER_SIZE`.  Given values win.
    """
    if channels is None:
        channels = 1
        for p in itertools.islice(walk_images(root), sample):
            try:
                with Image.open(p) as im:
                    if im.mode not in GRAY_MODES:
                        channels = 3
                        break
            except (OSError, ValueError):
                continue
    return channels, image_size or DEFAULT_FOLDER_SIZE


@dataclass
class DecodedFolder:
    """Decoded images (in walk order), their paths, and the skipped files with reasons."""

    data: ArrayImages
    paths: list[Path]
    skipped: list[dict] = field(default_factory=list)


def decode_paths(paths: list[Path], channels: int, size: int, threads: int = 4,
                 progress: bool = True) -> tuple[list[np.ndarray | None], list[dict]]:
    """Decode ``paths`` in a thread pool; failures become ``None`` plus a ``{path, reason, detail}`` row."""
    def one(p: Path):
        try:
            return load_image(p, channels, size), None
        except ImageError as e:
            return None, skip_row(p, e)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(tqdm(pool.map(one, paths), total=len(paths), desc="decode", unit="img",
                            disable=not progress, file=sys.stderr, leave=False))
    return [r[0] for r in results], [r[1] for r in results if r[1] is not None]


def load_image_folder(root: str | Path, channels: int, size: int, progress: bool = True,
                      max_images: int = 0, seed: int = 0) -> DecodedFolder:
    """Decode every readable image under ``root`` (or a seeded sample of ``max_images`` of them,
    chosen before decoding); unreadable files are skipped and reported."""
    paths = list(walk_images(root))
    if max_images and len(paths) > max_images:
        log.info("training on a seeded sample of %d of %d images", max_images, len(paths))
        paths = [paths[i] for i in sample_indices(len(paths), max_images, seed)]
    arrays, skipped = decode_paths(paths, channels, size, progress=progress)
    for row in skipped:
        log.warning("skipped %r: %s (%s)", row["path"], row["reason"], row["detail"])
    keep = [i for i, a in enumerate(arrays) if a is not None]
    if not keep:
        raise ValueError(f"{root}: no readable images found ({len(paths)} candidates, {len(skipped)} skipped)")
    images = np.stack([arrays[i] for i in keep])
    return DecodedFolder(ArrayImages(images, None, name=str(root)), [paths[i] for i in keep], skipped)
