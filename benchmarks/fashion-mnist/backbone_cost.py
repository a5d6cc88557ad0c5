"""What a training step of each backbone costs on this machine, and how many epochs a 30-minute budget buys.

The reference NAC code trains ``vgg16_bn`` from scratch on 32 x 32 images (``shared/reference/nac-method.md``); the
standard protocol here trains the 'small' CNN (width 16) for 40 epochs of the 5,000 training images (6,240 steps of
32 images, two views each).  Each row times the same step: a batch of 2 x 32 grayscale images through the backbone,
a linear layer to 128 outputs, a squared-output loss, backward, AdamW (channels-last, as the training loop does on a
CPU).  The loss and heads of the real objectives cost little beside the backbone; the ``small`` rows are checked
against the loop's own speed in the reports (``fit_s``).  Median of ``--steps`` timed steps after 3 untimed ones.

Usage: OMP_NUM_THREADS=2 python benchmarks/fashion-mnist/backbone_cost.py [--steps 10] [--budget-min 30]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from nacsearch.config import ModelConfig
from nacsearch.models.backbones import build_backbone

STEPS_40_EPOCHS = 40 * 5000 // 32  # the standard protocol's schedule


def backbones() -> dict[str, tuple[nn.Module, int]]:
    """name -> (backbone, input size)."""
    small = {f"small width {w}": (build_backbone(ModelConfig(channels=1, image_size=28, width=w)), 28) for w in (16, 32)}
    big = {name: (build_backbone(ModelConfig(channels=1, image_size=32, backbone=b)), 32)
           for name, b in (("resnet18 (small stem)", "resnet18"), ("vgg16_bn (the reference's)", "vgg16_bn"))}
    return small | big


def step_seconds(net: nn.Module, size: int, steps: int) -> float:
    """Median seconds of one training step on 2 x 32 images of ``size`` px."""
    with torch.no_grad():
        dim = net(torch.zeros(2, 1, size, size)).shape[1]
    model = nn.Sequential(net, nn.Linear(dim, 128)).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.rand(64, 1, size, size, generator=torch.Generator().manual_seed(0)).to(memory_format=torch.channels_last)
    times = []
    for i in range(steps + 3):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        model(x).pow(2).mean().backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--budget-min", type=float, default=30.0)
    args = ap.parse_args()
    torch.manual_seed(0)
    for name, (net, size) in backbones().items():
        s = step_seconds(net, size, args.steps)
        steps = int(args.budget_min * 60 / s)
        print(json.dumps({"backbone": name, "input_px": size, "threads": torch.get_num_threads(),
                          "step_s": round(s, 4), "steps_in_budget": steps, "epochs_in_budget": round(steps * 32 / 5000, 1),
                          "minutes_for_40_epochs": round(STEPS_40_EPOCHS * s / 60, 1)}), flush=True)


if __name__ == "__main__":
    main()
