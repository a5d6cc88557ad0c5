"""Checkpoints: ``model.safetensors`` + ``config.json`` (+ ``train_state.safetensors`` to resume).

``model.safetensors`` holds the weights that encode.  When they are an average of the trained
weights (``TrainConfig.ema``), the trained weights themselves go to ``train_state.safetensors``
under ``weights.<name>``, beside the optimizer's tensors, so that a resumed run continues exactly.

No pickle anywhere: opening a checkpoint never executes code.  ``config.json``
holds the full run config, the SHA-256 of the weights file, training state and
statistics, package versions and the git revision.  Loading re-validates the
config, checks the hash and the tensor shapes, and refuses mismatches with the
caller's expectations (``expect={"bits": 64, ...}``).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from nacsearch.config import RunConfig, run_config_from_dict, to_dict
from nacsearch.provenance import provenance, read_json, write_json
from nacsearch.safeio import atomic_write_bytes

FORMAT = "nacsearch-checkpoint"
FORMAT_VERSION = 1
WEIGHTS, CONFIG, TRAIN_STATE = "model.safetensors", "config.json", "train_state.safetensors"
TRAINED = "weights."  # prefix of the trained weights in TRAIN_STATE (when the model is their average)
OBJECTIVE = "objective."  # prefix of the objective's buffers in TRAIN_STATE (e.g. NAC's code bank)
MAX_PROJECTION = 4096  # the largest projection head a checkpoint may ask for (a training-time part; 64 in use)


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not match what the caller expects."""


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    atomic_write_bytes(path, save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}))


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for name, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{idx}.{name}"] = val
            else:
                scalars[f"{idx}.{name}"] = val
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_checkpoint(out_dir: str | os.PathLike, model: torch.nn.Module, run: RunConfig, *,
                    stats: dict | None = None, state: dict | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    trained: torch.nn.Module | None = None, objective: torch.nn.Module | None = None) -> Path:
    """Write weights, optional optimizer state, then config.json last (atomic renames).

    ``trained``: the weights being trained when ``model`` is their average (kept with the optimizer).
    ``objective``: its buffers (e.g. NAC's code bank) are training state too, kept with the optimizer."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _save_tensors(model.state_dict(), out / WEIGHTS)
    meta: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "config": to_dict(run),
        "inference_head": getattr(model, "inference_head", None) is not None,
        "projection": _projection_dim(model),
        "weights_sha256": file_sha256(out / WEIGHTS),
        "state": state or {}, "stats": stats or {}, "provenance": provenance(),
    }
    if optimizer is not None:
        tensors, rest = _optimizer_tensors(optimizer)
        if trained is not None:
            tensors.update({f"{TRAINED}{k}": v for k, v in trained.state_dict().items()})
        if objective is not None:
            tensors.update({f"{OBJECTIVE}{k}": v for k, v in objective.state_dict().items()})
        _save_tensors(tensors, out / TRAIN_STATE)
        meta["optimizer"] = rest
        meta["train_state_sha256"] = file_sha256(out / TRAIN_STATE)
    write_json(out / CONFIG, meta)
    return out


def _projection_dim(model: torch.nn.Module) -> int:
    """The outputs of ``model``'s projection head (a training-time part), 0 without one."""
    head = getattr(model, "projection", None)
    return head.net[2].out_features if head is not None else 0


def read_meta(ckpt_dir: str | os.PathLike) -> dict:
    """config.json of a checkpoint, validated (format, run config); raises CheckpointError."""
    d = Path(ckpt_dir)
    if not (d / CONFIG).is_file() or not (d / WEIGHTS).is_file():
        raise CheckpointError(f"{d}: not a nacsearch model (needs {WEIGHTS} and {CONFIG})")
    try:
        meta = read_json(d / CONFIG)
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{d / CONFIG}: not a {FORMAT} config")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{d}: checkpoint format {meta.get('format_version')} is not supported")
    try:
        meta["run"] = run_config_from_dict(meta["config"])
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{d / CONFIG}: invalid config: {e}") from None
    return meta


def check_expected(run: RunConfig, expect: dict | None, where: str) -> None:
    """Refuse a checkpoint whose model config differs from ``expect`` (model field -> value)."""
    for key, want in (expect or {}).items():
        have = getattr(run.model, key)
        if want is not None and have != want:
            raise CheckpointError(f"{where}: model has {key}={have!r} but {want!r} was expected")


def load_model(ckpt_dir: str | os.PathLike, device: str | torch.device = "cpu",
               expect: dict | None = None, unfitted_ok: bool = False) -> tuple[torch.nn.Module, dict]:
    """Rebuild the encoder from a checkpoint, weights verified; returns (model in eval mode, meta).

    A finished run whose config names an ITQ code layer that was never fitted (the run stopped between its last
    step and the fit) is refused unless ``unfitted_ok`` (a resumed run, which fits it)."""
    from nacsearch.models import HashEncoder

    d = Path(ckpt_dir)
    meta = read_meta(d)
    run: RunConfig = meta["run"]
    check_expected(run, expect, str(d))
    state = meta.get("state") or {}
    if not unfitted_ok and run.model.code_layer != "trained" and state.get("complete") and "code_layer" not in state:
        raise CheckpointError(f"{d}: training finished but its {run.model.code_layer} code layer was never fitted "
                              "(the run stopped in between); run train again with --resume to fit it")
    if file_sha256(d / WEIGHTS) != meta.get("weights_sha256"):
        raise CheckpointError(f"{d / WEIGHTS}: SHA-256 does not match config.json (corrupt or replaced)")
    projection = meta.get("projection", 0)
    if type(projection) is not int or not 0 <= projection <= MAX_PROJECTION:
        raise CheckpointError(f"{d / CONFIG}: invalid projection head size {projection!r}")
    model = HashEncoder(run.model, inference_head=bool(meta.get("inference_head", True)), projection=projection)
    try:
        weights = load_file(str(d / WEIGHTS))
        model.load_state_dict(weights, strict=True)
    except (RuntimeError, OSError, ValueError) as e:
        raise CheckpointError(f"{d / WEIGHTS}: weights do not match the config: {str(e)[:300]}") from None
    return model.to(device).eval(), meta


def _pop_prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Remove the entries whose key starts with ``prefix`` from ``tensors``; return them without it."""
    return {k.removeprefix(prefix): tensors.pop(k) for k in [k for k in tensors if k.startswith(prefix)]}


def load_train_state(ckpt_dir: str | os.PathLike, optimizer: torch.optim.Optimizer,
                     meta: dict, objective: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Restore optimizer tensors and scalars saved by :func:`save_checkpoint`, and ``objective``'s buffers;
    returns the trained weights stored beside them (empty unless the model is an average)."""
    d = Path(ckpt_dir)
    if "optimizer" not in meta or not (d / TRAIN_STATE).is_file():
        raise CheckpointError(f"{d}: no optimizer state to resume from")
    if file_sha256(d / TRAIN_STATE) != meta.get("train_state_sha256"):
        raise CheckpointError(f"{d / TRAIN_STATE}: SHA-256 does not match config.json")
    tensors = load_file(str(d / TRAIN_STATE))
    trained, objective_state = _pop_prefixed(tensors, TRAINED), _pop_prefixed(tensors, OBJECTIVE)
    if objective is not None:
        try:
            objective.load_state_dict(objective_state, strict=True)
        except RuntimeError as e:
            raise CheckpointError(f"{d / TRAIN_STATE}: objective state does not match: {str(e)[:300]}") from None
    state: dict[int, dict] = {}
    for key, val in list(tensors.items()) + list(meta["optimizer"]["scalars"].items()):
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = val
    optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer"]["param_groups"]})
    return trained


def model_fingerprint(ckpt_dir: str | os.PathLike) -> str:
    """SHA-256 of the weights as recorded (and verified on load) -- identifies a model."""
    return read_meta(ckpt_dir)["weights_sha256"]


def is_complete(ckpt_dir: str | os.PathLike) -> bool:
    """True when the checkpoint's training run reached its last step (False for periodic/interrupted ones)."""
    try:
        return bool(read_meta(ckpt_dir)["state"].get("complete", True))
    except CheckpointError:
        return False
