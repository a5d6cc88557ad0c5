"""NAC's code bank: first-in first-out storage, the loss with banked negatives, config rules, and resume."""
import dataclasses
import json
import math

import pytest
import torch

from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig
from nacsearch.models import EncoderOutput
from nacsearch.objectives import NACLoss, build_objective
from nacsearch.objectives.bank import CodeBank
from nacsearch.objectives.nac import bsc_mask
from tests.test_objectives import naive_nac


def test_bank_keeps_the_last_codes_and_counts_every_push():
    bank = CodeBank(4, 2)
    assert bank.stored().shape == (0, 2)
    rows = torch.arange(14, dtype=torch.float32).reshape(7, 2)          # codes 0..6, code k = (2k, 2k + 1)
    bank.push(rows[:3])
    assert sorted(bank.stored()[:, 0].tolist()) == [0, 2, 4]
    bank.push(rows[3:6])                                                  # 6 pushed into 4 slots: 2..5 remain
    assert int(bank.count) == 6 and sorted(bank.stored()[:, 0].tolist()) == [4, 6, 8, 10]
    bank.push(torch.cat([rows, rows]))                                    # more than it holds: the last 4 of them
    assert int(bank.count) == 20 and sorted(bank.stored()[:, 0].tolist()) == [6, 8, 10, 12]
    with pytest.raises(ValueError, match="codes"):
        bank.push(torch.zeros(3, 5))
    with pytest.raises(ValueError):
        CodeBank(0, 8)


@pytest.mark.parametrize("pair_negative", [True, False])
def test_nac_loss_with_a_bank_matches_naive_loops_and_then_banks_this_steps_codes(pair_negative):
    torch.manual_seed(4)
    b, d, p = 3, 8, 0.1
    loss = NACLoss(p, pair_negative, bank=8, bits=d)
    old = torch.tanh(torch.randn(5, d))
    loss.bank.push(old)
    u1, u2, l1, l2 = (torch.randn(b, d, dtype=torch.float64) for _ in range(4))
    m = bsc_mask((2 * b, d), p, torch.device("cpu"), torch.Generator().manual_seed(9))
    outs = EncoderOutput(None, u1, l1), EncoderOutput(None, u2, l2)
    got = loss(*outs, generator=torch.Generator().manual_seed(9))["loss"]
    expect = naive_nac(u1, u2, l1, l2, m.double(), p, pair_negative, bank=old.double())
    assert float(got) == pytest.approx(expect, rel=1e-5)
    without = NACLoss(p, pair_negative)(*outs, generator=torch.Generator().manual_seed(9))["loss"]
    assert float(got) > float(without)                                    # more negatives in every logsumexp
    if pair_negative:  # the batch's own codes banked weigh as much as the batch: every denominator doubles
        same = NACLoss(p, pair_negative, bank=8, bits=d)
        same.bank.push(torch.tanh(torch.cat([u1, u2]).float()))
        twice = same(*outs, generator=torch.Generator().manual_seed(9))["loss"]
        assert float(twice) == pytest.approx(float(without) + math.log(2), rel=1e-5)
    c = torch.tanh(torch.cat([u1, u2]).float())                           # this step's codes replaced the oldest
    assert int(loss.bank.count) == 5 + 2 * b
    stored = loss.bank.stored()
    for row in c:
        assert any(torch.allclose(row, s) for s in stored)
    assert [any(torch.equal(o, s) for s in stored) for o in old] == [False, False, False, True, True]  # 8 slots


def test_bank_is_a_nac_option_and_needs_its_length():
    with pytest.raises(ValueError, match="NAC"):
        ObjectiveConfig(name="simclr", bank=64)
    with pytest.raises(ValueError, match="bank"):
        ObjectiveConfig(bank=-1)
    with pytest.raises(ValueError, match="LoCo"):
        RunConfig(model=ModelConfig(loco=True), objective=ObjectiveConfig(bank=64))
    with pytest.raises(ValueError, match="bits"):
        NACLoss(0.1, bank=8)
    obj = build_objective(ObjectiveConfig(bank=32, prior_weight=1.0), bits=16)
    assert obj.inner.bank.codes.shape == (32, 16)
    assert "inner.bank.codes" in obj.state_dict()


def test_a_recipes_bank_reaches_nac_only():
    from nacsearch.named_recipes import RECIPES
    from nacsearch.recipes import make_run_config

    RECIPES["test-bank"] = {"bank": 64}
    try:
        assert make_run_config(1, 28, recipe="test-bank").objective.bank == 64
        assert make_run_config(1, 28, recipe="test-bank", objective="simclr").objective.bank == 0
        assert make_run_config(1, 28, recipe="test-bank", bank=8).objective.bank == 8
        with pytest.raises(ValueError, match="NAC"):
            make_run_config(1, 28, objective="simclr", bank=8)
    finally:
        del RECIPES["test-bank"]


def bank_counts_in_a_run(tmp_path, monkeypatch, attr: str, **objective) -> tuple[list[int], dict]:
    """Train a tiny budgeted NAC run with ``objective`` settings; returns the count of the objective's
    ``attr`` bank at every loss call (calibration's included) and the run's config.json."""
    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.samples import synthetic_images
    from nacsearch.train import train
    from tests.test_train import tiny_run

    seen, real = [], NACLoss.forward

    def forward(self, *a, **kw):
        seen.append(int(getattr(self, attr).count))
        return real(self, *a, **kw)

    monkeypatch.setattr(NACLoss, "forward", forward)
    run = tiny_run(5)
    run = dataclasses.replace(run, objective=dataclasses.replace(run.objective, **objective))
    assert run.train.minutes > 0                                          # the run is calibrated first
    images, _ = synthetic_images(64, size=16, seed=0)
    train(run, ArrayImages(images), tmp_path, device="cpu", progress=False)
    return seen, json.loads((tmp_path / "config.json").read_text())


def test_calibration_leaves_the_bank_as_it_found_it(tmp_path, monkeypatch):
    """Budget calibration runs real steps and undoes them; the bank is undone too, so the run's first
    step starts with an empty bank."""
    seen, meta = bank_counts_in_a_run(tmp_path, monkeypatch, "bank", bank=100)
    assert len(seen) > 5 and seen[-5:] == [0, 64, 128, 192, 256]       # 2 views x 32 images a step
    assert meta["config"]["objective"]["bank"] == 100
