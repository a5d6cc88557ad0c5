"""Helpers shared by the click commands (click only; no heavy imports)."""
from __future__ import annotations

import json
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


def device_option():
    return click.option("--device", default="auto", show_default=True,
                        help="Torch device: auto (CUDA if available, else CPU), cpu, cuda, cuda:1, ...")
