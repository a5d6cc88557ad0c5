"""Device selection and mixed precision, always explicit arguments."""
from __future__ import annotations

import contextlib

import torch


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``auto``/None -> CUDA when available, else CPU; otherwise ``torch.device(name)`` (validated)."""
    if isinstance(name, torch.device):
        return name
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return dev


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on CUDA devices that support it, fp16 on older CUDA devices, None (fp32) on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """An autocast context for ``device`` (a no-op on CPU)."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
