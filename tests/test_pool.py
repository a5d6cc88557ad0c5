"""The 'small' backbone's pooling: global average, or the averages of the last map's 2x2 quadrants."""
import numpy as np
import pytest
import torch

from nacsearch import codes as C
from nacsearch.code_layer import fit_code_layer
from nacsearch.config import ModelConfig, model_config_from_dict, to_dict
from nacsearch.encode import encode_images, preactivations
from nacsearch.itq import fit_itq
from nacsearch.models import HashEncoder
from nacsearch.recipes import make_run_config
from nacsearch.samples import synthetic_images


def _model(pool: str, seed: int = 0, loco: bool = False) -> HashEncoder:
    torch.manual_seed(seed)
    return HashEncoder(ModelConfig(bits=16, image_size=28, channels=1, width=4, pool=pool, loco=loco)).eval()


def test_grid2_features_are_the_quadrant_means_of_the_last_map_quadrant_major():
    m = _model("grid2")
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        a = m.backbone.features(m.normalise(x))                             # (3, 32, 4, 4)
        h = m(x).h
    assert a.shape == (3, 32, 4, 4) and h.shape == (3, 4 * 32) and m.backbone.feature_dim == 128
    naive = [a[:, :, r:r + 2, c:c + 2].mean(dim=(2, 3)) for r in (0, 2) for c in (0, 2)]  # TL, TR, BL, BR
    torch.testing.assert_close(h, torch.cat(naive, dim=1))
    assert (h >= 0).all()                                                  # after ReLU: itq-features stays exact


def test_global_pool_is_the_mean_over_all_positions_and_the_default():
    assert ModelConfig().pool == "global"
    m = _model("global")
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        a = m.backbone.features(m.normalise(x))
        torch.testing.assert_close(m(x).h, a.mean(dim=(2, 3)))
    assert m.backbone.feature_dim == 32


def test_grid2_heads_and_codes_have_the_configured_sizes():
    m = _model("grid2")
    assert m.code_head.net[0].in_features == 128 and m.code_head.net[2].out_features == 16
    images = synthetic_images(8, size=28, seed=1)[0][:, None]
    assert encode_images(m, images).shape == (8, 2)


def test_pool_is_validated_and_needs_the_small_backbone():
    with pytest.raises(ValueError, match="pool must be one of"):
        ModelConfig(pool="max")
    with pytest.raises(ValueError, match="needs the 'small' backbone"):
        ModelConfig(backbone="resnet18", pool="grid2")


def test_a_config_written_before_pool_existed_reads_as_global_and_grid2_round_trips():
    d = to_dict(ModelConfig(pool="grid2"))
    assert model_config_from_dict(d).pool == "grid2"
    d.pop("pool")
    assert model_config_from_dict(d).pool == "global"


def test_itq_features_layer_on_a_grid2_model_is_itq_on_its_features():
    m = _model("grid2", seed=2)
    images = synthetic_images(64, size=28, seed=2)[0][:, None]
    h = preactivations(m, images, features=True)                           # (64, 128)
    fit_code_layer(m, images, "itq-features", seed=5)
    mean, proj = fit_itq(h, 16, np.random.default_rng(5))
    expect = C.to_pm1(C.encode_preactivations((h - mean) @ proj))
    assert (C.to_pm1(encode_images(m, images)) == expect).mean() > 0.999


def test_loco_stages_end_in_the_configured_pool():
    m = _model("grid2", loco=True)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        outs = m(x, stages=True)
        assert [o.h.shape[1] for o in outs] == [8, 16, 128]
        torch.testing.assert_close(outs[-1].h, m(x).h)


def test_make_run_config_passes_pool_to_every_objective():
    for objective in ("nac", "simclr"):
        assert make_run_config(1, 28, objective=objective, pool="grid2").model.pool == "grid2"
    assert make_run_config(1, 28).model.pool == "global"
