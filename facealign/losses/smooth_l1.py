"""Smooth L1 (Huber with ``beta``) for coordinates or offsets, with per-point weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mse import REDUCTIONS, check_pair, weighted_reduce

__all__ = ["SmoothL1Loss", "smooth_l1_loss"]


def smooth_l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    beta: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Weighted Smooth L1 (Girshick, "Fast R-CNN", 2015, Eq. 3; CornerNet's offset loss with ``beta = 1``):
    ``0.5 d^2 / beta`` for ``|d| < beta``, ``|d| - 0.5 beta`` beyond, ``d = pred - target``; times ``w``, reduced.

    HIH's WOM head constrains its offset maps with it (Lan et al. Sec. IV-D).
    Shape: ``pred, target (B, K, ...)`` (offsets ``(B, K, 2)``), ``weights`` a leading part of that shape
    (``(B, K)`` per point) or None -> scalar, or ``pred``'s shape for ``reduction="none"``.
    """
    check_pair(pred, target, weights, name="smooth_l1_loss")
    if not beta > 0:
        raise ValueError(f"smooth_l1_loss: beta must be positive, got {beta}")
    return weighted_reduce(F.smooth_l1_loss(pred, target, reduction="none", beta=beta), weights, reduction, name="smooth_l1_loss")


class SmoothL1Loss(nn.Module):
    """:func:`smooth_l1_loss` as a module. ``forward(pred, target, weights=None)``."""

    def __init__(self, *, beta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        if not beta > 0:
            raise ValueError(f"SmoothL1Loss: beta must be positive, got {beta}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"SmoothL1Loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.beta, self.reduction = float(beta), reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return smooth_l1_loss(pred, target, weights, beta=self.beta, reduction=self.reduction)
