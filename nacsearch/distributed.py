"""DistributedDataParallel support: process-group set-up and a gather that keeps gradients.

Launch with ``torchrun --nproc-per-node N`` (multi-node: ``--nnodes`` and a rendezvous);
NCCL is used on CUDA, gloo on CPU.  Only rank 0 writes checkpoints and logs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); returns info and the local device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local), device


class GatherWithGrad:
    """``gather(x)``: (n, d) -> (n * world, d) over all ranks, rank order, differentiable."""

    def __init__(self, info: DistInfo) -> None:
        self.rank, self.world = info.rank, info.world

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from torch.distributed.nn.functional import all_gather

        return torch.cat(all_gather(x.contiguous()), dim=0)


def max_over_ranks(value: float, info: DistInfo, device: torch.device) -> float:
    """The largest ``value`` over all processes (``value`` itself when not distributed)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
