"""A run's config from a named recipe: what ``nacsearch train``, ``build-index`` and ``eval`` train with.

The defaults are the config dataclasses' (``nacsearch/config.py``, tuned on the Fashion-MNIST validation split; tuning
log in ``benchmarks/RESULTS.md``); a named recipe (``nacsearch/named_recipes.py``) changes some of them; both live there
and nowhere else.  This module fills in what depends on the data (channels, size, normalisation, grayscale views for
RGB only) and applies overrides.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, ViewConfig
from nacsearch.datasets import ArrayImages, open_dataset
from nacsearch.named_recipes import RECIPES


def _given(**kw) -> dict:
    return {k: v for k, v in kw.items() if v is not None}


def make_run_config(channels: int, image_size: int, bits: int = 64, objective: str = "nac",
                    backbone: str | None = None, width: int | None = None, p: float | None = None,
                    epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
                    seed: int = 0, max_steps: int = 0, optimizer: str = "adamw",
                    views: ViewConfig | None = None, minutes: float | None = None,
                    max_images: int | None = None, recipe: str = "categories", head_gain: float | None = None,
                    prior_weight: float | None = None, loco: bool | None = None,
                    input_norm: str | None = None, prior_normalise: bool | None = None,
                    cpu_bf16: bool | None = None, mirror_sum: bool | None = None,
                    ema: float | None = None, pair_negative: bool | None = None,
                    bank: int | None = None, neighbours: int | None = None,
                    neighbour_weight: float | None = None, code_layer: str | None = None,
                    pool: str | None = None, head_centre: bool | None = None,
                    head_bits: int | None = None, hidden: int | None = None,
                    ntxent_weight: float | None = None) -> RunConfig:
    """A full RunConfig from the config defaults, the named recipe (:data:`RECIPES`) and any
    overrides (None = the recipe's value, else the default)."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
    rec = RECIPES[recipe]
    views = views if views is not None else _recipe_views(rec, objective, channels)

    (epochs, prior_weight, input_norm, prior_normalise, cpu_bf16, mirror_sum, pair_negative, pool, hidden, width,
     backbone) = _chosen(rec, epochs=epochs, prior_weight=prior_weight, input_norm=input_norm,
                         prior_normalise=prior_normalise, cpu_bf16=cpu_bf16, mirror_sum=mirror_sum,
                         pair_negative=pair_negative, pool=pool, hidden=hidden, width=width, backbone=backbone)
    if objective == "nac":  # a recipe's code bank, code layer, head start and length, and its auxiliary NT-Xent
        #                     term are NAC's; other objectives keep the defaults
        bank, code_layer, head_centre, head_bits = _nac_heads(rec, bank, code_layer, head_centre, head_bits)
        ntxent_weight, = _chosen(rec, ntxent_weight=ntxent_weight)
    mean = (0.5,) * channels
    if objective == "cibhash" and head_gain is None:
        head_gain = 1.0  # the default init: CIBHash's q = sigmoid(u) starts unsaturated
    model = ModelConfig(bits=bits, image_size=image_size, channels=channels, mean=mean, std=mean,
                        **_given(backbone=backbone, width=width, head_gain=head_gain, loco=loco,
                                     input_norm=input_norm, mirror_sum=mirror_sum, code_layer=code_layer,
                                     pool=pool, head_centre=head_centre, head_bits=head_bits, hidden=hidden))
    obj = ObjectiveConfig(name=objective, **_given(p=p, prior_weight=prior_weight, prior_normalise=prior_normalise,
                                                   pair_negative=pair_negative, bank=bank, neighbours=neighbours,
                                                   neighbour_weight=neighbour_weight, ntxent_weight=ntxent_weight))
    train = TrainConfig(seed=seed, max_steps=max_steps, optimizer=optimizer,
                        **_given(epochs=epochs, batch_size=batch_size, lr=lr, minutes=minutes, max_images=max_images,
                                 cpu_bf16=cpu_bf16, ema=ema))
    return RunConfig(model=model, views=views, objective=obj, train=train)


def _recipe_views(rec: dict, objective: str, channels: int) -> ViewConfig:
    """The recipe's views for ``objective`` (its own, if the recipe names them); grayscale views only for RGB."""
    views = rec.get("objective_views", {}).get(objective, rec.get("views", ViewConfig()))
    return views if channels == 3 else dataclasses.replace(views, grayscale_p=0.0)


def _nac_heads(rec: dict, bank, code_layer, head_centre, head_bits) -> tuple:
    """NAC's (bank, code_layer, head_centre, head_bits): each given value, else the recipe's.  A recipe's longer
    trained head needs its ITQ code layer, so it is dropped when another code layer is asked for."""
    chosen = _chosen(rec, bank=bank, code_layer=code_layer, head_centre=head_centre, head_bits=head_bits)
    if head_bits is None and chosen[1] not in (None, "itq-features"):
        return (*chosen[:3], None)
    return chosen


def _chosen(rec: dict, **given) -> tuple:
    """Each given value in order: the explicit one, else the recipe's, else None (the dataclass default)."""
    return tuple(v if v is not None else rec.get(k) for k, v in given.items())


def load_training_data(spec: str, channels: int | None = None, image_size: int | None = None,
                       progress: bool = True, max_images: int = 0, seed: int = 0) -> ArrayImages:
    """Open a dataset spec (``fashion-mnist:PATH``, ``cifar10:PATH``, ``mirflickr:PATH`` or a folder),
    keeping the seeded training sample of at most ``max_images`` (0 = all)."""
    return open_dataset(spec, channels, image_size, progress=progress, max_images=max_images, seed=seed)


def fit(spec: str, out_dir: str | Path, device: str = "auto", resume: bool = False, progress: bool = True,
        channels: int | None = None, image_size: int | None = None, backbone_weights: str | None = None,
        **overrides):
    """Train on a dataset spec with the recipe defaults; returns :class:`nacsearch.train.TrainResult`.

    Folders get the shared folder rule for channels and size; large ones are sampled
    (``TrainConfig.max_images``) before anything is decoded.
    """
    from nacsearch.train import train

    limit = overrides.get("max_images")
    data = load_training_data(spec, channels, image_size, progress, TrainConfig.max_images if limit is None else limit,
                              overrides.get("seed", 0))
    run = make_run_config(data.channels, data.image_size, **overrides)
    return train(run, data, out_dir, device=device, resume=resume, progress=progress,
                 backbone_weights=backbone_weights)
