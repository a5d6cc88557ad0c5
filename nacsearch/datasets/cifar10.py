"""CIFAR-10 as downloaded: ``cifar-10-batches-py/`` (python) or ``cifar-10-batches-bin/`` (binary).

The python batches are pickled dicts; they are read with an unpickler that
refuses every global except numpy's array/scalar reconstruction (no code can run).
``load_cifar10`` pools data_batch_1..5 then test_batch: 60,000 ``uint8 (N, 3, 32, 32)``.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from nacsearch.datasets.arrays import ArrayImages

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_PY_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
_BIN_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


# the only globals a CIFAR batch needs: numpy array/scalar reconstruction (no code execution)
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"), ("numpy", "dtype")}


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle hook
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a CIFAR batch")
        return super().find_class(module.replace("numpy.core.", "numpy._core."), name)


def _read_py_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        try:
            d = _DataOnlyUnpickler(f, encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise ValueError(f"{path}: not a CIFAR-10 python batch ({e})") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise ValueError(f"{path}: not a CIFAR-10 python batch (no data/labels)")
    x = np.asarray(d[b"data"], dtype=np.uint8)
    y = np.asarray(d[b"labels"], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(y):
        raise ValueError(f"{path}: data {x.shape} / labels {y.shape} are not CIFAR-10 shaped")
    return x.reshape(-1, 3, 32, 32), y


def _read_bin_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        raise ValueError(f"{path}: size {raw.size} is not a multiple of 3073-byte records")
    rec = raw.reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)


def load_cifar10(root: str | Path) -> ArrayImages:
    """Pool the six batches (train first): ``images uint8 (60000, 3, 32, 32)``, ``labels (60000,)``."""
    root = Path(root)
    for sub, names, reader in (("cifar-10-batches-py", _PY_BATCHES, _read_py_batch),
                               ("cifar-10-batches-bin", _BIN_BATCHES, _read_bin_batch)):
        for d in (root / sub, root):
            if all((d / n).is_file() for n in names):
                parts = [reader(d / n) for n in names]
                return ArrayImages(np.concatenate([p[0] for p in parts]),
                                   np.concatenate([p[1] for p in parts]), name="cifar10")
    raise FileNotFoundError(f"{root}: no cifar-10-batches-py/ or cifar-10-batches-bin/ with all six batches")
