import math

import pytest
import torch

from facealign.losses import (
    AdaptiveWingLoss,
    L1Loss,
    MSELoss,
    SoftWingLoss,
    WingLoss,
    adaptive_wing_loss,
    awing_weight_map,
    l1_loss,
    mse_loss,
    soft_wing_loss,
    wing_loss,
)

D = torch.float64


def _per_element(fn, x, target=None, **kw):
    """Element-wise loss of errors ``x`` (pred = target + x), as a float64 tensor."""
    x = torch.as_tensor(x, dtype=D)
    t = torch.zeros_like(x) if target is None else torch.as_tensor(target, dtype=D).expand_as(x)
    return fn(t + x, t, reduction="none", **kw)


def _slope(fn, x, target=None, **kw):
    """d loss / d pred at error ``x`` by autograd."""
    t = torch.zeros((), dtype=D) if target is None else torch.tensor(target, dtype=D)
    p = (t + x).clone().requires_grad_(True)
    fn(p, t, reduction="sum", **kw).backward()
    return float(p.grad)


def _awing_plain(pred, target, **kw):
    return adaptive_wing_loss(pred, target, use_weight_map=False, **kw)


# ------------------------------------------------------------------------------- hand-worked values
def test_mse_and_l1_hand_worked():
    pred = torch.tensor([[[1.0, 2.0]]])
    target = torch.zeros(1, 1, 2)
    assert float(mse_loss(pred, target)) == pytest.approx(2.5)  # (1 + 4) / 2
    assert float(mse_loss(pred, target, reduction="sum")) == pytest.approx(5.0)
    assert float(l1_loss(pred, target)) == pytest.approx(1.5)  # (1 + 2) / 2
    assert float(MSELoss()(pred, target)) == pytest.approx(2.5)
    assert float(L1Loss(reduction="sum")(pred, target)) == pytest.approx(3.0)


def test_wing_hand_worked():
    # |x| = 1 < 10: 10 ln(1 + 1/2) = 10 * 0.405465 = 4.054651
    # |x| = 12 >= 10: C = 10 - 10 ln(1 + 10/2) = 10 - 17.917595 = -7.917595; 12 - C = 19.917595
    got = _per_element(wing_loss, [1.0, -12.0])
    assert got.tolist() == pytest.approx([10 * math.log(1.5), 12 - (10 - 10 * math.log(6))], rel=1e-12)
    assert got.tolist() == pytest.approx([4.054651, 19.917595], rel=1e-6)
    module = WingLoss(omega=10, epsilon=2)
    mean = module(torch.tensor([1.0, -12.0], dtype=D), torch.zeros(2, dtype=D))
    assert float(mean) == pytest.approx((4.054651 + 19.917595) / 2, rel=1e-6)


def test_soft_wing_hand_worked():
    # |x| = 1 < 2: 1.  |x| = 4: B = 2 - 20 ln(1 + 2/0.5) = 2 - 32.188758 = -30.188758;
    # 20 ln(1 + 4/0.5) + B = 43.944492 - 30.188758 = 13.755733
    got = _per_element(soft_wing_loss, [1.0, -4.0])
    assert got.tolist() == pytest.approx([1.0, 13.755733], rel=1e-6)
    total = SoftWingLoss(reduction="sum")(torch.tensor([1.0, -4.0], dtype=D), torch.zeros(2, dtype=D))
    assert float(total) == pytest.approx(1.0 + 13.755733, rel=1e-6)


def test_adaptive_wing_hand_worked():
    # background y = 0, y_hat = 0.25: |d| = 0.25 < 0.5, power alpha - y = 2.1:
    #   14 ln(1 + 0.25^2.1) = 14 ln(1 + 0.0544094) = 14 * 0.0529808 = 0.741731
    # foreground y = 1, y_hat = 0: |d| = 1 >= 0.5, power 1.1, theta / eps = 0.5:
    #   A = 14 * 1.1 * 0.5^0.1 / (1 + 0.5^1.1) = 14 * 1.1 * 0.933033 / 1.466516 = 9.797850
    #   Omega = 0.5 * A - 14 ln(1.466516) = 4.898925 - 5.360458 = -0.461533
    #   loss = A * 1 - Omega = 10.259383
    pred = torch.tensor([0.25, 0.0], dtype=D).view(1, 2, 1, 1)
    target = torch.tensor([0.0, 1.0], dtype=D).view(1, 2, 1, 1)
    got = _awing_plain(pred, target, reduction="none").flatten()
    assert got.tolist() == pytest.approx([0.741731, 10.259383], rel=1e-6)
    # with the weight map: both 1x1 maps; only the foreground one is > 0.2 -> weights 1 and 11
    got_w = adaptive_wing_loss(pred, target, reduction="none").flatten()
    assert got_w.tolist() == pytest.approx([0.741731, 11 * 10.259383], rel=1e-6)
    module = AdaptiveWingLoss(use_weight_map=False, reduction="sum")
    assert float(module(pred, target)) == pytest.approx(0.741731 + 10.259383, rel=1e-6)


def test_awing_weight_map_hand_worked():
    target = torch.zeros(1, 1, 5, 5)
    target[0, 0, 2, 2] = 0.5  # one foreground cell -> a 3x3 block after dilation
    target[0, 0, 0, 4] = 0.2  # not > 0.2: background
    w = awing_weight_map(target)
    expected = torch.ones(5, 5)
    expected[1:4, 1:4] = 11.0  # 1 + 10
    torch.testing.assert_close(w[0, 0], expected)
    assert float(w.sum()) == 9 * 11 + 16  # = 115
    with pytest.raises(ValueError, match=r"target must have shape \(B, K, h, w\), got \(5, 5\)"):
        awing_weight_map(target[0, 0])


# --------------------------------------------------------------------------------- zero at zero
@pytest.mark.parametrize("fn", [mse_loss, l1_loss, wing_loss, soft_wing_loss, _awing_plain, adaptive_wing_loss])
def test_zero_loss_and_zero_gradient_at_zero_error(fn):
    target = torch.rand(2, 3, 8, 8, dtype=D)
    pred = target.clone().requires_grad_(True)
    loss = fn(pred, target)
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert float(pred.grad.abs().max()) == 0.0


# ------------------------------------------------------------------------ continuity at the joins
@pytest.mark.parametrize(
    "fn, boundary, kw",
    [
        (wing_loss, 10.0, {}),
        (wing_loss, 3.0, {"omega": 3.0, "epsilon": 0.5}),
        (soft_wing_loss, 2.0, {}),
        (soft_wing_loss, 1.0, {"omega1": 1.0, "omega2": 10.0, "epsilon": 1.0}),
    ],
)
def test_piecewise_losses_are_continuous_at_the_join(fn, boundary, kw):
    h = 1e-9
    left, at, right = _per_element(fn, [boundary - h, boundary, boundary + h], **kw).tolist()
    assert abs(left - right) < 1e-6 and abs(at - left) < 1e-6


@pytest.mark.parametrize("y", [0.0, 0.3, 0.7, 1.0])
def test_adaptive_wing_is_continuous_and_c1_at_theta(y):
    left, right = _per_element(_awing_plain, [0.5 - 1e-9, 0.5 + 1e-9], target=y).tolist()
    assert abs(left - right) < 1e-6  # the slope is ~10, so 2e-9 apart costs ~2e-8
    h = 1e-7
    # one-sided slopes from each branch agree: A is the log branch's derivative at theta
    s_left, s_right = _slope(_awing_plain, 0.5 - h, target=y), _slope(_awing_plain, 0.5 + h, target=y)
    assert s_left == pytest.approx(s_right, rel=1e-5)
    # and equal A: omega (alpha - y) (theta/eps)^(alpha - y - 1) / (1 + (theta/eps)^(alpha - y)) / eps
    p = 2.1 - y
    assert s_right == pytest.approx(14 * p * 0.5 ** (p - 1) / (1 + 0.5**p), rel=1e-9)


def test_wing_and_soft_wing_slopes_jump_at_the_join_as_in_the_papers():
    h = 1e-7
    # Wing: omega / (epsilon + |x|) = 10 / 12 on the left, 1 on the right
    assert _slope(wing_loss, 10 - h) == pytest.approx(10 / 12, rel=1e-6)
    assert _slope(wing_loss, 10 + h) == pytest.approx(1.0, rel=1e-9)
    # Soft Wing: 1 on the left, omega2 / (epsilon + omega1) = 20 / 2.5 = 8 on the right
    assert _slope(soft_wing_loss, 2 - h) == pytest.approx(1.0, rel=1e-9)
    assert _slope(soft_wing_loss, 2 + h) == pytest.approx(8.0, rel=1e-6)
    assert _slope(soft_wing_loss, -(2 + h)) == pytest.approx(-8.0, rel=1e-6)


# ------------------------------------------------------------------------------------- gradcheck
def _gradcheck(fn, errors, target=None, **kw):
    errors = torch.tensor(errors, dtype=D)
    t = torch.zeros_like(errors) if target is None else torch.tensor(target, dtype=D).expand_as(errors).clone()
    pred = (t + errors).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: fn(p, t, reduction="sum", **kw), (pred,), eps=1e-6, atol=1e-5)


def test_gradcheck_away_from_kinks():
    # errors on both branches and both signs, none within 0.1 of a join or of zero
    _gradcheck(wing_loss, [0.3, -2.0, 7.5, -9.5, 10.5, -25.0])
    _gradcheck(soft_wing_loss, [0.3, -1.5, 2.5, -6.0, 40.0])
    _gradcheck(mse_loss, [0.3, -2.0, 7.5])
    _gradcheck(l1_loss, [0.3, -2.0, 7.5])
    _gradcheck(_awing_plain, [0.2, -0.35, 0.45, 0.7, -0.9], target=[0.0, 0.2, 0.5, 0.9, 1.0])
    # the AWing log branch is smooth through zero error too (exponent alpha - y > 1)
    _gradcheck(_awing_plain, [0.0, 1e-3, -1e-3], target=[0.0, 0.5, 1.0])


def test_adaptive_wing_gradcheck_with_weight_map_on_heatmaps():
    torch.manual_seed(0)
    target = torch.rand(1, 2, 5, 5, dtype=D)
    pred = (target + 0.3 * torch.randn(1, 2, 5, 5, dtype=D)).requires_grad_(True)
    # keep every error clear of theta = 0.5 so gradcheck's finite differences stay on one branch
    with torch.no_grad():
        d = pred - target
        pred.copy_(torch.where((d.abs() - 0.5).abs() < 0.05, target + 0.3, pred))
    weights = torch.tensor([[1.0, 0.5]], dtype=D)
    assert torch.autograd.gradcheck(lambda p: adaptive_wing_loss(p, target, weights), (pred,), eps=1e-6, atol=1e-5)


# ----------------------------------------------------------------------- weights and reductions
@pytest.mark.parametrize("fn", [mse_loss, l1_loss, wing_loss, soft_wing_loss, adaptive_wing_loss])
def test_point_weights_and_reductions(fn):
    torch.manual_seed(1)
    pred, target = torch.rand(2, 3, 4, 4, dtype=D), torch.rand(2, 3, 4, 4, dtype=D)
    none = fn(pred, target, reduction="none")
    assert none.shape == (2, 3, 4, 4)
    assert float(fn(pred, target, reduction="sum")) == pytest.approx(float(none.sum()))
    assert float(fn(pred, target)) == pytest.approx(float(none.mean()))
    # weight 0 on point (0, 1) removes exactly its maps; weight 2 on (1, 2) doubles its maps
    w = torch.ones(2, 3, dtype=D)
    w[0, 1], w[1, 2] = 0.0, 2.0
    weighted = fn(pred, target, w, reduction="none")
    assert float(weighted[0, 1].abs().sum()) == 0.0
    torch.testing.assert_close(weighted[1, 2], 2 * none[1, 2])
    torch.testing.assert_close(weighted[0, 0], none[0, 0])
    # mean divides by all elements, zero-weighted ones included
    assert float(fn(pred, target, w)) == pytest.approx(float(weighted.sum()) / weighted.numel())


def test_point_weights_on_coordinates():
    pred = torch.tensor([[[1.0, 1.0], [3.0, 0.0]]])  # (B=1, K=2, 2)
    target = torch.zeros(1, 2, 2)
    w = torch.tensor([[1.0, 0.0]])
    # only point 0 counts: wing(1) * 2 coords = 2 * 10 ln(1.5) = 8.109302
    assert float(wing_loss(pred, target, w, reduction="sum")) == pytest.approx(20 * math.log(1.5), rel=1e-6)
    assert float(l1_loss(pred, target, w, reduction="sum")) == pytest.approx(2.0)


@pytest.mark.parametrize("fn", [mse_loss, l1_loss, wing_loss, soft_wing_loss, adaptive_wing_loss])
def test_bad_inputs_raise_clear_errors(fn):
    a = torch.zeros(2, 3, 4, 4)
    msg = r"pred and target must have the same shape, got \(2, 3, 4, 4\) and \(2, 3, 4\)"
    with pytest.raises(ValueError, match=msg):
        fn(a, torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"weights must have a leading part of pred's shape .* got \(3, 2\)"):
        fn(a, a, torch.ones(3, 2))
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"):
        fn(a, a, reduction="avg")
    with pytest.raises(TypeError, match="target must be a torch.Tensor, got ndarray"):
        fn(a, a.numpy())


def test_module_constructors_check_arguments():
    with pytest.raises(ValueError, match="WingLoss: epsilon must be positive, got 0"):
        WingLoss(epsilon=0)
    with pytest.raises(ValueError, match="SoftWingLoss: omega2 must be positive, got -1"):
        SoftWingLoss(omega2=-1)
    with pytest.raises(ValueError, match="AdaptiveWingLoss: theta must be positive, got 0"):
        AdaptiveWingLoss(theta=0)
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        MSELoss(reduction="max")
    with pytest.raises(ValueError, match=r"weight map needs heatmaps \(B, K, h, w\), got \(2, 3, 2\)"):
        adaptive_wing_loss(torch.zeros(2, 3, 2), torch.zeros(2, 3, 2))
