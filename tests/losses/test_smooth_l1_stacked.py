"""Smooth L1 and the stacked (intermediate-supervision) MSE, by hand."""

import pytest
import torch

from facealign.losses import SmoothL1Loss, smooth_l1_loss, stacked_mse_loss


def test_smooth_l1_by_hand():
    # d = (0.5, -2, 0, 1), beta 1: 0.5 * 0.25 = 0.125 | 2 - 0.5 = 1.5 | 0 | 0.5 * 1 = 0.5
    pred = torch.tensor([[[0.5, -2.0], [0.0, 1.0]]])
    zero = torch.zeros_like(pred)
    assert smooth_l1_loss(pred, zero, reduction="none").tolist() == [[[0.125, 1.5], [0.0, 0.5]]]
    assert float(smooth_l1_loss(pred, zero)) == pytest.approx((0.125 + 1.5 + 0.5) / 4)
    # point 1 weighted 0: (0.125 + 1.5) / 4 elements (the mean counts zero-weighted ones)
    assert float(smooth_l1_loss(pred, zero, torch.tensor([[1.0, 0.0]]))) == pytest.approx(0.40625)
    # beta 2: 0.5 * 0.25 / 2 = 0.0625 | |d| = 2 is not below beta: 2 - 1 = 1 | 0 | 0.5 / 2 = 0.25
    assert SmoothL1Loss(beta=2.0, reduction="sum")(pred, zero).item() == pytest.approx(1.3125)


def test_stacked_mse_sums_the_stacks_by_hand():
    # stack 0 errors (1, 1): MSE 1; stack 1 errors (0, 1): MSE 0.5; summed 1.5
    pred = torch.tensor([[1.0, 2.0], [0.0, 0.0]]).view(1, 2, 1, 1, 2)
    target = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2)
    assert float(stacked_mse_loss(pred, target)) == pytest.approx(1.5)
    assert float(stacked_mse_loss(pred, target, torch.zeros(1, 1))) == 0.0


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be positive, got 0"):
        smooth_l1_loss(torch.zeros(1, 2), torch.zeros(1, 2), beta=0)
    with pytest.raises(ValueError, match="SmoothL1Loss: reduction must be one of"):
        SmoothL1Loss(reduction="avg")
    with pytest.raises(ValueError, match=r"smooth_l1_loss: pred and target must have the same shape"):
        smooth_l1_loss(torch.zeros(1, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"stacked_mse_loss: pred must be a tensor of shape \(B, S, K, h, w\), got \(1, 1, 2\)"):
        stacked_mse_loss(torch.zeros(1, 1, 2), torch.zeros(1, 1, 2))
