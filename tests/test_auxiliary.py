"""The auxiliary NT-Xent term on a projection of the features: its value, its plumbing, and that it never touches a code."""
import dataclasses

import numpy as np
import pytest
import torch

from nacsearch.checkpoint import CheckpointError, load_model
from nacsearch.config import ObjectiveConfig
from nacsearch.encode import encode_images
from nacsearch import train as T
from nacsearch.models import EncoderOutput
from nacsearch.named_recipes import RECIPES
from nacsearch.objectives import NACLoss, WithNTXent, WithPrior, build_objective
from nacsearch.objectives.auxiliary import PROJECTION_DIM
from nacsearch.objectives.nac import bsc_mask
from nacsearch.optim import build_optimizer
from nacsearch.recipes import make_run_config
from nacsearch.provenance import read_json, write_json
from nacsearch.train import train
from tests.test_objectives import naive_nac, naive_simclr
from tests.test_train import data, tiny_run  # noqa: F401  (the module's fixture)


def test_with_ntxent_is_nac_plus_the_weighted_naive_ntxent():
    torch.manual_seed(3)
    b, d, p, w, t = 3, 8, 0.3, 0.7, 0.5
    u1, u2, l1, l2 = (torch.randn(b, d, dtype=torch.float64) for _ in range(4))
    z1, z2 = torch.randn(b, 5, dtype=torch.float64), torch.randn(b, 5, dtype=torch.float64)
    m = bsc_mask((2 * b, d), p, torch.device("cpu"), torch.Generator().manual_seed(7))
    out = WithNTXent(NACLoss(p), w, t)(EncoderOutput(None, u1, l1, z1), EncoderOutput(None, u2, l2, z2),
                                       generator=torch.Generator().manual_seed(7))
    want_nac, want_aux = naive_nac(u1, u2, l1, l2, m.double(), p), naive_simclr(z1, z2, t)
    assert float(out["ntxent"]) == pytest.approx(want_aux, rel=1e-6)
    assert float(out["loss"]) == pytest.approx(want_nac + w * want_aux, rel=1e-6)


def test_the_term_needs_the_projection_and_positive_settings():
    u = torch.randn(2, 4)
    with pytest.raises(ValueError, match="projection"):
        WithNTXent(NACLoss(0.1), 1.0, 0.2)(EncoderOutput(None, u, u), EncoderOutput(None, u, u))
    for w, t in ((0.0, 0.2), (1.0, 0.0)):
        with pytest.raises(ValueError):
            WithNTXent(NACLoss(0.1), w, t)
    with pytest.raises(ValueError, match="ntxent_weight"):
        ObjectiveConfig(ntxent_weight=-1.0)


def test_build_objective_wraps_nac_and_the_prior_passes_the_heads_on():
    plain = build_objective(ObjectiveConfig())
    assert isinstance(plain, NACLoss) and plain.projection_dim == 0
    both = build_objective(ObjectiveConfig(ntxent_weight=0.5, temperature=0.3, prior_weight=1.0))
    assert isinstance(both, WithPrior) and isinstance(both.inner, WithNTXent)
    assert (both.inner.weight, both.inner.temperature) == (0.5, 0.3)
    assert both.projection_dim == PROJECTION_DIM and both.needs_inference_head


def test_the_weight_reaches_nac_from_an_override_and_other_objectives_keep_none():
    assert make_run_config(1, 28).objective.ntxent_weight == RECIPES["categories"].get("ntxent_weight", 0.0)
    assert make_run_config(1, 28, ntxent_weight=0.25).objective.ntxent_weight == 0.25
    assert make_run_config(1, 28, objective="simclr").objective.ntxent_weight == 0.0


def test_training_moves_the_projection_and_it_never_touches_a_code(data, tmp_path, monkeypatch):  # noqa: F811
    run = tiny_run(6)
    run = dataclasses.replace(run, objective=dataclasses.replace(run.objective, ntxent_weight=1.0))
    start = []

    def optimizer(model, cfg):                                   # the head as training starts, and optimised
        start.append(model.projection.net[0].weight.detach().clone())
        return build_optimizer(model, cfg)

    monkeypatch.setattr(T, "build_optimizer", optimizer)
    train(run, data, tmp_path, device="cpu", progress=False)
    model, meta = load_model(tmp_path)                           # strict: the projection head is in the checkpoint
    assert meta["projection"] == PROJECTION_DIM
    assert not torch.allclose(model.projection.net[0].weight, start[0])
    codes = encode_images(model, data.images[:20])
    model.projection = None                                      # codes without the head are the same codes
    np.testing.assert_array_equal(encode_images(model, data.images[:20]), codes)


@pytest.mark.parametrize("bad", [-1, 10**9, "64", 1.5])
def test_a_checkpoint_asking_for_a_bad_projection_is_refused(data, tmp_path, bad):  # noqa: F811
    train(tiny_run(1), data, tmp_path, device="cpu", progress=False)
    meta = read_json(tmp_path / "config.json")
    write_json(tmp_path / "config.json", {**meta, "projection": bad})
    with pytest.raises(CheckpointError, match="projection"):
        load_model(tmp_path)
