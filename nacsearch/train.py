"""The one training loop. A method is a plug-in: model heads + objective + views.

Data is an in-memory :class:`~nacsearch.datasets.ArrayImages` (uint8); each step
takes a batch, makes two views on the training device, runs the encoder on both
and minimises the configured objective.  Randomness is explicit: the data order of
epoch e comes from ``seed + e`` and the views/channel noise of step s from a
generator seeded by ``(seed, s, rank)``, so a resumed run continues exactly where a
checkpoint left off.
"""
from __future__ import annotations

import copy
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from nacsearch import codes as C
from nacsearch.budget import Budget, format_budget, plan_budget, replan_step, replan_timed_from, time_steps
from nacsearch.checkpoint import CONFIG, load_model, load_train_state, read_meta, save_checkpoint
from nacsearch.code_layer import check_code_layer
from nacsearch.config import RunConfig
from nacsearch.datasets.arrays import ArrayImages
from nacsearch.device import autocast, autocast_dtype, resolve_device
from nacsearch.distributed import DistInfo, GatherWithGrad, init_distributed, max_over_ranks, shutdown
from nacsearch.models import HashEncoder
from nacsearch.objectives import Objective, build_objective
from nacsearch.optim import build_optimizer, lr_at
from nacsearch.plan import StepPlan, epoch_order, make_plan
from nacsearch.views import TwoViews

log = logging.getLogger(__name__)

CENTRE_IMAGES = 256  # training images whose statistics centre the heads at the start (ModelConfig.head_centre)


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    final_loss: float
    images_per_s: float
    wall_s: float
    history: list[dict] = field(default_factory=list)


def _rows(out, start: int, stop: int):
    """Rows ``start:stop`` of every tensor of an encoder output (None stays None)."""
    return type(out)(*(t[start:stop] if t is not None else None for t in out))


def _log(msg: str, info: DistInfo) -> None:
    if info.is_main:
        log.info(msg)


class _Trainer:
    def __init__(self, run: RunConfig, data: ArrayImages, out_dir: Path, device: torch.device, info: DistInfo,
                 objective: Objective | None = None):
        self.run, self.data, self.out, self.device, self.info = run, data, out_dir, device, info
        self.objective = (objective or build_objective(run.objective, run.model.train_bits)).to(device)
        self.model = HashEncoder(run.model, self.objective.needs_inference_head, self.objective.projection_dim).to(device)
        check_code_layer(self.model, run.model.code_layer)  # before any step, not after the last
        # CPU convolutions run faster on channels-last tensors (benchmarks/RESULTS.md, "Training throughput")
        self.layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
        self.model.to(memory_format=self.layout)
        self.views = TwoViews(run.views)
        self.opt = build_optimizer(self.model, run.train)
        # the weights that encode, when averaged: parameters and BatchNorm statistics (the first update copies)
        self.ema = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(run.train.ema), use_buffers=True)
                    if run.train.ema > 0 else None)
        self.net = self.model
        if info.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.gather = GatherWithGrad(info) if info.enabled else None
        self.precision = autocast_dtype(device, training=True, cpu_bf16=run.train.cpu_bf16)
        use_scaler = self.precision == torch.float16
        self.scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
        self.history: list[dict] = []
        self.budget: dict = {}
        self._order, self._order_epoch = np.zeros(0, np.int64), -1

    def centre_heads(self) -> None:
        """A new run's centred heads (ModelConfig.head_centre), on :meth:`_centre_sample`; after any backbone weights
        are loaded, since the centring depends on the features."""
        self.model.centre_heads(self._centre_sample())

    def _centre_sample(self) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] for HashEncoder.centre_heads: a seeded sample of CENTRE_IMAGES."""
        n = len(self.data)
        idx = np.sort(np.random.default_rng([self.run.train.seed, 1]).choice(n, min(n, CENTRE_IMAGES), replace=False))
        x = torch.from_numpy(self.data.images[idx]).to(self.device).float().div_(255)
        return x.contiguous(memory_format=self.layout)

    def step(self, x: torch.Tensor, idx: np.ndarray, step: int, lr: float) -> tuple[float, torch.Tensor]:
        cfg = self.run.train
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 9973 + self.info.rank)
        for group in self.opt.param_groups:
            group["lr"] = lr
        v1, v2 = self.views(x, g)
        small = self.views.small(x, g)  # drawn last: without small crops every other draw stays where it was
        b, idx_t = x.shape[0], torch.from_numpy(idx).to(self.device)
        with autocast(self.device, training=True, cpu_bf16=cfg.cpu_bf16):
            both = torch.cat([v1, v2]).contiguous(memory_format=self.layout)
            outs = self.net(both, stages=True) if self.run.model.loco else [self.net(both)]
            small_out = self.net(small.contiguous(memory_format=self.layout)) if small is not None else None
        loss = torch.zeros((), device=self.device)
        for out in outs:  # one local loss per LoCo stage; an ordinary model has one (the code's, last)
            halves = [_rows(out, 0, b), _rows(out, b, 2 * b)]
            loss = loss + self.objective(halves[0], halves[1], generator=g, gather=self.gather, index=idx_t)["loss"]
        if small_out is not None:
            loss = self._with_small_crops(loss, halves, small_out, g, idx_t)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower --lr")
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        return float(loss.detach()), halves[0].u.detach()

    def _with_small_crops(self, pair_loss: torch.Tensor, halves: list, small_out, g: torch.Generator,
                          idx_t: torch.Tensor) -> torch.Tensor:
        """Multi-crop (SwAV, Caron et al., NeurIPS 2020): the mean of the full views' loss and the loss of each
        small crop with each full view (the objective's own, on that pair), so 1 + 2S pairs weigh alike."""
        b = halves[0].u.shape[0]
        losses = [pair_loss]
        for k in range(small_out.u.shape[0] // b):
            crop = _rows(small_out, k * b, (k + 1) * b)
            losses += [self.objective(crop, full, generator=g, gather=self.gather, index=idx_t)["loss"]
                       for full in halves]
        return torch.stack(losses).mean()

    def batch(self, plan: StepPlan, step: int) -> tuple[np.ndarray, torch.Tensor]:
        """Dataset indices (sorted) and float images in [0, 1] on the device for ``step``."""
        epoch = step // plan.spe
        if epoch != self._order_epoch:
            self._order, self._order_epoch = epoch_order(plan.n, self.run.train.seed, epoch, self.info), epoch
        i = step % plan.spe
        idx = np.sort(self._order[i * plan.batch:(i + 1) * plan.batch])
        x = torch.from_numpy(self.data.images[idx]).to(self.device, non_blocking=True).float().div_(255)
        return idx, x

    def record(self, plan: StepPlan, step: int, loss: float, u: torch.Tensor, rate: float) -> str:
        """Log bit balance and loss after ``step`` (0-based) and write a checkpoint."""
        bal = C.bit_balance(C.encode_preactivations(u.float().cpu().numpy()))
        epoch = step // plan.spe
        self.history.append({"step": step + 1, "epoch": epoch, "loss": loss, "img_s": rate,
                             "balance": round(bal["mean_balance"], 4)})
        self.save(step + 1, epoch, {"history": self.history}, plan.total)
        return f"step {step + 1}/{plan.total} loss {loss:.4f} balance {bal['mean_balance']:.3f} {rate:.0f} img/s"

    def save(self, step: int, epoch: int, stats: dict, total: int, encoded: torch.nn.Module | None = None,
             extra: dict | None = None) -> None:
        """A checkpoint; ``encoded`` (weights that encode, such as a re-fitted code layer) replaces the trained
        or averaged weights as the model, which are then kept beside the optimizer for a resumed run."""
        if self.info.is_main:
            ema = self.ema
            model = encoded if encoded is not None else (ema.module if ema is not None else self.model)
            save_checkpoint(self.out, model, self.run, stats=stats, optimizer=self.opt,
                            trained=self.model if model is not self.model else None, objective=self.objective,
                            state={"step": step, "epoch": epoch, "world": self.info.world,
                                   "total_steps": total, "complete": step >= total, "budget": self.budget,
                                   "ema_updates": int(ema.n_averaged) if ema else 0, **(extra or {})})

    def fit_code_layer(self, total: int, spe: int) -> None:
        """After the last step: re-fit the code layer (``ModelConfig.code_layer``) of the weights that encode
        on the training images, and save it as the model (nacsearch.code_layer)."""
        from nacsearch.code_layer import fit_code_layer

        if self.run.model.code_layer == "trained" or not self.info.is_main:
            return
        encoded = copy.deepcopy(self.ema.module if self.ema is not None else self.model)
        encoded.to(memory_format=torch.contiguous_format)
        record = fit_code_layer(encoded, self.data.images, self.run.model.code_layer, self.run.train.seed, self.device)
        _log(f"code layer: {record['code_layer']} fitted on {record['fit_images']} images", self.info)
        self.save(total, (total - 1) // spe, {"history": self.history}, total, encoded,
                  {"code_layer": record})

    def resume(self) -> tuple[int, int | None]:
        """Load the checkpoint in ``out``; returns (steps done, the run's planned total steps)."""
        meta = read_meta(self.out)
        if meta["run"] != self.run:
            raise ValueError(f"{self.out}: cannot resume, the stored config differs from this run's")
        model, meta = load_model(self.out, self.device, unfitted_ok=True)
        trained = load_train_state(self.out, self.opt, meta, self.objective)
        if self.ema is not None:  # the checkpoint's model is the average; the trained weights are kept beside it
            self.ema.module.load_state_dict(model.state_dict())
            self.ema.n_averaged.fill_(int(meta["state"].get("ema_updates", 0)))
            self.model.load_state_dict(trained)
        else:  # a re-fitted code layer is saved as the model; the trained weights beside it
            self.model.load_state_dict(trained or model.state_dict())
        self.history = list(meta.get("stats", {}).get("history", []))
        self.budget = dict(meta["state"].get("budget", {}))
        return int(meta["state"].get("step", 0)), meta["state"].get("total_steps")

    def calibrate(self, plan: StepPlan) -> Budget:
        """Time real steps, undo them (weights, optimizer, BatchNorm, scaler, objective state such as a code bank),
        plan within the budget."""
        budget_s = self.run.train.minutes * 60
        saved = copy.deepcopy((self.model.state_dict(), self.opt.state_dict(), self.scaler.state_dict(),
                               self.objective.state_dict()))

        def one(i: int) -> None:
            s = i % plan.total
            idx, x = self.batch(plan, s)
            self.net.train()
            self.step(x, idx, s, lr_at(s, plan.total, plan.warm, self.run.train.lr))

        try:
            step_s = time_steps(one, enough=lambda sec: sec * plan.total < 0.5 * budget_s)
        finally:
            self.model.load_state_dict(saved[0])
            self.opt.load_state_dict(saved[1])
            self.scaler.load_state_dict(saved[2])
            self.objective.load_state_dict(saved[3])
        return plan_budget(self.run.train.minutes, max_over_ranks(step_s, self.info, self.device), plan.total)


def train(run: RunConfig, data: ArrayImages, out_dir: str | Path, device: str | torch.device = "auto",
          resume: bool = False, progress: bool = True, objective: Objective | None = None,
          backbone_weights: str | None = None) -> TrainResult:
    """Train an encoder on ``data`` and write checkpoints to ``out_dir``; returns a summary.

    ``resume=True`` continues from ``out_dir``'s checkpoint (same config required).
    ``objective`` overrides the one built from ``run.objective`` (for plug-ins that carry
    data, such as DistillHash's pseudo-labels).  ``backbone_weights`` initialises the backbone
    from a file the user names (see :func:`nacsearch.models.backbones.load_backbone_weights`).
    Ctrl-C saves a checkpoint at the current step before re-raising.
    """
    info, dev = init_distributed(resolve_device(device))
    out = Path(out_dir)
    if data.channels != run.model.channels or data.image_size != run.model.image_size:
        raise ValueError(f"data is {data.channels}x{data.image_size}px but the model expects "
                         f"{run.model.channels}x{run.model.image_size}px")
    data = data.sample(run.train.max_images, run.train.seed)
    torch.manual_seed(run.train.seed + info.rank)
    t = _Trainer(run, data, out, dev, info, objective)
    resuming = resume and (out / CONFIG).exists()  # --resume with no checkpoint yet starts a new run
    if backbone_weights and not resuming:  # a resumed run loads its own weights instead of these
        from nacsearch.models.backbones import load_backbone_weights

        rep = load_backbone_weights(t.model.backbone, backbone_weights)
        _log(f"backbone: {rep['loaded']} tensors from {backbone_weights}, skipped {rep['skipped'][:8]}", info)
    if run.model.head_centre and not resuming:
        t.centre_heads()
    start, plan = _start(t, len(data), resuming)
    precision = str(t.precision).removeprefix("torch.") if t.precision is not None else "float32"
    head = f" (trained head {run.model.train_bits})" if run.model.train_bits != run.model.bits else ""
    _log(f"training {run.objective.name} {run.model.backbone} {run.model.bits} bits{head} on {plan.n} images, "
         f"{dev} x{info.world} ({precision}), {plan.total} steps of {plan.batch}", info)
    try:
        loss, seen, wall, total = _loop(t, plan, start, progress)
        t.fit_code_layer(total, plan.spe)
    finally:
        shutdown(info)
    return TrainResult(out, total, loss, seen / max(wall, 1e-9), wall, t.history)


def _start(t: _Trainer, n: int, resume: bool) -> tuple[int, StepPlan]:
    """(first step, plan): a resumed run keeps its planned length; a new one is planned within
    ``TrainConfig.minutes`` when a budget is set."""
    plan = make_plan(n, t.run, t.info)
    if resume:
        start, total = t.resume()
        return start, make_plan(n, t.run, t.info, total)
    if t.run.train.minutes > 0:
        budget = t.calibrate(plan)
        t.budget = budget.to_dict()
        _log(format_budget(budget, plan.batch, plan.n, plan.spe), t.info)
        plan = make_plan(n, t.run, t.info, budget.steps)
    return 0, plan


def _replan(t: _Trainer, plan: StepPlan, at: int, steps_timed: int, seconds: float) -> StepPlan:
    """The budgeted plan made again after step ``at`` from the rate of ``steps_timed`` steps in ``seconds``."""
    step_s = max_over_ranks(seconds / steps_timed, t.info, t.device)
    full = make_plan(plan.n, t.run, t.info).total
    steps = max(plan_budget(t.run.train.minutes, step_s, full).steps, at + 1)
    t.budget["replan"] = {"at_step": at, "step_s": round(step_s, 5), "steps": steps, "first_plan_steps": plan.total}
    _log(f"re-plan after {at} steps: {step_s * 1000:.0f} ms/step measured, {steps} steps (first plan {plan.total})",
         t.info)
    return make_plan(plan.n, t.run, t.info, steps)


def _loop(t: _Trainer, plan: StepPlan, start: int, progress: bool) -> tuple[float, int, float, int]:
    """Steps ``start .. plan.total``; returns (last loss, images seen, seconds, steps in the run).  A budgeted run not yet
    re-planned is planned again after :func:`~nacsearch.budget.replan_step` steps."""
    show = progress and t.info.is_main
    bar = tqdm(total=plan.total, initial=start, desc="train", unit="step", file=sys.stderr,
               disable=not show, dynamic_ncols=True)
    t0, seen, loss, step = time.perf_counter(), 0, float("nan"), start
    at = replan_step(plan.total) if t.run.train.minutes > 0 and "replan" not in t.budget else None
    at = at if at is not None and at > start else None
    mark = replan_timed_from(start, at) if at is not None else None  # the rate is timed from this step on
    t_mark, n_mark = t0, start
    try:
        while step < plan.total:
            idx, x = t.batch(plan, step)
            t.net.train()
            loss, u = t.step(x, idx, step, lr_at(step, plan.total, plan.warm, t.run.train.lr))
            if t.ema is not None:
                t.ema.update_parameters(t.model)
            seen += len(idx) * t.info.world
            rate = seen / (time.perf_counter() - t0)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{rate:.0f}", refresh=False)
            if step + 1 == mark:
                t_mark, n_mark = time.perf_counter(), step + 1
            if at is not None and step + 1 == at:
                plan = _replan(t, plan, at, step + 1 - n_mark, time.perf_counter() - t_mark)
                bar.total = plan.total
            if (step + 1) % plan.every == 0 or step + 1 == plan.total:
                line = t.record(plan, step, loss, u, rate)
                if show and ((step + 1) % plan.log_every == 0 or step + 1 == plan.total):
                    bar.write(line, file=sys.stderr)
            step += 1
    except KeyboardInterrupt:
        t.save(step, step // plan.spe, {"history": t.history, "interrupted": True}, plan.total)
        _log(f"interrupted: checkpoint saved at step {step} in {t.out} (rerun with --resume)", t.info)
        raise
    finally:
        bar.close()
    return loss, seen, time.perf_counter() - t0, plan.total
