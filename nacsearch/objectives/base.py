"""The objective plug-in interface: a small nn.Module scoring two views' encoder outputs."""
from __future__ import annotations

from torch import nn


class Objective(nn.Module):
    """``forward(out1, out2, generator=None, gather=None) -> {"loss": scalar, ...}``.

    ``out1``/``out2`` are :class:`nacsearch.models.EncoderOutput` for the two views
    of the same B images (row i of each is image i).  ``gather`` (optional) maps a
    local ``(n, d)`` tensor to the ``(n * world, d)`` concatenation over processes,
    with gradients, and has a ``rank`` attribute; it is set under DistributedDataParallel.
    ``index`` (keyword) holds the batch's dataset indices (B,), for objectives with
    per-item side information; others ignore it.
    """

    needs_inference_head: bool = False
    projection_dim: int = 0  # > 0: the objective reads ``out.z``, the encoder's projection head of this many outputs
