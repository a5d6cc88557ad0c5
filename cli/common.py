"""Helpers shared by the click commands (click only; no heavy imports)."""
from __future__ import annotations

import json
import os
from typing import Any

import click


def echo_json(obj: Any) -> None:
    """Machine-readable result on stdout."""
    click.echo(json.dumps(obj, indent=2, default=str))


def log(msg: str) -> None:
    """Human progress/log line on stderr."""
    click.echo(msg, err=True)


def fail(msg: str) -> None:
    """Exit with status 1 and a clear message on stderr (no traceback)."""
    raise click.ClickException(msg)


def bits_option(default: int | None = 64):
    return click.option("--bits", type=click.IntRange(8, 256), default=default, show_default=default is not None,
                        help="Code length in bits (multiple of 8, 8-256).")


def budget_options(prefix: str = ""):
    """``--[train-]minutes`` and ``--[train-]images``: the training budget (defaults: ``TrainConfig``)."""
    from nacsearch.config import TrainConfig

    def wrap(f):
        f = click.option(f"--{prefix}images", "max_images", type=click.IntRange(0), default=None,
                         help=f"Train on a seeded sample of at most N images, then encode them all "
                              f"(0 = all) [{TrainConfig.max_images}].")(f)
        return click.option(f"--{prefix}minutes", "minutes", type=click.FloatRange(0), default=None,
                            help=f"Training time budget: steps are timed first and the run is planned to fit; "
                                 f"the plan and ETA are printed (0 = no budget, epochs decide) "
                                 f"[{TrainConfig.minutes:g}].")(f)
    return wrap


def recipe_option(default: str):
    """``--recipe``: a named training recipe (``nacsearch.named_recipes.RECIPES``)."""
    from nacsearch.named_recipes import RECIPES

    return click.option("--recipe", type=click.Choice(list(RECIPES)), default=default, show_default=True,
                        help="Training recipe: 'copies' (views covering crops, borders, rotations, re-encoding; "
                             "steps fill the time budget; balanced, decorrelated bits) finds edited copies; "
                             "'categories' (the Fashion-MNIST-tuned views, 40 epochs) groups look-alike items.")


def device_option():
    return click.option("--device", default="auto", show_default=True,
                        help="Torch device: auto (CUDA if available, else CPU), cpu, cuda, cuda:1, ...")


def shown(path: str) -> str:
    """A path for people: control characters and undecodable bytes as backslash escapes.

    Exact forms are ``--json`` (surrogate escapes that Python's ``os.fsencode`` turns back into
    the bytes) and ``--paths``/``-0`` in a pipe (the raw bytes).
    """
    out = []
    for ch in path:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def echo_paths(paths: list[str], null: bool = False) -> None:
    """Paths for programs: raw OS bytes, one per line (or NUL-terminated with ``null``).

    On a terminal the escaped display form is printed instead, so names cannot inject
    control sequences.
    """
    out = click.get_text_stream("stdout")
    if out.isatty() and not null:
        for p in paths:
            click.echo(shown(p))
        return
    out.flush()
    stream = click.get_binary_stream("stdout")
    stream.write(b"".join(os.fsencode(p) + (b"\0" if null else b"\n") for p in paths))
    stream.flush()
    if not null and any("\n" in p for p in paths):
        log("warning: some paths contain a newline; use -0 or --json for unambiguous output")


def os_error_message(e: OSError) -> str:
    """One line for an OSError (disk full, read-only, permission) naming the file."""
    where = f"{e.filename}: " if getattr(e, "filename", None) else ""
    return f"{where}{e.strerror or e}"


def call(fn, *args, **kwargs):
    """Run one library call; expected failures (bad input, damaged index, disk full, read-only)
    become a one-line message and exit status 1, never a traceback."""
    try:
        return fn(*args, **kwargs)
    except OSError as e:
        fail(shown(os_error_message(e)))
    except ValueError as e:
        fail(shown(str(e)))
