"""A code head trained longer than the code (ModelConfig.head_bits) with an ITQ code layer of the code's length."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from nacsearch import codes as C
from nacsearch.checkpoint import load_model
from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, run_config_from_dict
from nacsearch.datasets.arrays import ArrayImages
from nacsearch.encode import encode_images, preactivations
from nacsearch.itq import fit_itq
from nacsearch.models import HashEncoder
from nacsearch.recipes import make_run_config
from nacsearch.samples import synthetic_images
from nacsearch.train import train

CFG = dict(bits=16, image_size=16, channels=1, width=4, head_gain=8.0, code_layer="itq-features")


def test_head_bits_is_validated_and_needs_the_features_code_layer():
    assert ModelConfig(**CFG).train_bits == 16                             # 0: the code's length
    assert ModelConfig(**CFG, head_bits=32).train_bits == 32
    assert ModelConfig(bits=16, head_bits=16).train_bits == 16             # the same length needs no ITQ layer
    with pytest.raises(ValueError, match="multiple of 8"):
        ModelConfig(**CFG, head_bits=12)
    for layer in ("trained", "itq-hidden"):
        with pytest.raises(ValueError, match="code_layer='itq-features'"):
            ModelConfig(**{**CFG, "code_layer": layer}, head_bits=32)


def test_old_configs_read_as_a_head_of_the_codes_length():
    d = dataclasses.asdict(RunConfig(model=ModelConfig(**CFG)))
    del d["model"]["head_bits"]
    assert run_config_from_dict(d).model.head_bits == 0


def test_training_outputs_are_the_trained_heads_and_codes_the_code_heads():
    torch.manual_seed(0)
    model = HashEncoder(ModelConfig(**CFG, head_bits=32)).train()
    x = torch.rand(8, 1, 16, 16)
    out = model(x)
    assert out.u.shape == (8, 32) and out.logits.shape == (8, 32)         # what the objective trains
    assert model.eval().preactivations(x).shape == (8, 16)                # what a code is
    assert not any(p.requires_grad for p in model.code_head.parameters())  # fitted after training, never trained
    model.train()
    (model(x).u.square().sum() + model(x).logits.sum()).backward()
    assert all(p.grad is not None for p in model.train_head.parameters())
    assert HashEncoder(ModelConfig(**CFG)).train_head is None            # one head when the lengths agree


def test_centring_centres_the_trained_head():
    torch.manual_seed(0)
    model = HashEncoder(ModelConfig(**CFG, head_bits=32))
    code_bias = model.code_head.net[2].bias.clone()
    x = torch.rand(64, 1, 16, 16)
    model.centre_heads(x)
    torch.testing.assert_close(model.train()(x).u.mean(0), torch.zeros(32), atol=1e-5, rtol=0)
    assert torch.equal(model.code_head.net[2].bias, code_bias)


@pytest.fixture(scope="module")
def run_and_images():
    images = ArrayImages(synthetic_images(96, size=16, seed=0)[0]).images     # (96, 1, 16, 16) uint8
    run = RunConfig(model=ModelConfig(**CFG, head_bits=32), objective=ObjectiveConfig(p=0.2),
                    train=TrainConfig(epochs=100, batch_size=32, max_steps=6, seed=1))
    return run, images


def test_a_run_trains_the_long_head_and_saves_codes_of_the_codes_length(run_and_images, tmp_path):
    run, images = run_and_images
    train(run, ArrayImages(images), tmp_path, device="cpu", progress=False)
    model, meta = load_model(tmp_path)
    assert model.train_head.net[2].out_features == 32 and model.code_head.net[2].out_features == 16
    assert meta["state"]["code_layer"]["code_layer"] == "itq-features"
    assert json.loads((tmp_path / "config.json").read_text())["config"]["model"]["head_bits"] == 32
    codes = encode_images(model, images)
    assert codes.shape == (96, 2)                                          # 16 bits packed
    h = preactivations(model, images, features=True)                      # backbone features, as trained
    mean, proj = fit_itq(h, 16, np.random.default_rng(run.train.seed))
    assert (C.encode_preactivations((h - mean) @ proj) == codes).mean() > 0.999
    train(run, ArrayImages(images), tmp_path, device="cpu", progress=False, resume=True)   # nothing left to train
    again, _ = load_model(tmp_path)
    np.testing.assert_array_equal(encode_images(again, images), codes)


def test_the_long_head_changes_the_training_not_only_the_shapes(run_and_images, tmp_path):
    run, images = run_and_images
    short = dataclasses.replace(run, model=dataclasses.replace(run.model, head_bits=0))
    train(run, ArrayImages(images), tmp_path / "long", device="cpu", progress=False)
    train(short, ArrayImages(images), tmp_path / "short", device="cpu", progress=False)
    a, _ = load_model(tmp_path / "long")
    b, _ = load_model(tmp_path / "short")
    assert not torch.equal(a.backbone.state_dict()["features.0.0.weight"], b.backbone.state_dict()["features.0.0.weight"])


def test_a_recipes_head_bits_are_nacs_only(monkeypatch):
    from nacsearch.named_recipes import RECIPES

    assert make_run_config(1, 28, bits=32, head_bits=128).model.head_bits == 128   # categories: an ITQ code layer
    with pytest.raises(ValueError, match="itq-features"):                  # asked for, on a trained code layer
        make_run_config(1, 28, bits=32, objective="simclr", head_bits=128)
    monkeypatch.setitem(RECIPES, "categories", {**RECIPES["categories"], "head_bits": 128})
    assert make_run_config(1, 28, bits=32).model.head_bits == 128
    assert make_run_config(1, 28, bits=32, objective="simclr").model.head_bits == 0
    assert make_run_config(1, 28, bits=32, code_layer="trained").model.head_bits == 0     # the recipe's head yields
    with pytest.raises(ValueError, match="itq-features"):                  # an explicit head does not
        make_run_config(1, 28, bits=32, code_layer="trained", head_bits=128)


def test_a_longer_head_trains_exactly_as_a_model_of_that_length(run_and_images, tmp_path):
    """head_bits=32 at 16 bits draws the same start and takes the same steps as a 32-bit model (the code head,
    fitted after training, draws nothing), so ITQ on either's features gives the same codes."""
    run, images = run_and_images
    long = dataclasses.replace(run, model=dataclasses.replace(run.model, bits=32, head_bits=0))
    train(run, ArrayImages(images), tmp_path / "a", device="cpu", progress=False)
    train(long, ArrayImages(images), tmp_path / "b", device="cpu", progress=False)
    a, _ = load_model(tmp_path / "a")
    b, _ = load_model(tmp_path / "b")
    for k, v in b.backbone.state_dict().items():
        assert torch.equal(a.backbone.state_dict()[k], v), k
    assert torch.equal(a.inference_head.net[2].weight, b.inference_head.net[2].weight)


def test_a_wider_trained_head_leaves_the_code_head_on_the_features(run_and_images, tmp_path):
    """hidden widens the trained heads only: the fitted-only code head is the ITQ layer on the features, whose
    first layer is the identity (D x D), so the combination trains and saves codes of ITQ on the features."""
    run, images = run_and_images
    wide = dataclasses.replace(run, model=dataclasses.replace(run.model, hidden=48))
    train(wide, ArrayImages(images), tmp_path, device="cpu", progress=False)
    model, _ = load_model(tmp_path)
    dim = model.backbone.feature_dim
    assert model.train_head.net[0].out_features == 48 and model.inference_head.net[0].out_features == 48
    assert model.code_head.net[0].in_features == model.code_head.net[0].out_features == dim
    h = preactivations(model, images, features=True)
    mean, proj = fit_itq(h, 16, np.random.default_rng(run.train.seed))
    assert (C.encode_preactivations((h - mean) @ proj) == encode_images(model, images)).mean() > 0.999
    assert make_run_config(1, 28, hidden=512).model.hidden == 512          # a setting eval --nac-set accepts
    with pytest.raises(ValueError, match="hidden width"):                  # a code head of its own still needs it
        train(dataclasses.replace(wide, model=dataclasses.replace(wide.model, head_bits=0)), ArrayImages(images),
              tmp_path / "same-length", device="cpu", progress=False)
