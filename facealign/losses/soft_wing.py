"""Soft Wing loss (Zhu, Lin et al., "Fast and Accurate: Structure Coherence Component for Face
Alignment" (SCC), Sec. 3.3, Eq. 9)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .mse import REDUCTIONS, check_pair, weighted_reduce

__all__ = ["SoftWingLoss", "soft_wing_loss"]


def _check_params(omega1: float, omega2: float, epsilon: float, name: str) -> None:
    if not omega1 > 0:
        raise ValueError(f"{name}: omega1 must be positive, got {omega1}")
    if not omega2 > 0:
        raise ValueError(f"{name}: omega2 must be positive, got {omega2}")
    if not epsilon > 0:
        raise ValueError(f"{name}: epsilon must be positive, got {epsilon}")


def soft_wing_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    omega1: float = 2.0,
    omega2: float = 20.0,
    epsilon: float = 0.5,
    reduction: str = "mean",
) -> torch.Tensor:
    """Soft Wing loss on the element-wise error ``x = pred - target`` (SCC Eq. 9)::

        softwing(x) = |x|                                if |x| < omega1
                      omega2 * ln(1 + |x| / epsilon) + B   otherwise,   B = omega1 - omega2 * ln(1 + omega1 / epsilon)

    Linear (L1) for small errors, logarithmic for medium and large ones. ``B`` makes it continuous
    at ``|x| = omega1``; as written in the paper the slope there jumps from 1 to
    ``omega2 / (omega1 + epsilon)`` (20 / 2.5 = 8 with the paper's defaults ``omega1 = 2``,
    ``omega2 = 20``, ``epsilon = 0.5``, Sec. 4.2), so it is not C1 at ``omega1``.

    Shape: ``pred, target (B, K, ...)`` (usually points ``(B, K, 2)``), ``weights`` a leading part
    of that shape (``(B, K)`` per point) or None -> scalar, or ``pred``'s shape for ``"none"``.
    """
    check_pair(pred, target, weights, name="soft_wing_loss")
    _check_params(omega1, omega2, epsilon, "soft_wing_loss")
    x = (pred - target).abs()
    b = omega1 - omega2 * math.log1p(omega1 / epsilon)
    loss = torch.where(x < omega1, x, omega2 * torch.log1p(x / epsilon) + b)
    return weighted_reduce(loss, weights, reduction, name="soft_wing_loss")


class SoftWingLoss(nn.Module):
    """:func:`soft_wing_loss` as a module. ``forward(pred, target, weights=None)``."""

    def __init__(
        self, *, omega1: float = 2.0, omega2: float = 20.0, epsilon: float = 0.5, reduction: str = "mean"
    ) -> None:
        super().__init__()
        _check_params(omega1, omega2, epsilon, "SoftWingLoss")
        if reduction not in REDUCTIONS:
            raise ValueError(f"SoftWingLoss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.omega1, self.omega2, self.epsilon, self.reduction = float(omega1), float(omega2), float(epsilon), reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return soft_wing_loss(
            pred,
            target,
            weights,
            omega1=self.omega1,
            omega2=self.omega2,
            epsilon=self.epsilon,
            reduction=self.reduction,
        )
