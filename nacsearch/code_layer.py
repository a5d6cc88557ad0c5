"""An ITQ code layer: the code head's last linear layer re-fitted by ITQ after training.

A trained NAC encoder's activation codes are the signs of its code head's last linear layer,
u = W2 relu(W1 h + b1) + b2 (times 1/sqrt(d)).  Fitting ITQ (:mod:`nacsearch.itq`) on the
inputs of that layer and writing the affine map into it keeps the architecture, the checkpoint
format and the definition of a code (the signs of the last linear layer's pre-activations); only
W2 and b2 change.  Two sources of those inputs:

* ``hidden``   -- the code head's hidden ReLU activations a = relu(W1 h + b1) (W1 as trained);
* ``features`` -- the backbone features h themselves: W1 becomes the identity and b1 zero (exact,
  because every backbone ends in ReLU + average pooling, so h >= 0 and relu(h) = h); this is the
  ``itq+nac`` row of the retrieval reports, installed in the model.  Needs hidden == feature dim.

The fit runs on clean images (no views) in eval mode (BatchNorm running statistics), so the codes
it is fitted for are the codes ``encode`` computes (with ``mirror_sum``, on the sums of an image's and
its mirror image's inputs, the layer's input there).  The inference head is left as trained (it is
a training-time part and never touches a code).
"""
from __future__ import annotations

import numpy as np
import torch

from nacsearch.config import CODE_LAYERS
from nacsearch.encode import preactivations
from nacsearch.itq import fit_itq


@torch.no_grad()
def last_layer_inputs(model: torch.nn.Module, images: np.ndarray, device: torch.device | str = "cpu",
                      batch_size: int = 512) -> np.ndarray:
    """uint8 images (N, C, H, W) -> float32 (N, H) inputs of the code head's last linear layer; for a
    ``mirror_sum`` model the sum of an image's and its mirror image's inputs (what that layer is applied to)."""
    out = _hidden(model, images, device, batch_size)
    if model.cfg.mirror_sum:
        out = out + _hidden(model, np.ascontiguousarray(images[..., ::-1]), device, batch_size)
    return out


def _hidden(model: torch.nn.Module, images: np.ndarray, device, batch_size: int) -> np.ndarray:
    h = preactivations(model, images, device, batch_size, features=True)   # (N, D); model now on device
    first = model.code_head.net[:2]                                         # Linear(D, H) + ReLU
    dev = next(first.parameters()).device
    out = [first(torch.from_numpy(h[i:i + batch_size]).to(dev)).float().cpu().numpy()
           for i in range(0, len(h), batch_size)]
    return (np.concatenate(out) if out else np.zeros((0, first[0].out_features), np.float32)).astype(np.float32)


def check_code_layer(model: torch.nn.Module, kind: str) -> None:
    """ValueError unless a ``kind`` code layer can be fitted on ``model`` (checked before training, so that a run
    never trains to the end and then fails): ITQ's ``bits`` directions must exist in the space it is fitted in."""
    lin = model.code_head.net[0]                                          # Linear(D, H)
    if kind == "itq-features" and lin.in_features != lin.out_features:
        raise ValueError(f"code layer 'itq-features' needs the code head's hidden width ({lin.out_features}) "
                         f"to equal the feature dim ({lin.in_features}); use 'itq-hidden' or hidden=0")
    if kind != "trained" and model.cfg.bits > lin.out_features:
        raise ValueError(f"a {kind} code layer of {model.cfg.bits} bits needs at least as many dimensions to fit in, "
                         f"but it is fitted on {lin.out_features}; use fewer bits, a wider backbone or another layer")


@torch.no_grad()
def _make_first_layer_identity(model: torch.nn.Module) -> None:
    check_code_layer(model, "itq-features")
    lin = model.code_head.net[0]
    lin.weight.copy_(torch.eye(lin.in_features, dtype=lin.weight.dtype))
    lin.bias.zero_()


@torch.no_grad()
def fit_code_layer(model: torch.nn.Module, images: np.ndarray, kind: str, seed: int,
                   device: torch.device | str = "cpu", batch_size: int = 512) -> dict:
    """Re-fit ``model``'s code layer in place as ``kind`` (one of :data:`CODE_LAYERS`) on ``images``
    (uint8 (N, C, H, W), N >= 2; ITQ's start rotation from ``seed``); returns a summary for the record."""
    if kind not in CODE_LAYERS:
        raise ValueError(f"code layer must be one of {CODE_LAYERS}, got {kind!r}")
    if kind == "trained":
        return {"code_layer": kind}
    if len(images) < 2:
        raise ValueError(f"an ITQ code layer needs at least 2 images, got {len(images)}")
    if kind == "itq-features":
        _make_first_layer_identity(model)
    a = last_layer_inputs(model, images, device, batch_size)               # (N, H)
    mean, proj = fit_itq(a, model.cfg.bits, np.random.default_rng(seed))  # (H,), (H, bits)
    last = model.code_head.net[2]
    last.weight.copy_(torch.from_numpy(proj.T.copy()).to(last.weight))    # (bits, H)
    twice = 2.0 if model.cfg.mirror_sum else 1.0                          # mirror_sum counts the bias twice
    last.bias.copy_(torch.from_numpy(-(mean @ proj) / twice).to(last.bias))  # u = (a - mean) @ proj
    return {"code_layer": kind, "fit_images": int(len(images)), "seed": int(seed)}
