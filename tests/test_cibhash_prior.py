"""CIBHash-style loss and the DIM-DM-style prior regulariser against naive references."""
import math

import pytest
import torch

from nacsearch.config import ObjectiveConfig
from nacsearch.models import EncoderOutput
from nacsearch.objectives import CIBHashLoss, NACLoss, WithPrior, build_objective
from nacsearch.objectives.cibhash import bernoulli_kl, stochastic_code
from nacsearch.objectives.prior import prior_penalty


def naive_cibhash(u1, u2, e1, e2, t, beta):
    """Loops over rows and bits: codes from the same uniforms, NT-Xent on cosine, symmetric KL."""
    q1, q2 = torch.sigmoid(u1), torch.sigmoid(u2)
    b = [[1.0 if float(q[i, k]) - float(e[i, k]) >= 0 else -1.0 for k in range(q.shape[1])]
         for q, e in ((q1, e1), (q2, e2)) for i in range(q.shape[0])]
    n, d = len(b), len(b[0])
    cos = [[sum(b[i][k] * b[j][k] for k in range(d)) / d for j in range(n)] for i in range(n)]  # |b| = sqrt(d)
    contrast = 0.0
    for i in range(n):
        pos = (i + n // 2) % n
        denom = sum(math.exp(cos[i][j] / t) for j in range(n) if j != i)
        contrast += -(cos[i][pos] / t - math.log(denom))
    contrast /= n

    def kl(p, r):
        return sum(float(p[k]) * math.log(float(p[k]) / float(r[k]))
                   + (1 - float(p[k])) * math.log((1 - float(p[k])) / (1 - float(r[k]))) for k in range(len(p)))

    klsum = sum(0.5 * (kl(q1[i], q2[i]) + kl(q2[i], q1[i])) for i in range(q1.shape[0])) / q1.shape[0]
    return contrast + beta * klsum


def test_cibhash_loss_matches_naive_loops():
    torch.manual_seed(0)
    b, d = 3, 8
    u1, u2 = torch.randn(b, d, dtype=torch.float64), torch.randn(b, d, dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    ref = torch.Generator().manual_seed(5)
    e1, e2 = torch.rand((b, d), generator=ref), torch.rand((b, d), generator=ref)  # the loss's draws, in order
    got = CIBHashLoss(0.3, 0.5)(EncoderOutput(None, u1, None), EncoderOutput(None, u2, None), generator=g)["loss"]
    assert float(got) == pytest.approx(naive_cibhash(u1, u2, e1.double(), e2.double(), 0.3, 0.5), rel=1e-5)


def test_stochastic_code_rate_and_straight_through_gradient():
    q = torch.full((400, 50), 0.3, dtype=torch.float64, requires_grad=True)
    b = stochastic_code(q, torch.Generator().manual_seed(0))
    assert set(b.unique().tolist()) == {-1.0, 1.0}
    assert abs((b > 0).double().mean().item() - 0.3) < 0.01
    w = torch.randn(400, 50, dtype=torch.float64)
    (b * w).sum().backward()
    torch.testing.assert_close(q.grad, w)  # d b / d q is the identity


def test_bernoulli_kl_hand_values_and_stop_gradient():
    q = torch.tensor([[0.5, 0.9]], dtype=torch.float64, requires_grad=True)
    r = torch.tensor([[0.5, 0.5]], dtype=torch.float64, requires_grad=True)
    kl = bernoulli_kl(q, r)
    assert float(kl.detach()) == pytest.approx(0.9 * math.log(1.8) + 0.1 * math.log(0.2), rel=1e-6)
    kl.sum().backward()
    assert r.grad is None and q.grad is not None


def test_prior_penalty_hand_computed():
    c = torch.tensor([[1.0, 1.0, -1.0], [1.0, -1.0, 1.0]])
    balance, decor = prior_penalty(c)
    # bit means (1, 0, 0) -> balance 1/3; second moments: c01 = 0, c02 = 0, c12 = -1 -> (0+0+1+0+0+1)/6
    assert float(balance) == pytest.approx(1 / 3)
    assert float(decor) == pytest.approx(1 / 3)
    codes = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])  # the prior's support, exactly
    assert [float(v) for v in prior_penalty(codes)] == [0.0, 0.0]


def test_normalised_prior_is_scale_free_and_the_plain_one_is_not():
    c = torch.tensor([[0.5, 0.4, -0.3], [0.5, -0.2, 0.6], [-0.5, 0.2, 0.1]])
    plain, small = prior_penalty(c), prior_penalty(0.1 * c)
    assert float(small[0]) == pytest.approx(0.01 * float(plain[0]))  # shrinking the codes lowers it 100x
    norm, norm_small = prior_penalty(c, normalise=True), prior_penalty(0.1 * c, normalise=True)
    assert [float(v) for v in norm_small] == pytest.approx([float(v) for v in norm], rel=1e-4)
    # by hand: bit 0 is (1, 1, -1) after scaling -> mean 1/3; bit 1 / rms(0.4, 0.2, 0.2) etc.
    s = c / c.pow(2).mean(dim=0).sqrt()
    assert float(norm[0]) == pytest.approx(float(s.mean(dim=0).pow(2).mean()), rel=1e-5)
    assert float(norm[0]) > 0.1 * 1 / 9                               # bit 0 alone contributes (1/3)^2 / 3
    codes = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    assert [float(v) for v in prior_penalty(0.3 * codes, normalise=True)] == pytest.approx([0.0, 0.0], abs=1e-6)


def test_with_prior_adds_the_weighted_penalty_and_keeps_the_head():
    torch.manual_seed(1)
    u1, u2, l1, l2 = (torch.randn(4, 8, dtype=torch.float64) for _ in range(4))
    o1, o2 = EncoderOutput(None, u1, l1), EncoderOutput(None, u2, l2)
    plain = NACLoss(0.1)(o1, o2, generator=torch.Generator().manual_seed(3))["loss"]
    wrapped = WithPrior(NACLoss(0.1), 2.0)
    assert wrapped.needs_inference_head
    got = wrapped(o1, o2, generator=torch.Generator().manual_seed(3))["loss"]
    bal, dec = prior_penalty(torch.tanh(torch.cat([u1, u2])))
    assert float(got) == pytest.approx(float(plain + 2.0 * (bal + dec)), rel=1e-6)  # the loss computes in float32


def test_build_objective_names_and_validation():
    assert isinstance(build_objective(ObjectiveConfig(name="cibhash")), CIBHashLoss)
    assert isinstance(build_objective(ObjectiveConfig(name="nac", prior_weight=0.1)), WithPrior)
    assert isinstance(build_objective(ObjectiveConfig(name="nac")), NACLoss)
    for bad in ({"cib_beta": -1.0}, {"prior_weight": -0.1}, {"cib_temperature": 0.0}):
        with pytest.raises(ValueError):
            ObjectiveConfig(**bad)


def test_cibhash_recipe_starts_heads_at_gain_one_unless_told():
    from nacsearch.recipes import make_run_config

    assert make_run_config(1, 28, objective="cibhash").model.head_gain == 1.0
    assert make_run_config(1, 28, objective="cibhash", head_gain=4.0).model.head_gain == 4.0
    assert make_run_config(1, 28, objective="nac").model.head_gain == 16.0
