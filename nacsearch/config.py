"""Frozen, validated configuration dataclasses (written as JSON beside every artefact)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from nacsearch.codes import check_bits

BACKBONES = ("small", "resnet18", "vgg16_bn")
INPUT_NORMS = ("dataset", "image")
POOLS = ("global", "grid2")  # how the 'small' backbone pools its last feature map (nacsearch.models.backbones)
CODE_LAYERS = ("trained", "itq-hidden", "itq-features")  # the code head's last layer after training (code_layer.py)
OBJECTIVES = ("nac", "simclr", "cibhash", "distillhash")
OPTIMIZERS = ("adamw", "lars", "sgd")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a hashing encoder; everything needed to rebuild it."""

    backbone: str = "small"          # feature extractor: small | resnet18 | vgg16_bn
    bits: int = 64                   # code length d (multiple of 8, 8..256)
    image_size: int = 32             # images are resized to image_size x image_size
    channels: int = 1                # 1 = grayscale, 3 = RGB
    width: int = 16                  # base channel width of the 'small' backbone (~300-480 img/s of two-view
    #                                  training on 2 CPU cores at 28 px)
    hidden: int = 0                  # hidden width of the trained code/inference heads (0 = feature dim); a code
    #                                  head fitted after training (head_bits != bits) is always feature-dim wide
    pool: str = "global"             # 'small' backbone's last feature map -> features: global: its average over
    #                                  all positions (8w); grid2: the averages of its 2x2 quadrants (32w), which keep
    #                                  where in the image a pattern is
    loco: bool = False               # LoCo-style local training: each 'small' backbone stage gets its own heads
    #                                  and loss, gradients overlap one stage (nacsearch.models.backbones)
    head_gain: float = 16.0          # multiplies the default init of the heads' last layers (scale of u at init;
    #                                  16 gives mean |u| 0.28 / 0.15 / 0.11 at 16 / 64 / 128 bits on Fashion-MNIST,
    #                                  mostly a part common to all images); 1 and 48 were worse
    head_centre: bool = False        # data-dependent start: before the first step each head's last-layer bias is
    #                                  set so that its outputs average 0 over a seeded sample of training images
    #                                  (HashEncoder.centre_heads); otherwise codes start nearly equal for all images
    input_norm: str = "dataset"      # dataset: (x - mean) / std with the fixed values below; image: each image
    #                                  standardised by its own mean and std over all pixels and channels, so a
    #                                  brightness or contrast change (x -> a x + b) does not change the input
    mirror_sum: bool = False         # codes are the signs of u(x) + u(mirror x): a horizontal mirror leaves an
    #                                  image's code exactly as it was (encoding only; training is unchanged)
    code_layer: str = "trained"      # trained: the last linear layer as NAC trained it; itq-hidden / itq-features:
    #                                  re-fitted by ITQ at the end of training on the training images' inputs to it
    #                                  or on the backbone features (nacsearch.code_layer); codes stay its signs
    head_bits: int = 0               # length of the code head the objective trains (0 = bits).  Another length
    #                                  needs code_layer='itq-features': the codes are then the ITQ layer's `bits`
    #                                  signs on the backbone features, and the trained head is a training-time part
    mean: tuple[float, ...] = (0.5,)  # per-channel normalisation mean (len == channels)
    std: tuple[float, ...] = (0.5,)   # per-channel normalisation std (len == channels)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        check_bits(self.bits)
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if not 8 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be in [8, 1024], got {self.image_size}")
        if self.head_gain <= 0:
            raise ValueError(f"head_gain must be positive, got {self.head_gain}")
        if self.input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {self.input_norm!r}")
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {self.pool!r}")
        if self.pool != "global" and self.backbone != "small":
            raise ValueError(f"pool={self.pool!r} needs the 'small' backbone")
        if self.loco and self.backbone != "small":
            raise ValueError("loco needs the 'small' backbone (its stages are defined there)")
        if self.code_layer not in CODE_LAYERS:
            raise ValueError(f"code_layer must be one of {CODE_LAYERS}, got {self.code_layer!r}")
        if self.width < 4 or self.hidden < 0:
            raise ValueError("width must be >= 4 and hidden >= 0")
        if self.head_bits:
            check_bits(self.head_bits)
            if self.head_bits != self.bits and self.code_layer != "itq-features":
                raise ValueError(f"head_bits={self.head_bits} differs from bits={self.bits}: that needs "
                                 "code_layer='itq-features' (the code is then fitted on the backbone features)")
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError("mean and std need one value per channel")
        if any(s <= 0 for s in self.std):
            raise ValueError("std must be positive")

    @property
    def train_bits(self) -> int:
        """The length of the code head the objective trains (``head_bits``, else ``bits``)."""
        return self.head_bits or self.bits


@dataclass(frozen=True)
class ViewConfig:
    """Two-view augmentation (SimCLR family); strength scales jitter and crop together."""

    crop_scale: tuple[float, float] = (0.6, 1.0)  # RandomResizedCrop area range (0.6, 0.8 beat 0.3 by ~0.07 mAP)
    crop_ratio: tuple[float, float] = (0.75, 1.3333333)  # aspect ratio range
    flip: float = 0.5                # horizontal flip probability
    jitter: float = 0.4              # brightness/contrast (and saturation) jitter strength (categories: CATEGORY_VIEWS)
    hue: float = 0.1                 # hue jitter (RGB only)
    jitter_p: float = 0.8            # probability of applying colour jitter
    grayscale_p: float = 0.2         # probability of grayscale (RGB only)
    blur_p: float = 0.0              # probability of Gaussian blur
    erase_p: float = 0.0             # probability of random erasing (cutout)
    zoom_out_p: float = 0.0          # probability of zooming out instead of cropping: the image shrinks to
    zoom_out: float = 0.7            #   a side of U(zoom_out, 1) of the frame at a random place, the rest is fill
    rotate_p: float = 0.0            # probability of a rotation by U(-rotate, rotate) degrees (corners are fill)
    rotate: float = 8.0
    downscale_p: float = 0.0         # probability of a downscale to U(downscale, 0.7) of the side and back
    downscale: float = 0.3
    jpeg_p: float = 0.0              # probability of a JPEG-like re-save (nacsearch.jpeg) at a quality of
    jpeg_quality: float = 15.0       #   U(jpeg_quality, 90), at the model's input size
    fill: float = 1.0                # value of areas outside the image (1 = white, the alpha background)
    clean_p: float = 0.0             # probability that an image's first view is the image as given: the pair is
    #                                  then (original, edited copy), the pairs a copy search compares
    small_crops: int = 0             # multi-crop (SwAV, Caron et al., NeurIPS 2020): this many extra low-resolution
    small_size: int = 0              #   crops per image, small_size px a side (0 = half the image's, >= 8), of area
    small_scale: tuple[float, float] = (0.05, 0.4)  # in small_scale; each is paired with both full views

    def __post_init__(self) -> None:
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < lo <= hi <= 1, got {self.crop_scale}")
        if not 0 < self.crop_ratio[0] <= self.crop_ratio[1]:
            raise ValueError(f"bad crop_ratio {self.crop_ratio}")
        for name in ("flip", "jitter_p", "grayscale_p", "blur_p", "erase_p", "zoom_out_p", "rotate_p", "downscale_p",
                     "jpeg_p", "fill", "clean_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability, got {getattr(self, name)}")
        if self.jitter < 0 or not 0 <= self.hue <= 0.5:
            raise ValueError("jitter must be >= 0 and hue in [0, 0.5]")
        if not (0 < self.zoom_out <= 1 and 0 <= self.rotate <= 45 and 0 < self.downscale <= 0.7):
            raise ValueError("zoom_out must be in (0, 1], rotate in [0, 45] degrees, downscale in (0, 0.7]")
        if not 1 <= self.jpeg_quality <= 90:
            raise ValueError(f"jpeg_quality must be in [1, 90], got {self.jpeg_quality}")
        if not (0 <= self.small_crops <= 8 and self.small_size >= 0 and 0 < self.small_scale[0] <= self.small_scale[1] <= 1):
            raise ValueError("small_crops must be in 0..8, small_size >= 0, small_scale 0 < lo <= hi <= 1")
        object.__setattr__(self, "crop_scale", tuple(self.crop_scale))
        object.__setattr__(self, "crop_ratio", tuple(self.crop_ratio))
        object.__setattr__(self, "small_scale", tuple(self.small_scale))


@dataclass(frozen=True)
class ObjectiveConfig:
    """Which loss trains the code head."""

    name: str = "nac"                # nac (BSC mutual information) | simclr (NT-Xent) | cibhash (contrastive
    #                                  bottleneck on stochastic codes) | distillhash (pairwise)
    p: float = 0.08                  # NAC channel flip probability, 0 < p < 0.5 (0.08 beat 0.15; 0.25-0.4 worse)
    temperature: float = 0.2         # SimCLR temperature
    cib_temperature: float = 0.3     # CIBHash temperature (the paper's)
    cib_beta: float = 0.001          # CIBHash weight of the bottleneck KL term (the paper's)
    prior_weight: float = 0.0        # weight of the DIM-DM-style uniform/decorrelated-bits regulariser (0 = off)
    prior_normalise: bool = False    # the regulariser's moments on each bit scaled to RMS 1 (scale-free: it can
    #                                  no longer be met by shrinking the codes toward the sign boundary)
    pair_negative: bool = True       # NAC: the other view of the same image is among a code's negatives, as in
    #                                  the reference; False leaves it out (only other images' codes are negatives)
    bank: int = 0                    # NAC: the relaxed codes of the last `bank` views of earlier steps are further
    #                                  negatives (a memory bank, detached; 0 = only the batch's codes)
    neighbours: int = 0              # NAC: a support set of the last `neighbours` codes (detached); the inference head
    #                                  also predicts the nearest of them to the other view's code (NNCLR-style; 0 = off)
    neighbour_weight: float = 0.5    # NAC: that neighbour's share of the positive term, in (0, 1]
    ntxent_weight: float = 0.0       # weight of an auxiliary SimCLR NT-Xent term (at `temperature`) on a projection
    #                                  of the backbone features (nacsearch.objectives.auxiliary; 0 = off)

    def __post_init__(self) -> None:
        if self.name not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.name!r}")
        if not 0 < self.p < 0.5:
            raise ValueError(f"p must be in (0, 0.5), got {self.p}")
        if self.temperature <= 0 or self.cib_temperature <= 0:
            raise ValueError("temperatures must be positive")
        if self.cib_beta < 0 or self.prior_weight < 0 or self.ntxent_weight < 0:
            raise ValueError("cib_beta, prior_weight and ntxent_weight must be >= 0")
        if not 0 <= self.bank <= 1_000_000:
            raise ValueError(f"bank must be in [0, 1e6], got {self.bank}")
        if (self.bank or self.neighbours) and self.name != "nac":
            raise ValueError(f"code banks are NAC options; objective {self.name!r} has none")
        if not 0 <= self.neighbours <= 1_000_000:
            raise ValueError(f"neighbours must be in [0, 1e6], got {self.neighbours}")
        if not 0 < self.neighbour_weight <= 1:
            raise ValueError(f"neighbour_weight must be in (0, 1], got {self.neighbour_weight}")

    @property
    def kappa(self) -> float:
        """NAC's inner-product scale: 1/2 log((1-p)/p)."""
        return 0.5 * math.log((1 - self.p) / self.p)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation schedule; device and seed are explicit."""

    epochs: int = 40                 # passes over the training images
    batch_size: int = 32             # images per step (two views each); 32 beat 64 by 0.03 mAP, 16 ties but is slower
    lr: float = 2e-3                 # peak learning rate
    weight_decay: float = 1e-4       # decoupled weight decay
    optimizer: str = "adamw"         # adamw | lars | sgd
    warmup_epochs: float = 1.0       # linear warm-up, then cosine decay to 0
    seed: int = 0                    # seeds torch, numpy and the data order
    max_steps: int = 0               # stop after this many steps (0 = no limit)
    minutes: float = 10.0            # time budget: the run is planned to fit (steps timed on this device
    #                                  before training; 0 = no budget, epochs/max_steps alone decide)
    max_images: int = 50_000         # train on a seeded sample of at most this many images (0 = all)
    checkpoint_every: int = 0        # steps between periodic checkpoints (0 = end of each epoch)
    cpu_bf16: bool = False           # on a CPU with native bf16 kernels, train in bf16 autocast (about 1.6x more
    #                                  steps per minute; encoding stays fp32).  CUDA always trains in mixed precision
    ema: float = 0.0                 # decay of an exponential moving average of the weights and BatchNorm statistics,
    #                                  updated after every step; the checkpoint's model is the average (0 = off)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("epochs must be >= 1 and batch_size >= 2")
        if self.lr <= 0 or self.weight_decay < 0 or self.warmup_epochs < 0:
            raise ValueError("lr must be > 0, weight_decay and warmup_epochs >= 0")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.max_steps < 0 or self.checkpoint_every < 0 or self.max_images < 0:
            raise ValueError("max_steps, max_images and checkpoint_every must be >= 0")
        if not 0 <= self.minutes <= 10_000_000:
            raise ValueError(f"minutes must be in [0, 1e7], got {self.minutes}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run needs, as stored in a checkpoint's config.json."""

    model: ModelConfig = field(default_factory=ModelConfig)
    views: ViewConfig = field(default_factory=ViewConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if (self.objective.bank or self.objective.neighbours) and self.model.loco:  # every LoCo stage would push
            raise ValueError("a code bank cannot be combined with LoCo-style local training")  # into one bank
        if self.views.small_crops and (self.model.loco or self.objective.bank or self.objective.neighbours):
            raise ValueError("small crops (multi-crop) cannot be combined with LoCo stages or a code bank")


_SECTIONS = {"model": ModelConfig, "views": ViewConfig, "objective": ObjectiveConfig, "train": TrainConfig}
# Fields added after files were first written: an older file that lacks one was made without it.
_ABSENT_MEANS = {TrainConfig: {"minutes": 0.0, "max_images": 0},
                 ViewConfig: {"zoom_out_p": 0.0, "rotate_p": 0.0, "downscale_p": 0.0, "jpeg_p": 0.0, "clean_p": 0.0,
                              "small_crops": 0}}


def to_dict(cfg: Any) -> dict:
    """Dataclass -> JSON-ready dict (tuples become lists)."""
    return dataclasses.asdict(cfg)


def _build(cls: type, d: dict) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {sorted(unknown)}")
    kwargs = {**_ABSENT_MEANS.get(cls, {}), **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}}
    return cls(**kwargs)


def run_config_from_dict(d: dict) -> RunConfig:
    """Rebuild (and so re-validate) a RunConfig from its JSON dict."""
    unknown = set(d) - set(_SECTIONS)
    if unknown:
        raise ValueError(f"unknown config section(s): {sorted(unknown)}")
    return RunConfig(**{k: _build(cls, d.get(k, {})) for k, cls in _SECTIONS.items()})


def model_config_from_dict(d: dict) -> ModelConfig:
    """Rebuild a ModelConfig from its JSON dict."""
    return _build(ModelConfig, d)


def parse_settings(pairs: list[str] | tuple[str, ...]) -> dict:
    """``["p=0.1", "recipe=copies"]`` -> ``{"p": 0.1, "recipe": "copies"}``: each value read as JSON, else kept as a
    string (the KEY=VALUE overrides of ``eval --nac-set`` and the benchmark scripts); ValueError on a pair
    without ``=`` or a key."""
    import json

    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out
