"""The training loop, checkpoints, resume, and distributed training."""
import dataclasses
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

from nacsearch import codes as C
from nacsearch.checkpoint import CheckpointError, load_model, save_checkpoint
from nacsearch.config import (ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, ViewConfig, run_config_from_dict,
                              to_dict)
from nacsearch.datasets.arrays import ArrayImages
from nacsearch.encode import encode_images
from nacsearch.models import HashEncoder
from nacsearch.samples import synthetic_images
from nacsearch.train import train


def tiny_run(steps=8, objective="nac", **model):
    mc = dict(bits=16, image_size=16, channels=1, width=4, head_gain=8.0)
    mc.update(model)
    return RunConfig(model=ModelConfig(**mc), objective=ObjectiveConfig(name=objective, p=0.2),
                     train=TrainConfig(epochs=100, batch_size=32, max_steps=steps, lr=3e-3, seed=1))


@pytest.fixture(scope="module")
def data():
    images, _ = synthetic_images(128, size=16, seed=0)
    return ArrayImages(images)


@pytest.mark.parametrize("objective", ["nac", "simclr"])
def test_loss_decreases_on_a_tiny_seeded_run(data, tmp_path, objective):
    res = train(tiny_run(40, objective), data, tmp_path, device="cpu", progress=False)
    meta = json.loads((tmp_path / "config.json").read_text())
    losses = [h["loss"] for h in meta["stats"]["history"]]
    assert len(losses) == 10  # one checkpoint per epoch (4 steps each)
    assert np.mean(losses[-3:]) < np.mean(losses[:2]) - 0.05, losses
    assert res.steps == 40


def test_identical_images_get_identical_codes(data, tmp_path):
    train(tiny_run(2), data, tmp_path, device="cpu", progress=False)
    model, _ = load_model(tmp_path)
    x = np.concatenate([data.images[:5], data.images[:5], data.images[5:6]])
    codes = encode_images(model, x)
    np.testing.assert_array_equal(codes[:5], codes[5:10])
    codes_alone = encode_images(model, data.images[:1])  # batch composition does not matter in eval mode
    np.testing.assert_array_equal(codes_alone, codes[:1])


def test_checkpoint_round_trip_is_bit_exact(tmp_path):
    torch.manual_seed(0)
    run = tiny_run()
    model = HashEncoder(run.model)
    save_checkpoint(tmp_path, model, run, stats={"x": 1})
    loaded, meta = load_model(tmp_path, expect={"bits": 16, "channels": 1})
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert meta["run"] == run and run_config_from_dict(to_dict(run)) == run
    assert meta["provenance"]["versions"]["torch"]


def test_mismatched_or_corrupt_checkpoint_is_refused(tmp_path):
    run = tiny_run()
    save_checkpoint(tmp_path, HashEncoder(run.model), run)
    with pytest.raises(CheckpointError, match="bits=16 but 64"):
        load_model(tmp_path, expect={"bits": 64})
    w = tmp_path / "model.safetensors"
    raw = bytearray(w.read_bytes())
    raw[-5] ^= 0xFF
    w.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["config"]["model"]["bits"] = 12
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="multiple of 8"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(CheckpointError):
        load_model(tmp_path)


def test_weights_of_another_architecture_are_refused(tmp_path):
    run = tiny_run()
    save_checkpoint(tmp_path, HashEncoder(run.model), run)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["config"]["model"]["width"] = 8
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(tmp_path)


@pytest.mark.parametrize("views,ema,bank,model", [(ViewConfig(), 0.0, 0, {}),
                                                  (ViewConfig(zoom_out_p=0.5, rotate_p=0.5, downscale_p=0.5), 0.0, 0, {}),
                                                  (ViewConfig(), 0.8, 0, {}), (ViewConfig(), 0.0, 200, {}),
                                                  (ViewConfig(), 0.0, 0, {"code_layer": "itq-features"}),
                                                  (ViewConfig(), 0.0, 0, {"head_centre": True})],
                         ids=["default-views", "copy-views", "ema", "code-bank", "itq-code-layer", "centred-heads"])
def test_interrupted_run_resumes_exactly(data, tmp_path, monkeypatch, views, ema, bank, model):
    run = dataclasses.replace(tiny_run(12, **model), views=views)
    run = dataclasses.replace(run, train=dataclasses.replace(run.train, ema=ema),
                              objective=dataclasses.replace(run.objective, bank=bank))
    train(run, data, tmp_path / "full", device="cpu", progress=False)

    from nacsearch import train as T
    real_step, real_calibrate = T._Trainer.step, T._Trainer.calibrate

    def calibrate(self, plan):
        self.calibrating = True
        try:
            return real_calibrate(self, plan)
        finally:
            self.calibrating = False

    def step_then_interrupt(self, x, idx, step, lr):
        if step == 6 and not getattr(self, "calibrating", False):
            raise KeyboardInterrupt
        return real_step(self, x, idx, step, lr)

    monkeypatch.setattr(T._Trainer, "calibrate", calibrate)
    monkeypatch.setattr(T._Trainer, "step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(run, data, tmp_path / "cut", device="cpu", progress=False)
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["state"]["step"] == 6
    monkeypatch.setattr(T._Trainer, "step", real_step)
    train(run, data, tmp_path / "cut", device="cpu", progress=False, resume=True)
    a, _ = load_model(tmp_path / "full")
    b, _ = load_model(tmp_path / "cut")
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=k)


def test_ema_model_is_the_moving_average_of_the_trained_weights(data, tmp_path, monkeypatch):
    from nacsearch import train as T

    decay, seen = 0.7, []
    real_step = T._Trainer.step

    def step(self, *a):
        out = real_step(self, *a)
        seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return out

    monkeypatch.setattr(T._Trainer, "step", step)
    run = tiny_run(5)
    run = dataclasses.replace(run, train=dataclasses.replace(run.train, ema=decay, minutes=0.0))
    train(run, data, tmp_path, device="cpu", progress=False)
    avg = dict(seen[0])                                         # a naive average: the first update copies,
    for w in seen[1:]:                                          # then e <- decay e + (1 - decay) w
        avg = {k: decay * avg[k] + (1 - decay) * w[k] if w[k].is_floating_point() else w[k] for k in w}
    model, meta = load_model(tmp_path)
    assert meta["state"]["ema_updates"] == 5 and len(seen) == 5
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, avg[k], rtol=1e-5, atol=1e-6, msg=k)
    key = "code_head.net.2.weight"
    assert (model.state_dict()[key] - seen[-1][key]).abs().max() > 1e-4  # the average, not the last weights
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0)


def test_resume_with_another_config_is_refused(data, tmp_path):
    train(tiny_run(2), data, tmp_path, device="cpu", progress=False)
    with pytest.raises(ValueError, match="differs"):
        train(tiny_run(3), data, tmp_path, device="cpu", progress=False, resume=True)


def test_wrong_image_format_is_refused(data, tmp_path):
    with pytest.raises(ValueError, match="expects"):
        train(tiny_run(1, image_size=20), data, tmp_path, device="cpu", progress=False)


def test_torchrun_two_process_gloo(fmnist_dir, tmp_path):
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not on PATH")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # --standalone: torchrun picks a free port itself (a fixed --master-port failed with EADDRINUSE
    # whenever another run of this test, or anything else, held it)
    cmd = [torchrun, "--standalone", "--nproc-per-node", "2", "-m", "nacsearch.cli.main", "train",
           f"fashion-mnist:{fmnist_dir}", "--out", str(out), "--bits", "16", "--batch-size", "8",
           "--max-steps", "3", "--device", "cpu"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    model, meta = load_model(out)
    assert meta["state"]["world"] == 2 and meta["state"]["step"] == 3
    assert C.as_packed(encode_images(model, np.zeros((2, 1, 28, 28), np.uint8))).shape == (2, 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_with_autocast(data, tmp_path):
    res = train(tiny_run(4), data, tmp_path, device="cuda", progress=False)
    assert np.isfinite(res.final_loss)


def test_log_lines_are_bounded_but_every_epoch_is_checkpointed(tmp_path, capsys):
    images, _ = synthetic_images(16, size=16, seed=0)  # one step per epoch
    run = RunConfig(model=ModelConfig(bits=16, image_size=16, channels=1, width=4),
                    train=TrainConfig(epochs=100, batch_size=16, seed=1))
    train(run, ArrayImages(images), tmp_path, device="cpu", progress=True)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("step ")]
    assert [ln.split()[1] for ln in lines] == [f"{s}/100" for s in range(3, 100, 3)] + ["100/100"]
    history = json.loads((tmp_path / "config.json").read_text())["stats"]["history"]
    assert [h["step"] for h in history] == list(range(1, 101))


def test_backbone_weights_start_the_backbone_and_only_it(tmp_path):
    """train(backbone_weights=a checkpoint's model.safetensors) copies the backbone, not the heads."""
    import numpy as np
    import torch

    from nacsearch.checkpoint import WEIGHTS, load_model
    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.models import HashEncoder
    from nacsearch.recipes import make_run_config
    from nacsearch.train import train as run_train

    data = ArrayImages((np.random.default_rng(0).random((8, 1, 16, 16)) * 255).astype(np.uint8))
    src = make_run_config(1, 16, bits=16, epochs=1, batch_size=4, minutes=0, max_images=0, width=4, objective="simclr")
    run_train(src, data, tmp_path / "src", device="cpu", progress=False)
    source, _ = load_model(tmp_path / "src", "cpu")
    dst = make_run_config(1, 16, bits=16, epochs=1, batch_size=4, minutes=0, max_images=0, width=4, max_steps=1, lr=1e-12)
    run_train(dst, data, tmp_path / "dst", device="cpu", progress=False, backbone_weights=str(tmp_path / "src" / WEIGHTS))
    got, _ = load_model(tmp_path / "dst", "cpu")
    w = "features.0.0.weight"
    torch.testing.assert_close(got.backbone.state_dict()[w], source.backbone.state_dict()[w], rtol=1e-6, atol=1e-8)
    fresh = HashEncoder(dst.model)
    assert got.code_head.net[0].weight.shape == fresh.code_head.net[0].weight.shape
    assert not torch.allclose(got.code_head.net[0].weight, source.code_head.net[0].weight)


def test_cpu_trains_in_bf16_only_when_asked_and_native_and_always_encodes_in_fp32(monkeypatch):
    from nacsearch import device as D
    from nacsearch.named_recipes import RECIPES
    from nacsearch.recipes import make_run_config

    cpu = torch.device("cpu")
    monkeypatch.setattr(D, "cpu_has_native_bf16", lambda: True)
    assert D.autocast_dtype(cpu, training=True, cpu_bf16=True) == torch.bfloat16
    assert D.autocast_dtype(cpu, training=True) is None                    # not asked: fp32 as before
    assert D.autocast_dtype(cpu, cpu_bf16=True) is None                    # encoding: fp32 on every CPU
    monkeypatch.setattr(D, "cpu_has_native_bf16", lambda: False)
    assert D.autocast_dtype(cpu, training=True, cpu_bf16=True) is None     # emulated bf16 would be slower
    assert make_run_config(1, 28, recipe="copies").train.cpu_bf16 is RECIPES["copies"]["cpu_bf16"] is True
    assert make_run_config(1, 28).train.cpu_bf16 is False                  # the step-exact 'categories' recipe
    assert make_run_config(1, 28, recipe="copies", cpu_bf16=False).train.cpu_bf16 is False
