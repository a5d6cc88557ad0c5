"""NAC's neighbour positive (NNCLR-style support set): the loss against naive loops, the nearest-code choice,
the support set's filling, and the config rules."""
import math

import pytest
import torch

from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig
from nacsearch.models import EncoderOutput
from nacsearch.objectives import NACLoss, build_objective
from nacsearch.objectives.nac import bsc_mask
from nacsearch.recipes import make_run_config
from tests.test_bank import bank_counts_in_a_run
from tests.test_objectives import naive_nac


def naive_positive(c_hat_row, logits_row):
    """log q(c_hat | x') + d log 2 for one row, bit by bit."""
    pos = 0.0
    for ch, lg in zip(c_hat_row.tolist(), logits_row.tolist()):
        q = 1 / (1 + math.exp(-lg))
        pos += 0.5 * (ch * lg + math.log(q * (1 - q)) - math.log(0.25))
    return pos


def naive_with_neighbours(u1, u2, l1, l2, m, p, support, w):
    """The plain naive loss, plus w x (own positive - neighbour positive) per row, averaged: the neighbour is
    the support code with the largest inner product with the row's relaxed code, found by a loop."""
    plain = naive_nac(u1, u2, l1, l2, m, p)
    c = torch.tanh(torch.cat([u1, u2]))
    other = torch.cat([l2, l1])
    shift = 0.0
    for i in range(len(c)):
        dots = [sum(float(c[i, k] * s[k]) for k in range(c.shape[1])) for s in support]
        s = support[max(range(len(support)), key=dots.__getitem__)]
        own, near = naive_positive(m[i] * c[i], other[i]), naive_positive(m[i] * s, other[i])
        shift += w * (own - near)                       # -[(1 - w) own + w near] = -own + w (own - near)
    return plain + shift / len(c)


@pytest.mark.parametrize("w", [0.5, 1.0])
def test_nac_loss_with_neighbours_matches_naive_loops(w):
    torch.manual_seed(3)
    b, d, p = 3, 8, 0.1
    loss = NACLoss(p, bits=d, neighbours=16, neighbour_weight=w)
    support = torch.tanh(2 * torch.randn(5, d))
    loss.support.push(support)
    u1, u2, l1, l2 = (torch.randn(b, d, dtype=torch.float64) for _ in range(4))
    m = bsc_mask((2 * b, d), p, torch.device("cpu"), torch.Generator().manual_seed(9))
    outs = EncoderOutput(None, u1, l1), EncoderOutput(None, u2, l2)
    got = loss(*outs, generator=torch.Generator().manual_seed(9))["loss"]
    expect = naive_with_neighbours(u1, u2, l1, l2, m.double(), p, support.double(), w)
    assert float(got) == pytest.approx(expect, rel=1e-5)
    plain = NACLoss(p)(*outs, generator=torch.Generator().manual_seed(9))["loss"]
    assert float(got) != pytest.approx(float(plain), rel=1e-4)          # the neighbour term did something
    assert int(loss.support.count) == 5 + 2 * b                           # this step's codes joined after the loss


def test_the_neighbour_is_the_nearest_stored_code_and_an_empty_support_changes_nothing():
    d, p = 4, 0.1
    u = torch.tensor([[3.0, 3.0, -3.0, -3.0]])                             # view 1's code: + + - -
    u2 = -u                                                                 # view 2's code: - - + +
    logits = torch.zeros(1, d)
    outs = EncoderOutput(None, u, logits), EncoderOutput(None, u2, logits.clone())
    empty = NACLoss(p, bits=d, neighbours=4, neighbour_weight=1.0)
    plain = NACLoss(p)
    g = lambda: torch.Generator().manual_seed(1)                            # noqa: E731
    assert float(empty(*outs, generator=g())["loss"]) == pytest.approx(float(plain(*outs, generator=g())["loss"]))
    # support: view 1's and view 2's relaxed codes; each row's neighbour is its own code, so with w = 1 the
    # positive is unchanged
    twins = NACLoss(p, bits=d, neighbours=4, neighbour_weight=1.0)
    twins.support.push(torch.tanh(torch.cat([u, u2])))
    assert float(twins(*outs, generator=g())["loss"]) == pytest.approx(float(plain(*outs, generator=g())["loss"]))
    # the inference head now predicts + + - - for both rows: a neighbour equal to view 1's code lowers row 0's loss
    # only if it is chosen for row 0 and raises row 1's
    head = torch.tensor([[5.0, 5.0, -5.0, -5.0]])
    outs = EncoderOutput(None, u, head), EncoderOutput(None, u2, head.clone())
    base = float(plain(*outs, generator=g())["loss"])
    near = NACLoss(p, bits=d, neighbours=4, neighbour_weight=1.0)
    near.support.push(torch.tanh(torch.cat([u, u2])))
    assert float(near(*outs, generator=g())["loss"]) == pytest.approx(base)
    swapped = NACLoss(p, bits=d, neighbours=4, neighbour_weight=1.0)
    swapped.support.push(torch.tanh(u))                                     # the only code: both rows' neighbour
    assert float(swapped(*outs, generator=g())["loss"]) < base              # row 1's target now agrees with the head


def test_neighbours_are_a_nac_option_with_a_valid_weight():
    with pytest.raises(ValueError, match="NAC"):
        ObjectiveConfig(name="simclr", neighbours=64)
    with pytest.raises(ValueError, match="neighbour_weight"):
        ObjectiveConfig(neighbours=64, neighbour_weight=0.0)
    with pytest.raises(ValueError, match="neighbours"):
        ObjectiveConfig(neighbours=-1)
    with pytest.raises(ValueError, match="LoCo"):
        RunConfig(model=ModelConfig(loco=True), objective=ObjectiveConfig(neighbours=64))
    with pytest.raises(ValueError, match="bits"):
        NACLoss(0.1, neighbours=8)
    obj = build_objective(ObjectiveConfig(neighbours=32, neighbour_weight=0.25), bits=16)
    assert obj.support.codes.shape == (32, 16) and obj.neighbour_weight == 0.25 and obj.bank is None
    assert "support.codes" in obj.state_dict()                              # resumed with the optimizer
    run = make_run_config(1, 28, neighbours=128, neighbour_weight=0.75)
    assert (run.objective.neighbours, run.objective.neighbour_weight) == (128, 0.75)
    assert make_run_config(1, 28).objective.neighbours == 0


def test_a_training_run_fills_the_support_set_after_calibration_and_records_it(tmp_path, monkeypatch):
    """Calibration's steps are undone, support set included; the run's steps then fill it 64 codes a step."""
    seen, meta = bank_counts_in_a_run(tmp_path, monkeypatch, "support", neighbours=100)
    assert len(seen) > 5 and seen[-5:] == [0, 64, 128, 192, 256]
    assert meta["config"]["objective"]["neighbours"] == 100
