"""Deep methods as hashers: NAC, SimCLR-sign, CIBHash-style and DistillHash-style, all through the one
training loop."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nacsearch import codes as C
from nacsearch.config import ViewConfig
from nacsearch.datasets.arrays import ArrayImages, sample_indices
from nacsearch.eval.baselines.base import FeatureFn

WEAK_VIEWS = ViewConfig(crop_scale=(0.7, 1.0), jitter=0.0, jitter_p=0.0, grayscale_p=0.0)
DISTILL_MAX_IMAGES = 10_000  # pseudo-labels are a dense (N, N) matrix: a seeded sample of at most this many


class DeepHasher:
    """Trains an encoder with ``objective`` ('nac', 'simclr', 'cibhash' or 'distillhash') and encodes by sign."""

    def __init__(self, bits: int, objective: str, out_dir: str | Path, device: str = "auto",
                 features: FeatureFn | None = None, progress: bool = True, init_from: str | Path | None = None,
                 distill: dict | None = None, **overrides) -> None:
        self.bits, self.objective, self.name = C.check_bits(bits), objective, objective
        self.out_dir, self.device, self.input_features = Path(out_dir), device, features
        self.progress, self.overrides = progress, overrides
        self.init_from = init_from  # a checkpoint directory whose backbone starts this encoder
        self.distill = dict(distill or {})  # DistillHash-style pseudo-label settings (k, alpha, beta)
        self.model = None
        self.diagnostics: dict = {}

    def fit(self, train_images: np.ndarray, seed: int = 0, truth: np.ndarray | None = None) -> "DeepHasher":
        from nacsearch.checkpoint import WEIGHTS, load_model
        from nacsearch.device import resolve_device
        from nacsearch.recipes import make_run_config
        from nacsearch.train import train

        kw = dict(self.overrides)
        custom = None
        if self.objective == "distillhash":
            train_images, custom = self._distill(train_images, seed, truth)
            kw.setdefault("views", WEAK_VIEWS)
        data = ArrayImages(train_images)
        kw.setdefault("minutes", 0)  # protocol runs are step-exact (epochs) and use the whole training set
        kw.setdefault("max_images", 0)
        run = make_run_config(data.channels, data.image_size, bits=self.bits, objective=self.objective,
                              seed=seed, **kw)
        init = str(Path(self.init_from) / WEIGHTS) if self.init_from else None
        res = train(run, data, self.out_dir, device=self.device, progress=self.progress, objective=custom,
                    backbone_weights=init)
        self.diagnostics.update({"train_images_per_s": res.images_per_s, "train_wall_s": res.wall_s,
                                 "final_loss": res.final_loss, "steps": res.steps, "code_layer": run.model.code_layer})
        self.model, _ = load_model(self.out_dir, resolve_device(self.device))
        if self.init_from:
            self.diagnostics["init_from"] = str(self.init_from)
        return self

    def _distill(self, images: np.ndarray, seed: int, truth: np.ndarray | None):
        """(training images, pairwise objective): pseudo-labels on a seeded sample of at most
        DISTILL_MAX_IMAGES; their diagnostics (against ``truth``, never used to train) are recorded."""
        from nacsearch.eval.baselines.distillhash import label_stats, make_objective

        if len(images) > DISTILL_MAX_IMAGES:
            keep = sample_indices(len(images), DISTILL_MAX_IMAGES, seed)
            images, truth = images[keep], (truth[keep] if truth is not None else None)
        objective, labels = make_objective(images, self.input_features, **self.distill)
        self.diagnostics["pseudo_labels"] = {**label_stats(labels, truth), **self.distill}
        return images, objective

    def features(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, C, H, W) -> float32 (N, D): the trained backbone's features (a FeatureFn)."""
        from nacsearch.device import resolve_device
        from nacsearch.encode import preactivations

        if self.model is None:
            raise RuntimeError(f"{self.name}: fit() before features()")
        return preactivations(self.model, images, resolve_device(self.device), features=True)

    def encode(self, images: np.ndarray) -> np.ndarray:
        from nacsearch.device import resolve_device
        from nacsearch.encode import encode_images

        if self.model is None:
            raise RuntimeError(f"{self.name}: fit() before encode()")
        return encode_images(self.model, images, resolve_device(self.device))
