"""Default training recipes: the settings ``nacsearch train`` and ``build-index`` use.

The defaults were chosen on the Fashion-MNIST validation split (queries drawn from the
training images, see ``benchmarks/RESULTS.md``); every value can be overridden.
"""
from __future__ import annotations

from pathlib import Path

from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, ViewConfig
from nacsearch.datasets import ArrayImages, open_dataset

DEFAULTS = {
    "backbone": "small",
    "width": 16,          # 'small' CNN base width: ~300-480 img/s of two-view training on 2 CPU cores at 28 px
    "head_gain": 16.0,    # starts tanh(u) out of its linear regime; 1 (plain init) and 48 (saturated) were worse
    "p": 0.08,            # channel flip probability; 0.08 beat 0.15 at 16 and 64 bits (tied at 32), 0.25-0.4 worse
    "epochs": 40,
    "batch_size": 32,     # 32 beat 64 by 0.03 validation mAP at the same epochs and img/s; 16 ties 32 but is slower
    "lr": 2e-3,
    "crop_scale": (0.6, 1.0),  # 0.6 and 0.8 beat 0.3 by ~0.07 validation mAP (InfoMin: views are a knob)
    "jitter": 0.4,
}


def make_run_config(channels: int, image_size: int, bits: int = 64, objective: str = "nac",
                    backbone: str | None = None, width: int | None = None, p: float | None = None,
                    epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
                    seed: int = 0, max_steps: int = 0, optimizer: str = "adamw",
                    views: ViewConfig | None = None) -> RunConfig:
    """A full RunConfig from the recipe defaults and any overrides (None = default)."""
    d = DEFAULTS
    mean = (0.5,) * channels
    model = ModelConfig(backbone=backbone or d["backbone"], bits=bits, image_size=image_size,
                        channels=channels, width=width or d["width"], head_gain=d["head_gain"], mean=mean, std=mean)
    views = views or ViewConfig(crop_scale=d["crop_scale"], jitter=d["jitter"],
                                grayscale_p=0.2 if channels == 3 else 0.0)
    obj = ObjectiveConfig(name=objective, p=p if p is not None else d["p"])
    train = TrainConfig(epochs=epochs or d["epochs"], batch_size=batch_size or d["batch_size"],
                        lr=lr or d["lr"], seed=seed, max_steps=max_steps, optimizer=optimizer)
    return RunConfig(model=model, views=views, objective=obj, train=train)


def load_training_data(spec: str, channels: int | None = None, image_size: int | None = None,
                       progress: bool = True) -> ArrayImages:
    """Open a dataset spec (``fashion-mnist:PATH``, ``cifar10:PATH``, ``mirflickr:PATH`` or a folder)."""
    return open_dataset(spec, channels, image_size, progress=progress)


def fit(spec: str, out_dir: str | Path, device: str = "auto", resume: bool = False, progress: bool = True,
        channels: int | None = None, image_size: int | None = None, backbone_weights: str | None = None,
        **overrides):
    """Train on a dataset spec with the recipe defaults; returns :class:`nacsearch.train.TrainResult`."""
    from nacsearch.train import train

    data = load_training_data(spec, channels, image_size, progress)
    run = make_run_config(data.channels, data.image_size, **overrides)
    return train(run, data, out_dir, device=device, resume=resume, progress=progress,
                 backbone_weights=backbone_weights)
