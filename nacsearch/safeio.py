"""Writing files without following symlinks, and without leaving half-written files.

Every file nacsearch writes goes through this module:

* :func:`atomic_write_bytes` writes a fresh temporary file (``O_EXCL``, random name, so a
  planted symlink is never followed) in the target's own directory, fsyncs it and renames
  it over the target.  ``rename`` replaces a symlink itself, never the file it points to.
  On any failure (disk full, read-only folder) the temporary file is removed.
* :func:`atomic_write_arrays` and :func:`atomic_write_figure` serialise NumPy arrays
  (``.npy`` / ``.npz``) and Matplotlib figures in memory and write them the same way.
* :func:`append_lines` opens with ``O_NOFOLLOW``: appending through a symlink is refused.
* :func:`read_bytes` opens with ``O_NOFOLLOW`` as well, for files whose content decides
  what is written next.
* :func:`refuse_symlinks` checks the members of a directory nacsearch owns.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Iterable

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafePathError(OSError):
    """A file nacsearch would write or trust is a symlink (or otherwise not a plain file)."""


def _symlink_error(path: Path) -> UnsafePathError:
    return UnsafePathError(errno.ELOOP, f"{path} is a symbolic link; nacsearch never writes through links "
                           f"(remove the link if this folder is yours)")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically: temp file in the same folder, fsync, rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_arrays(path: str | os.PathLike, array=None, **arrays) -> None:
    """One array as ``.npy`` (``array``) or several by name as ``.npz`` (``arrays``), atomically."""
    import io

    import numpy as np

    if (array is None) == (not arrays):
        raise ValueError("give one array or named arrays, not both")
    buf = io.BytesIO()
    if array is not None:
        np.save(buf, array)
    else:
        np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """A Matplotlib figure as PNG, atomically."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write_bytes(path, buf.getvalue())


def open_nofollow(path: str | os.PathLike, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses a symlink as the last component (:class:`UnsafePathError`)."""
    try:
        return os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _symlink_error(Path(path)) from None
        raise


def append_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Append text lines (each should end in a newline) to ``path``; refuses symlinks."""
    fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as f:
        f.writelines(lines)


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole file; refuses a symlink (``UnsafePathError``)."""
    with os.fdopen(open_nofollow(path, os.O_RDONLY), "rb") as f:
        return f.read()


def refuse_symlinks(root: str | os.PathLike, names: Iterable[str]) -> None:
    """Raise :class:`UnsafePathError` if any of ``root/name`` is a symlink (missing ones are fine)."""
    root = Path(root)
    for name in names:
        p = root / name
        if p.is_symlink():
            raise _symlink_error(p)

