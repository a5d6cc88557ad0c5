"""NAC and SimCLR losses against naive reference implementations."""
import itertools
import math

import numpy as np
import pytest
import torch

from nacsearch.models import EncoderOutput
from nacsearch.objectives import NACLoss, SimCLRLoss
from nacsearch.objectives.nac import bsc_mask, positive_term


@pytest.mark.parametrize("p", [0.05, 0.1, 0.4])
def test_kappa_is_the_bsc_log_likelihood_slope(p):
    """log p(c_hat | c) = d/2 log(p(1-p)) + kappa <c_hat, c> for every pair of +-1 codes (d = 4)."""
    kappa = NACLoss(p).kappa
    d = 4
    for c in itertools.product([-1, 1], repeat=d):
        for ch in itertools.product([-1, 1], repeat=d):
            flips = sum(a != b for a, b in zip(c, ch))
            naive = flips * math.log(p) + (d - flips) * math.log(1 - p)
            closed = d / 2 * math.log(p * (1 - p)) + kappa * float(np.dot(c, ch))
            assert closed == pytest.approx(naive, abs=1e-12)


def test_positive_term_is_bernoulli_log_likelihood_plus_d_log2():
    torch.manual_seed(0)
    d = 16
    logits = torch.randn(5, d, dtype=torch.float64) * 3
    c_hat = torch.where(torch.rand(5, d) < 0.5, -1.0, 1.0).double()
    q = torch.sigmoid(logits)
    bits = (c_hat + 1) / 2
    naive = (bits * torch.log(q) + (1 - bits) * torch.log(1 - q)).sum(1) + d * math.log(2)
    torch.testing.assert_close(positive_term(c_hat, logits), naive)


def naive_nac(u1, u2, l1, l2, m, p, pair_negative=True, bank=()):
    """Row-by-row loops of the reference loss (without the other view among the negatives if not ``pair_negative``;
    with the codes in ``bank`` as further negatives, each weighing n / len(bank) of a batch code)."""
    kappa = 0.5 * math.log((1 - p) / p)
    c = torch.tanh(torch.cat([u1, u2]))
    ch = m * c
    other = torch.cat([l2, l1])
    total = 0.0
    n, d = c.shape
    for i in range(n):
        negs = [kappa * float(sum(ch[i, k] * c[j, k] for k in range(d))) for j in range(n)
                if pair_negative or j != (i + n // 2) % n]
        negs += [kappa * float(sum(ch[i, k] * b[k] for k in range(d))) + math.log(n / len(bank)) for b in bank]
        lse = max(negs) + math.log(sum(math.exp(x - max(negs)) for x in negs))
        pos = 0.0
        for k in range(d):
            q = 1 / (1 + math.exp(-float(other[i, k])))
            pos += 0.5 * (float(ch[i, k] * other[i, k]) + math.log(q * (1 - q)) - math.log(0.25))
        total += -pos + lse
    return total / n


def test_nac_loss_matches_naive_loops():
    torch.manual_seed(1)
    b, d, p = 3, 8, 0.3
    u1, u2, l1, l2 = (torch.randn(b, d, dtype=torch.float64) for _ in range(4))
    g = torch.Generator().manual_seed(7)
    m = bsc_mask((2 * b, d), p, torch.device("cpu"), torch.Generator().manual_seed(7))
    got = NACLoss(p)(EncoderOutput(None, u1, l1), EncoderOutput(None, u2, l2), generator=g)["loss"]
    assert float(got) == pytest.approx(naive_nac(u1, u2, l1, l2, m.double(), p), rel=1e-6)


def test_nac_loss_without_the_pair_negative_matches_naive_loops():
    torch.manual_seed(2)
    b, d, p = 3, 8, 0.1
    u1, u2, l1, l2 = (torch.randn(b, d, dtype=torch.float64) for _ in range(4))
    m = bsc_mask((2 * b, d), p, torch.device("cpu"), torch.Generator().manual_seed(5))
    outs = EncoderOutput(None, u1, l1), EncoderOutput(None, u2, l2)
    got = NACLoss(p, pair_negative=False)(*outs, generator=torch.Generator().manual_seed(5))["loss"]
    ref = NACLoss(p)(*outs, generator=torch.Generator().manual_seed(5))["loss"]
    assert float(got) == pytest.approx(naive_nac(u1, u2, l1, l2, m.double(), p, pair_negative=False), rel=1e-6)
    assert float(got) < float(ref)  # one positive term fewer in every logsumexp


def test_nac_pair_negative_is_dropped_at_this_ranks_offset_when_gathered():
    """With codes gathered from 2 processes (this one rank 1), the column left out is this rank's other view."""
    torch.manual_seed(3)
    b, d, p = 2, 6, 0.1
    u1, u2, l1, l2 = (torch.randn(b, d) for _ in range(4))        # float32, as the loss computes
    far = torch.randn(2 * b, d)                                   # rank 0's codes

    class Gather:
        rank = 1

        def __call__(self, x):
            return torch.cat([far, x])

    outs = EncoderOutput(None, u1, l1), EncoderOutput(None, u2, l2)
    got = NACLoss(p, pair_negative=False)(*outs, generator=torch.Generator().manual_seed(4), gather=Gather())["loss"]
    loss = NACLoss(p)
    c = torch.tanh(torch.cat([u1, u2]))
    c_hat = bsc_mask(tuple(c.shape), p, c.device, torch.Generator().manual_seed(4)) * c
    logits = loss.kappa * c_hat @ torch.cat([far, c]).T           # (4, 8)
    keep = torch.ones_like(logits, dtype=torch.bool)
    keep[[0, 1, 2, 3], [2 * b + 2, 2 * b + 3, 2 * b + 0, 2 * b + 1]] = False
    lse = torch.stack([torch.logsumexp(logits[i][keep[i]], 0) for i in range(2 * b)])
    expect = (-positive_term(c_hat, torch.cat([l2, l1])) + lse).mean()
    assert float(got) == pytest.approx(float(expect), rel=1e-5)


def test_bsc_mask_flip_rate():
    m = bsc_mask((200, 500), 0.1, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert set(m.unique().tolist()) == {-1.0, 1.0}
    assert abs((m < 0).float().mean().item() - 0.1) < 0.005


def naive_simclr(u1, u2, t):
    z = torch.nn.functional.normalize(torch.cat([u1, u2]), dim=1)
    n = len(z)
    total = 0.0
    for i in range(n):
        j = (i + n // 2) % n
        denom = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(n) if k != i)
        total += -(float(z[i] @ z[j]) / t - math.log(denom))
    return total / n


def test_simclr_loss_matches_naive_loops():
    torch.manual_seed(2)
    u1, u2 = torch.randn(4, 8, dtype=torch.float64), torch.randn(4, 8, dtype=torch.float64)
    got = SimCLRLoss(0.5)(EncoderOutput(None, u1, None), EncoderOutput(None, u2, None))["loss"]
    assert float(got) == pytest.approx(naive_simclr(u1, u2, 0.5), rel=1e-6)


def test_nac_rejects_bad_p_and_missing_head():
    for p in (0.0, 0.5, 0.7):
        with pytest.raises(ValueError):
            NACLoss(p)
    with pytest.raises(ValueError):
        NACLoss(0.4)(EncoderOutput(None, torch.zeros(2, 8), None), EncoderOutput(None, torch.zeros(2, 8), None))


def naive_pairwise(u1, u2, labels, index, quant):
    b1, b2 = torch.tanh(u1), torch.tanh(u2)
    sums, counts = {1: 0.0, -1: 0.0}, {1: 0, -1: 0}
    for a in range(len(index)):
        for c in range(len(index)):
            s = 1 if a == c else int(labels[index[a], index[c]])
            if s == 0:
                continue
            theta = 0.5 * float(sum(b1[a, k] * b2[c, k] for k in range(b1.shape[1])))
            sums[s] += math.log(1 + math.exp(theta)) - (theta if s == 1 else 0.0)
            counts[s] += 1
    loss = sum(sums[s] / counts[s] for s in (1, -1) if counts[s])
    q = float(((b1.abs() - 1) ** 2).mean() + ((b2.abs() - 1) ** 2).mean())
    return loss + quant * q


@pytest.mark.parametrize("with_dissimilar", [True, False])
def test_pairwise_likelihood_matches_naive_loops_with_balanced_means(with_dissimilar):
    from nacsearch.objectives.pairwise import PairwiseLikelihoodLoss

    torch.manual_seed(3)
    labels = torch.tensor([[1, 1, 0, -1, 0], [1, 1, -1, 0, 0], [0, -1, 1, 0, 1],
                           [-1, 0, 0, 1, 0], [0, 0, 1, 0, 1]], dtype=torch.int8)
    if not with_dissimilar:
        labels = labels.clamp(min=0)
    index = torch.tensor([0, 1, 2, 3])
    u1, u2 = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    got = PairwiseLikelihoodLoss(labels, quantization=0.1)(
        EncoderOutput(None, u1, None), EncoderOutput(None, u2, None), index=index)["loss"]
    assert float(got) == pytest.approx(naive_pairwise(u1, u2, labels, index.tolist(), 0.1), rel=1e-5)


def test_the_copies_recipe_leaves_the_pair_negative_out_and_categories_keeps_it():
    from nacsearch.objectives import build_objective
    from nacsearch.recipes import make_run_config

    assert build_objective(make_run_config(1, 28, recipe="copies").objective).inner.pair_negative is False
    assert build_objective(make_run_config(1, 28).objective).pair_negative is True          # the reference
    assert make_run_config(1, 28, recipe="copies", pair_negative=True).objective.pair_negative is True


def test_the_copies_recipe_weighs_the_prior_4_and_categories_leaves_it_off():
    from nacsearch.objectives import build_objective
    from nacsearch.recipes import make_run_config

    assert build_objective(make_run_config(1, 28, recipe="copies").objective).weight == 4.0
    assert make_run_config(1, 28).objective.prior_weight == 0.0
    assert make_run_config(1, 28, recipe="copies", prior_weight=1.0).objective.prior_weight == 1.0
