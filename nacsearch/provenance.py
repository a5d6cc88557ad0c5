"""Provenance written beside every checkpoint, index and report: versions, git revision, host."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from nacsearch.safeio import atomic_write_text

_PACKAGES = ("nacsearch", "torch", "torchvision", "numpy", "faiss-gpu", "faiss-cpu", "lmdb", "safetensors")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results (missing ones are left out)."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            continue
    return out


def git_revision() -> str | None:
    """The git revision of the nacsearch source tree (``+dirty`` when modified), or None."""
    here = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "")


def provenance() -> dict[str, Any]:
    """Everything needed to tell where a stored artefact came from."""
    return {
        "versions": package_versions(),
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON atomically (:func:`nacsearch.safeio.atomic_write_bytes`): never half a file, never through a link."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file, turning decode errors into a ValueError that names the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
