"""The heads' data-dependent start (ModelConfig.head_centre, HashEncoder.centre_heads)."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from nacsearch.config import ModelConfig, model_config_from_dict, to_dict
from nacsearch.datasets.arrays import ArrayImages
from nacsearch.distributed import DistInfo
from nacsearch.models import HashEncoder
from nacsearch.recipes import make_run_config
from nacsearch.samples import synthetic_images
from nacsearch.train import CENTRE_IMAGES, _Trainer, train


def _model(loco: bool = False, inference: bool = True) -> HashEncoder:
    torch.manual_seed(0)
    return HashEncoder(ModelConfig(bits=16, image_size=28, channels=1, width=4, loco=loco), inference)


def _outputs(m: HashEncoder, x: torch.Tensor) -> list:
    """Train-mode outputs of every stage, without touching BatchNorm's running statistics."""
    state = {k: v.clone() for k, v in m.state_dict().items()}
    m.train()
    with torch.no_grad():
        outs = m(x, stages=True) if m.local_heads is not None else [m(x)]
    m.load_state_dict(state)
    return outs


@pytest.mark.parametrize("loco", [False, True], ids=["plain", "loco"])
def test_centred_heads_average_zero_over_the_sample_on_every_stage(loco):
    m = _model(loco)
    x = torch.rand(48, 1, 28, 28)
    before = _outputs(m, x)
    assert len(before) == (3 if loco else 1)
    assert (before[-1].u.mean(0).abs() > before[-1].u.std(0)).float().mean() > 0.5  # mostly common to all images
    m.centre_heads(x)
    for b, a in zip(before, _outputs(m, x)):
        for y0, y1 in ((b.u, a.u), (b.logits, a.logits)):
            torch.testing.assert_close(y1.mean(0), torch.zeros(16), atol=1e-5, rtol=0)
            torch.testing.assert_close(y1 - y1.mean(0), y0 - y0.mean(0), atol=1e-5, rtol=0)  # only a shift


def test_centring_moves_only_the_last_biases_and_keeps_batchnorm_and_mode():
    m = _model().eval()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    m.centre_heads(torch.rand(32, 1, 28, 28))
    assert not m.training
    moved = {k for k, v in m.state_dict().items() if not torch.equal(v, before[k])}
    assert moved == {"code_head.net.2.bias", "inference_head.net.2.bias"}


def test_centring_a_model_without_an_inference_head():
    m = _model(inference=False)
    x = torch.rand(32, 1, 28, 28)
    m.centre_heads(x)
    torch.testing.assert_close(_outputs(m, x)[0].u.mean(0), torch.zeros(16), atol=1e-5, rtol=0)


def _trainer(tmp_path: Path, seed: int, centre: bool) -> _Trainer:
    images, _ = synthetic_images(CENTRE_IMAGES + 44, size=28, seed=3)
    run = make_run_config(1, 28, bits=16, width=4, seed=seed, head_centre=centre, head_bits=0)
    torch.manual_seed(0)  # the same random init for every trainer
    t = _Trainer(run, ArrayImages(images), tmp_path, torch.device("cpu"), DistInfo())
    if centre:
        t.centre_heads()
    return t


def test_the_trainer_centres_the_heads_on_a_seeded_sample(tmp_path):
    plain, a, b, other = (_trainer(tmp_path, s, c) for s, c in ((0, False), (0, True), (0, True), (1, True)))
    x = a._centre_sample()
    assert x.shape == (CENTRE_IMAGES, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    torch.testing.assert_close(_outputs(a.model, x)[0].u.mean(0), torch.zeros(16), atol=1e-5, rtol=0)
    assert _outputs(plain.model, x)[0].u.mean(0).abs().max() > 1e-2
    key = "code_head.net.2.bias"
    assert torch.equal(a.model.state_dict()[key], b.model.state_dict()[key])          # seeded: reproducible
    assert not torch.equal(a.model.state_dict()[key], other.model.state_dict()[key])  # another seed, another sample
    assert not np.array_equal(a._centre_sample().numpy(), other._centre_sample().numpy())


def test_a_new_run_centres_after_the_backbone_weights_and_a_resumed_run_does_not(tmp_path, monkeypatch):
    from nacsearch.models import backbones

    calls, real = [], HashEncoder.centre_heads
    monkeypatch.setattr(HashEncoder, "centre_heads", lambda self, x: (calls.append("centre"), real(self, x)))
    monkeypatch.setattr(backbones, "load_backbone_weights",
                        lambda net, path: calls.append("backbone") or {"loaded": 0, "skipped": []})
    images, _ = synthetic_images(64, size=28, seed=3)
    run = make_run_config(1, 28, bits=16, width=4, max_steps=2, minutes=0, head_centre=True, code_layer="trained")
    train(run, ArrayImages(images), tmp_path / "a", device="cpu", progress=False, backbone_weights="weights.pt")
    assert calls == ["backbone", "centre"]   # centred on the features the run will train
    calls.clear()
    train(run, ArrayImages(images), tmp_path / "a", device="cpu", progress=False, resume=True,
          backbone_weights="weights.pt")
    assert calls == []                       # the checkpoint's weights, not a new start
    train(run, ArrayImages(images), tmp_path / "c", device="cpu", progress=False, resume=True,
          backbone_weights="weights.pt")
    assert calls == ["backbone", "centre"]   # --resume with nothing to resume is a new run
    calls.clear()
    train(dataclasses.replace(run, model=dataclasses.replace(run.model, head_centre=False)), ArrayImages(images),
          tmp_path / "b", device="cpu", progress=False)
    assert calls == []


def test_head_centre_is_off_by_default_and_old_configs_read_as_off():
    assert ModelConfig().head_centre is False
    d = to_dict(ModelConfig(head_centre=True))
    assert model_config_from_dict(d).head_centre is True
    d.pop("head_centre")
    assert model_config_from_dict(d).head_centre is False
    run = make_run_config(1, 28, head_centre=True)
    assert run.model.head_centre and dataclasses.replace(run.model, head_centre=False) != run.model


def test_the_categories_recipe_centres_nacs_heads_only():
    assert make_run_config(1, 28).model.head_centre is True
    assert make_run_config(1, 28, head_centre=False).model.head_centre is False
    assert make_run_config(1, 28, recipe="copies").model.head_centre is False
    for objective in ("simclr", "cibhash"):
        assert make_run_config(1, 28, objective=objective).model.head_centre is False
