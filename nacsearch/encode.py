"""Turning images into packed codes with a trained encoder (batched, any device)."""
from __future__ import annotations

import sys

import numpy as np
import torch
from tqdm import tqdm

from nacsearch import codes as C
from nacsearch.device import autocast


@torch.no_grad()
def preactivations(model: torch.nn.Module, images: np.ndarray, device: torch.device | str = "cpu",
                   batch_size: int = 512, progress: bool = False, features: bool = False) -> np.ndarray:
    """uint8 images ``(N, C, H, W)`` -> float32 code pre-activations ``(N, bits)``.

    The one place codes come from (``HashEncoder.preactivations``: with ``mirror_sum``, u(x) + u(mirror x)).
    With ``features=True`` returns the backbone features ``(N, D)`` of the images as given instead.
    The model is put in eval mode (BatchNorm uses running statistics).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"expected uint8 (N, C, H, W) images, got {images.dtype} {images.shape}")
    device = torch.device(device)
    model = model.to(device).eval()
    out = []
    for i in tqdm(range(0, len(images), batch_size), desc="encode", unit="batch", file=sys.stderr,
                  disable=not progress, leave=False):
        x = torch.from_numpy(images[i:i + batch_size]).to(device).float().div_(255)
        with autocast(device):
            o = model(x).h if features else model.preactivations(x)
        out.append(o.float().cpu().numpy())
    dim = model.backbone.feature_dim if features else model.cfg.bits
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


def encode_images(model: torch.nn.Module, images: np.ndarray, device: torch.device | str = "cpu",
                  batch_size: int = 512, progress: bool = False) -> np.ndarray:
    """uint8 images ``(N, C, H, W)`` -> packed codes ``uint8 (N, bits/8)`` (tie rule of nacsearch.codes)."""
    return C.encode_preactivations(preactivations(model, images, device, batch_size, progress))


def encode_folder(images: str, model_dir: str, out_path: str, device: str = "auto", batch_size: int = 256,
                  progress: bool = True) -> dict:
    """Encode every readable image under ``images``; writes ``out_path`` (.npy codes) and ``OUT.paths.json``.

    The paths file is a JSON array of absolute paths, one per code in the same order (names
    that are not UTF-8 as surrogate escapes, which ``os.fsencode`` turns back into bytes).
    """
    import json
    import os
    from pathlib import Path

    from nacsearch.safeio import atomic_write_arrays, atomic_write_text

    from nacsearch.checkpoint import load_model
    from nacsearch.datasets.imagefolder import load_image_folder
    from nacsearch.device import resolve_device

    dev = resolve_device(device)
    model, meta = load_model(model_dir, dev)
    folder = load_image_folder(images, model.cfg.channels, model.cfg.image_size, progress=progress)
    packed = encode_images(model, folder.data.images, dev, batch_size, progress)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_arrays(out, packed)
    paths_file = out.with_name(out.stem + ".paths.json")
    atomic_write_text(paths_file, json.dumps([os.path.abspath(p) for p in folder.paths], indent=0) + "\n")
    bal = C.bit_balance(packed)
    return {"codes": str(out), "paths": str(paths_file), "count": int(len(packed)), "bits": model.cfg.bits,
            "skipped": len(folder.skipped), "mean_balance": bal["mean_balance"], "dead_bits": bal["dead_bits"],
            "balance_summary": C.format_balance(bal), "warning": C.collapse_warning(bal)}
