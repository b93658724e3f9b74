"""Wing loss (Feng et al., "Wing Loss for Robust Facial Landmark Localisation with Convolutional
Neural Networks", CVPR 2018)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .mse import REDUCTIONS, check_pair, weighted_reduce

__all__ = ["WingLoss", "wing_loss"]


def _check_params(omega: float, epsilon: float, name: str) -> None:
    if not omega > 0:
        raise ValueError(f"{name}: omega must be positive, got {omega}")
    if not epsilon > 0:
        raise ValueError(f"{name}: epsilon must be positive, got {epsilon}")


def wing_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    omega: float = 10.0,
    epsilon: float = 2.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Wing loss on the element-wise error ``x = pred - target`` (Feng et al. 2018, Sec. 4.2; quoted
    as Eq. 8 of the SCC paper)::

        wing(x) = omega * ln(1 + |x| / epsilon)   if |x| < omega
                  |x| - C                         otherwise,   C = omega - omega * ln(1 + omega / epsilon)

    ``C`` makes it continuous at ``|x| = omega``; the slope there jumps from
    ``omega / (omega + epsilon)`` (10/12 with the defaults) to 1, so it is not C1. Defaults
    ``omega = 10``, ``epsilon = 2`` are the paper's, for coordinates in pixels.

    Shape: ``pred, target (B, K, ...)`` (usually points ``(B, K, 2)``), ``weights`` a leading part
    of that shape (``(B, K)`` per point) or None -> scalar, or ``pred``'s shape for ``"none"``.
    """
    check_pair(pred, target, weights, name="wing_loss")
    _check_params(omega, epsilon, "wing_loss")
    x = (pred - target).abs()
    c = omega - omega * math.log1p(omega / epsilon)
    loss = torch.where(x < omega, omega * torch.log1p(x / epsilon), x - c)
    return weighted_reduce(loss, weights, reduction, name="wing_loss")


class WingLoss(nn.Module):
    """:func:`wing_loss` as a module. ``forward(pred, target, weights=None)``."""

    def __init__(self, *, omega: float = 10.0, epsilon: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        _check_params(omega, epsilon, "WingLoss")
        if reduction not in REDUCTIONS:
            raise ValueError(f"WingLoss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.omega, self.epsilon, self.reduction = float(omega), float(epsilon), reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return wing_loss(pred, target, weights, omega=self.omega, epsilon=self.epsilon, reduction=self.reduction)
