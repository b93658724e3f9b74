"""HIH loss: CSC (Eq. 5) and MSE + alpha CSC (Eq. 6), hand-worked values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from facealign.losses import ALPHA_BASE, ALPHA_TINY, HIHLoss, csc_loss, hih_loss

# Two-cell decimal map: target [1, 0], prediction [0, 0].
# p* = softmax([1, 0]) = [e / (e + 1), 1 / (e + 1)] = [0.731059, 0.268941]; q* = [0.5, 0.5].
# KL elements: 0.731059 * ln(0.731059 / 0.5) = 0.731059 * 0.379885 = 0.277718
#              0.268941 * ln(0.268941 / 0.5) = 0.268941 * (-0.620115) = -0.166774
# sum = 0.110944; Eq. 5's mean over K h_d w_d = 2 elements = 0.055472.
P1 = math.e / (math.e + 1)
KL_SUM = P1 * math.log(2 * P1) + (1 - P1) * math.log(2 * (1 - P1))
TARGET = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
ZEROS = torch.zeros(1, 1, 1, 2)


def test_csc_hand_worked() -> None:
    assert KL_SUM == pytest.approx(0.110944, abs=1e-6)
    assert csc_loss(ZEROS, TARGET).item() == pytest.approx(KL_SUM / 2, abs=1e-6)
    assert csc_loss(ZEROS, TARGET, reduction="sum").item() == pytest.approx(KL_SUM, abs=1e-6)
    per = csc_loss(ZEROS, TARGET, reduction="none")
    assert per.shape == (1, 1, 1, 2)
    assert per.flatten().tolist() == pytest.approx([0.277719, -0.166774], abs=1e-6)


def test_csc_temperature() -> None:
    # T = 2 halves the logits: p* = softmax([0.5, 0]) = [0.622459, 0.377541];
    # KL = 0.622459 ln(1.244919) + 0.377541 ln(0.755081) = 0.136362 - 0.106062 = 0.030300; mean 0.015150.
    assert csc_loss(ZEROS, TARGET, temperature=2.0).item() == pytest.approx(0.015150, abs=1e-6)


def test_csc_is_zero_at_target_and_shift_invariant() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 8, 8, generator=g)
    assert csc_loss(target, target).item() == pytest.approx(0.0, abs=1e-7)
    assert csc_loss(target + 5.0, target).item() == pytest.approx(0.0, abs=1e-6)  # softmax ignores a shift
    pred = torch.randn(2, 3, 8, 8, generator=g)
    # equals PyTorch's KL on the softmaxed maps, averaged over all elements
    ref = F.kl_div(F.log_softmax(pred.flatten(2), -1), F.softmax(target.flatten(2), -1), reduction="sum")
    assert csc_loss(pred, target).item() == pytest.approx(ref.item() / pred.numel(), rel=1e-5)


def test_csc_weights() -> None:
    pred = torch.cat([ZEROS, ZEROS], dim=1)
    target = torch.cat([TARGET, TARGET], dim=1)
    # point 2 masked: its two elements count as 0 in the mean over 4 -> KL_SUM / 4
    w = torch.tensor([[1.0, 0.0]])
    assert csc_loss(pred, target, w).item() == pytest.approx(KL_SUM / 4, abs=1e-6)


def test_hih_loss_eq6_hand_worked() -> None:
    # integer: pred [0, 0] vs target [1, 0] -> MSE mean = (1 + 0) / 2 = 0.5; decimal as above -> 0.055472.
    # L = 0.5 + 0.1 * 0.055472 = 0.505547 (alpha of HIH_T); 0.5 + 0.05 * 0.055472 = 0.502774 (HIH_S / B).
    assert ALPHA_TINY == 0.1 and ALPHA_BASE == 0.05
    assert hih_loss(ZEROS, ZEROS, TARGET, TARGET).item() == pytest.approx(0.5 + 0.1 * KL_SUM / 2, abs=1e-6)
    assert hih_loss(ZEROS, ZEROS, TARGET, TARGET, alpha=ALPHA_BASE).item() == pytest.approx(0.502774, abs=1e-6)


def test_module_averages_mse_over_stacks() -> None:
    # stack 1 perfect (MSE 0), stack 2 zeros (MSE 0.5): mean 0.25; + 0.05 * 0.055472 = 0.252774.
    pred_int = torch.stack([TARGET, ZEROS], dim=1)  # (B, S, K, h, w) = (1, 2, 1, 1, 2)
    loss = HIHLoss(alpha=0.05)(pred_int, ZEROS, TARGET, TARGET)
    assert loss.item() == pytest.approx(0.25 + 0.05 * KL_SUM / 2, abs=1e-6)
    # a single stack (B, K, h, w) works too
    assert HIHLoss()(ZEROS, ZEROS, TARGET, TARGET).item() == pytest.approx(0.5 + 0.1 * KL_SUM / 2, abs=1e-6)


def test_gradients_are_finite() -> None:
    g = torch.Generator().manual_seed(1)
    pred_int = torch.randn(2, 2, 5, 16, 16, generator=g, requires_grad=True)
    pred_dec = (torch.randn(2, 5, 4, 4, generator=g) * 50).requires_grad_()  # large logits: log-softmax is stable
    loss = HIHLoss()(pred_int, pred_dec, torch.rand(2, 5, 16, 16, generator=g), torch.rand(2, 5, 4, 4, generator=g))
    loss.backward()
    assert torch.isfinite(pred_int.grad).all() and torch.isfinite(pred_dec.grad).all()
    assert pred_dec.grad.abs().sum() > 0


def test_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        csc_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="temperature must be positive"):
        csc_loss(ZEROS, TARGET, temperature=0.0)
    with pytest.raises(ValueError, match=r"shape \(B, K, h_d, w_d\)"):
        csc_loss(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', got 'none'"):
        hih_loss(ZEROS, ZEROS, TARGET, TARGET, reduction="none")
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        HIHLoss(alpha=-1.0)
