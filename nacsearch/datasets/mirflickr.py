"""MIRFLICKR-25K as distributed: ``mirflickr/im1.jpg .. im25000.jpg`` + annotation text files.

``mirflickr25k_annotations_v080/`` holds one file per label listing 1-based image
ids, one per line.  Hashing uses the 24 plain label files; the ``*_r1.txt``
("relevant") files and ``README.txt`` are excluded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food", "indoor", "lake",
          "male", "night", "people", "plant_life", "portrait", "river", "sea", "sky", "structures",
          "sunset", "transport", "tree", "water")
N_IMAGES = 25_000


@dataclass(frozen=True)
class MirflickrIndex:
    """Image paths (id order, ``paths[i]`` is ``im{i+1}.jpg``) and multi-hot labels ``uint8 (N, 24)``."""

    paths: list[Path]
    labels: np.ndarray

    def labelled(self) -> np.ndarray:
        """Indices of images with at least one of the 24 labels (24,581 in the full set)."""
        return np.flatnonzero(self.labels.any(axis=1))


def _find_dir(root: Path, names: tuple[str, ...], probe: str) -> Path:
    for n in names:
        if (root / n / probe).exists():
            return root / n
    if (root / probe).exists():
        return root
    raise FileNotFoundError(f"{root}: cannot find {probe} under {', '.join(names)}")


def load_mirflickr(root: str | Path, n_images: int = N_IMAGES) -> MirflickrIndex:
    """Read the 24 label files; images are referenced by path (decoded later)."""
    root = Path(root)
    img_dir = _find_dir(root, ("mirflickr", "mirflickr25k"), "im1.jpg")
    ann_dir = _find_dir(root, ("mirflickr25k_annotations_v080", "annotations"), "animals.txt")
    labels = np.zeros((n_images, len(LABELS)), dtype=np.uint8)
    for j, name in enumerate(LABELS):
        f = ann_dir / f"{name}.txt"
        if not f.is_file():
            raise FileNotFoundError(f"{ann_dir}: missing label file {name}.txt")
        for line_no, line in enumerate(f.read_text().split("\n"), 1):
            line = line.strip()
            if not line:
                continue
            if not re.fullmatch(r"\d+", line) or not 1 <= int(line) <= n_images:
                raise ValueError(f"{f}:{line_no}: expected an image id in 1..{n_images}, got {line!r}")
            labels[int(line) - 1, j] = 1
    paths = [img_dir / f"im{i}.jpg" for i in range(1, n_images + 1)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{img_dir}: {len(missing)} of {n_images} images missing, e.g. {missing[0].name}")
    return MirflickrIndex(paths, labels)
