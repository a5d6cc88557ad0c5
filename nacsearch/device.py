"""Device selection and mixed precision, always explicit arguments."""
from __future__ import annotations

import contextlib
import functools

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


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bf16 kernels natively on this CPU (AVX512-BF16 or AMX), not emulated."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_dtype(device: torch.device, training: bool = False, cpu_bf16: bool = False) -> torch.dtype | None:
    """The mixed-precision dtype, or None for fp32.

    CUDA: bf16 on devices that support it, else fp16.  CPU: bf16 only for *training* with ``cpu_bf16``
    (``TrainConfig.cpu_bf16``) and only where the CPU has native bf16 kernels (about 1.6x faster steps of
    the small encoder on 2 cores, benchmarks/RESULTS.md); encoding is always fp32 on a CPU, so a CPU
    computes the same codes whatever its instruction set.
    """
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and training and cpu_bf16 and cpu_has_native_bf16() else None


def autocast(device: torch.device, training: bool = False, cpu_bf16: bool = False) -> contextlib.AbstractContextManager:
    """An autocast context for ``device`` (see :func:`autocast_dtype`; a no-op where that is None)."""
    dtype = autocast_dtype(device, training, cpu_bf16)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
