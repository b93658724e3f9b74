"""Focal Wing (PropagationNet Eq. 2-5) and the Adaptive Wing constants it builds on (Eq. 1), hand-worked."""

from __future__ import annotations

import math

import pytest
import torch

from facealign.losses import (
    PAPER_BETA,
    FocalWingLoss,
    adaptive_wing_loss,
    focal_factor,
    focal_sample_weights,
    focal_wing_loss,
    propagation_loss,
)

# Sec. 4.3 constants: alpha 2.1, omega 14, epsilon 1, theta 0.5. For a background target y = 0 the
# exponent is alpha - y = 2.1 and theta / epsilon = 0.5:
#   0.5^2.1 = 0.233258, 0.5^1.1 = 0.466516
#   A     = 14 * 2.1 * 0.466516 / (1 + 0.233258) / 1 = 13.715585 / 1.233258 = 11.121422
#   Omega = 0.5 * A - 14 * ln(1.233258) = 5.560711 - 2.935235 = 2.625476
A_Y0, OMEGA_Y0 = 11.121422, 2.625476
# For a peak target y = 1 the exponent is 1.1: 0.5^1.1 = 0.466516, 0.5^0.1 = 0.933033
#   A     = 14 * 1.1 * 0.933033 / 1.466516 = 14.368708 / 1.466516 = 9.797850
#   Omega = 0.5 * 9.797850 - 14 * ln(1.466516) = 4.898925 - 5.360458 = -0.461533
A_Y1, OMEGA_Y1 = 9.797850, -0.461533


def _awing(pred: float, target: float) -> torch.Tensor:
    p = torch.tensor([[[[pred]]]], dtype=torch.float64)
    t = torch.tensor([[[[target]]]], dtype=torch.float64)
    return adaptive_wing_loss(p, t, use_weight_map=False)


def test_adaptive_wing_has_eq1_constants() -> None:
    # |y - y_hat| = 1 >= theta: A * 1 - Omega = 11.121422 - 2.625476 = 8.495946
    assert _awing(1.0, 0.0).item() == pytest.approx(A_Y0 - OMEGA_Y0, abs=1e-5)
    # |y - y_hat| = 0.25 < theta: 14 * ln(1 + 0.25^2.1) = 14 * ln(1.054409) = 0.741731
    assert _awing(0.25, 0.0).item() == pytest.approx(0.741731, abs=1e-6)
    # peak target, prediction 0: A * 1 - Omega = 9.797850 + 0.461533 = 10.259383
    assert _awing(0.0, 1.0).item() == pytest.approx(A_Y1 - OMEGA_Y1, abs=1e-5)
    # and 14 * ln(1 + 0.25^1.1) = 14 * ln(1.217346) = 2.756777 in the log branch
    assert _awing(0.75, 1.0).item() == pytest.approx(2.756777, abs=1e-6)


@pytest.mark.parametrize(("target", "a"), [(0.0, A_Y0), (1.0, A_Y1)])
def test_adaptive_wing_is_c1_at_theta(target: float, a: float) -> None:
    # both branches meet at |y - y_hat| = theta = 0.5 with slope A: the log branch's slope there is
    # omega (alpha - y) theta^(alpha - y - 1) / (1 + theta^(alpha - y)), which is A's definition.
    below = _awing(target + 0.5 - 1e-9, target).item()
    above = _awing(target + 0.5 + 1e-9, target).item()
    assert below == pytest.approx(above, abs=1e-6)
    for pred in (target + 0.5 - 1e-6, target + 0.5 + 1e-6):
        x = torch.tensor([[[[pred]]]], dtype=torch.float64, requires_grad=True)
        adaptive_wing_loss(x, torch.full_like(x, target), use_weight_map=False).backward()
        assert x.grad.item() == pytest.approx(a, rel=1e-4)


def test_focal_factor_hand_worked() -> None:
    # N = 4 samples, C = 2 attributes (-1 = unknown, counted as 0): counts N_c = (2, 1)
    flags = torch.tensor([[1, 0], [0, 0], [1, 1], [0, -1]])
    # per sample: N / N_c = 4 / 2 = 2 and 4 / 1 = 4 where the sample has the attribute, else 1
    assert focal_factor(flags).tolist() == [[2.0, 1.0], [1.0, 1.0], [2.0, 4.0], [1.0, 1.0]]
    # as printed (no n on the right of Eq. 2): every sample gets (2, 4)
    assert focal_factor(flags, per_sample=False).tolist() == [[2.0, 4.0]] * 4
    # sample weights: mean over classes -> (2+1)/2, (1+1)/2, (2+4)/2, (1+1)/2
    assert focal_sample_weights(flags, batch_size=4).tolist() == [1.5, 1.0, 3.0, 1.0]
    assert focal_sample_weights(flags, batch_size=4, per_sample=False).tolist() == [3.0] * 4


def test_focal_factor_is_one_without_attributes() -> None:
    # an attribute nobody in the batch has: the first case of Eq. 2, factor 1
    assert focal_factor(torch.zeros(3, 6)).tolist() == [[1.0] * 6] * 3
    assert focal_factor(-torch.ones(3, 6), per_sample=False).tolist() == [[1.0] * 6] * 3
    assert focal_sample_weights(None, batch_size=3).tolist() == [1.0, 1.0, 1.0]
    assert focal_sample_weights(torch.zeros(3, 0), batch_size=3).tolist() == [1.0, 1.0, 1.0]
    # every sample has it: N / N = 1 too
    assert focal_factor(torch.ones(2, 1)).tolist() == [[1.0], [1.0]]


def test_focal_wing_reduces_to_awing_without_attributes() -> None:
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 3, 5, 5, generator=g), torch.rand(2, 3, 5, 5, generator=g)
    w = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    expected = adaptive_wing_loss(pred, target, w)
    assert focal_wing_loss(pred, target, w).item() == pytest.approx(expected.item(), rel=1e-6)
    unknown = torch.full((2, 6), -1)
    assert focal_wing_loss(pred, target, w, attributes=unknown).item() == pytest.approx(expected.item(), rel=1e-6)


def test_focal_wing_hand_worked() -> None:
    # sample 0: y_hat 1 on y 0 -> 8.495946 (A - Omega); sample 1: y_hat 0.25 on y 0 -> 0.741731.
    pred = torch.tensor([1.0, 0.25], dtype=torch.float64).reshape(2, 1, 1, 1)
    target = torch.zeros_like(pred)
    # one attribute, sample 0 has it: N_c = 1, sigma = (2 / 1, 1) -> weights (2, 1)
    attrs = torch.tensor([[1], [0]])
    loss = focal_wing_loss(pred, target, attributes=attrs, use_weight_map=False)
    # mean over the 2 elements: (2 * 8.495946 + 1 * 0.741731) / 2 = 17.733623 / 2 = 8.866812
    assert loss.item() == pytest.approx(8.866812, abs=1e-5)
    per_elem = focal_wing_loss(pred, target, attributes=attrs, use_weight_map=False, reduction="none")
    assert per_elem.flatten().tolist() == pytest.approx([16.991892, 0.741731], abs=1e-5)
    # as printed: both samples weigh 2 -> (2 * 8.495946 + 2 * 0.741731) / 2 = 9.237677
    printed = FocalWingLoss(per_sample=False, use_weight_map=False)(pred, target, attributes=attrs)
    assert printed.item() == pytest.approx(9.237677, abs=1e-5)


def test_propagation_loss_hand_worked() -> None:
    # N = 1, S = 2 stacks, K = 1, M = 1, 1 x 1 maps, no weight map. Landmark preds 1 and 0.25 on y = 0:
    # L_lm = 8.495946 + 0.741731 = 9.237677 (summed over stacks). Boundary preds 0 and 0.75 on y = 1:
    # L_bd = 10.259383 + 2.756777 = 13.016160. Eq. 5: 9.237677 + 0.5 * 13.016160 = 15.745757
    heat = torch.tensor([1.0, 0.25], dtype=torch.float64).reshape(1, 2, 1, 1, 1)
    bound = torch.tensor([0.0, 0.75], dtype=torch.float64).reshape(1, 2, 1, 1, 1)
    total, parts = propagation_loss(
        heat, bound, torch.zeros(1, 1, 1, 1, dtype=torch.float64), torch.ones(1, 1, 1, 1, dtype=torch.float64),
        use_weight_map=False,
    )
    assert PAPER_BETA == 0.5
    assert parts["landmark"].item() == pytest.approx(9.237677, abs=1e-5)
    assert parts["boundary"].item() == pytest.approx(13.016160, abs=1e-5)
    assert total.item() == pytest.approx(15.745757, abs=1e-5)
    # no propagation module: M = 0 boundary channels -> L_bd = 0
    total, parts = propagation_loss(
        heat, heat[:, :, :0], torch.zeros(1, 1, 1, 1, dtype=torch.float64), torch.zeros(1, 0, 1, 1, dtype=torch.float64),
        use_weight_map=False,
    )
    assert parts["boundary"].item() == 0.0 and total.item() == pytest.approx(9.237677, abs=1e-5)


def test_focal_wing_gradcheck() -> None:
    g = torch.Generator().manual_seed(1)
    target = torch.rand(2, 2, 3, 3, generator=g, dtype=torch.float64)
    target[0, 0, 1, 1] = 1.0  # a peak, so the weight map is not all ones
    pred = (target + 0.8 * (torch.rand(2, 2, 3, 3, generator=g, dtype=torch.float64) - 0.5)).requires_grad_()
    attrs = torch.tensor([[1, 0, 1], [0, 0, 1]])
    w = torch.tensor([[1.0, 0.5], [1.0, 1.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: focal_wing_loss(p, target, w, attributes=attrs), (pred,))


def test_errors() -> None:
    x = torch.zeros(2, 1, 2, 2)
    with pytest.raises(ValueError, match=r"attributes must have shape \(N, C\)"):
        focal_factor(torch.zeros(4))
    with pytest.raises(TypeError, match="attributes must be a torch.Tensor"):
        focal_wing_loss(x, x, attributes=[[1], [0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"one row per sample \(2\)"):
        focal_wing_loss(x, x, attributes=torch.zeros(3, 6))
    with pytest.raises(ValueError, match="same shape"):
        focal_wing_loss(x, torch.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        FocalWingLoss(reduction="max")
    with pytest.raises(ValueError, match="theta must be positive"):
        FocalWingLoss(theta=0.0)
    with pytest.raises(ValueError, match=r"pred_boundaries must have shape \(N, S"):
        propagation_loss(x[:, None], x, x, torch.zeros(2, 3, 2, 2))
    with pytest.raises(ValueError, match="beta must be >= 0"):
        propagation_loss(x[:, None], x[:, None], x, x, beta=-1.0)
    assert math.isfinite(focal_wing_loss(x, x).item())
