"""Shared fixtures: tiny datasets written in the real on-disk formats."""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


def write_idx(path: Path, arr: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture
def fmnist_dir(tmp_path) -> Path:
    """Fashion-MNIST IDX files: 40 train + 20 test images of 28x28, labels 0..9 (gzip for train, raw for test)."""
    rng = np.random.default_rng(0)
    d = tmp_path / "fmnist"
    d.mkdir()
    for split, n, gz in (("train", 40, True), ("t10k", 20, False)):
        labels = np.arange(n) % 10
        images = (rng.random((n, 28, 28)) * 60).astype(np.uint8)
        for i, lab in enumerate(labels):  # class-dependent bright stripe
            images[i, 2 * lab:2 * lab + 4] = 250
        write_idx(d / f"{split}-images-idx3-ubyte", images, gz)
        write_idx(d / f"{split}-labels-idx1-ubyte", labels, gz)
    return d


@pytest.fixture
def cifar_dir(tmp_path) -> Path:
    """cifar-10-batches-py with 6 pickled batches of 5 images each."""
    rng = np.random.default_rng(1)
    d = tmp_path / "cifar" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in rng.integers(0, 10, 5)],
                 b"data": rng.integers(0, 256, (5, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * 5}
        with open(d / name, "wb") as f:
            pickle.dump(batch, f)
    return d.parent


def write_png(path: Path, arr: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 16-bit grayscale 16-px NAC model trained for 3 steps (fast; weights are what they are)."""
    from nacsearch.config import ModelConfig, RunConfig, TrainConfig
    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.samples import synthetic_images
    from nacsearch.train import train

    out = tmp_path_factory.mktemp("model")
    images, _ = synthetic_images(64, size=16, seed=0)
    run = RunConfig(model=ModelConfig(bits=16, image_size=16, channels=1, width=4),
                    train=TrainConfig(epochs=1, batch_size=16, max_steps=3))
    train(run, ArrayImages(images), out, device="cpu", progress=False)
    return out


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """30 labelled grayscale PNGs in class subfolders."""
    from nacsearch.samples import synthetic_images

    images, labels = synthetic_images(30, size=20, seed=3)
    root = tmp_path / "imgs"
    for i, (img, lab) in enumerate(zip(images, labels)):
        write_png(root / f"c{lab}" / f"{i:03d}.png", img)
    return root
