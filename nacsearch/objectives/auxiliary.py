"""An auxiliary NT-Xent term on a projection of the backbone features, beside any objective.

NAC's critic is sharp: with kappa = 1/2 log((1 - p) / p) and a d-bit head, a saturated code's logit against itself is
about kappa d (1 - 2p) (131 at d = 128, p = 0.08), against another image's code kappa times their inner product.  The
log-sum-exp over negatives is then dominated by the few codes within a handful of bits, so nearly all of the gradient
goes to near-duplicates of each view and little to the many moderately similar images.  SimCLR's NT-Xent
(Chen et al., ICML 2020) on L2-normalised vectors at temperature T = 0.2 has logits within +-5, a soft critic that
spreads its gradient over all negatives.  Training both shapes the shared backbone with both critics:

    loss = inner(out1, out2) + weight * NT-Xent(z1, z2; T),    z = g(h) for a projection head g (the encoder's
                                                                ``projection``, an MLP of SimCLR's shape)

The projection head is a training-time part like NAC's inference head: it never touches a code.  Its width is
:data:`PROJECTION_DIM`.
"""
from __future__ import annotations

from nacsearch.objectives.base import Objective
from nacsearch.objectives.simclr import nt_xent

PROJECTION_DIM = 64  # outputs of the projection head g (the SimCLR baseline's code length at 64 bits)


class WithNTXent(Objective):
    """``inner``'s loss plus ``weight`` x NT-Xent (temperature ``temperature``) of the two views' projections ``z``."""

    projection_dim = PROJECTION_DIM

    def __init__(self, inner: Objective, weight: float, temperature: float) -> None:
        super().__init__()
        if weight <= 0 or temperature <= 0:
            raise ValueError(f"the NT-Xent term needs a weight and temperature > 0, got {weight}, {temperature}")
        self.inner, self.weight, self.temperature = inner, weight, temperature
        self.needs_inference_head = inner.needs_inference_head

    def forward(self, out1, out2, **kw) -> dict:
        if out1.z is None or out2.z is None:
            raise ValueError("the NT-Xent term needs the encoder's projection head "
                             "(HashEncoder(..., projection=PROJECTION_DIM))")
        res = dict(self.inner(out1, out2, **kw))
        aux = nt_xent(out1.z, out2.z, self.temperature, kw.get("gather"))
        res["loss"] = res["loss"] + self.weight * aux
        res["ntxent"] = aux.detach()
        return res
