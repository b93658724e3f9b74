"""Mean absolute error for heatmaps or coordinates, with per-point weights."""

from __future__ import annotations

import torch
from torch import nn

from .mse import REDUCTIONS, check_pair, weighted_reduce

__all__ = ["L1Loss", "l1_loss"]


def l1_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None, *, reduction: str = "mean"
) -> torch.Tensor:
    """Weighted absolute error ``L = w * |pred - target|``, reduced.

    Shape: ``pred, target (B, K, ...)`` (points ``(B, K, 2)`` or heatmaps ``(B, K, h, w)``),
    ``weights`` a leading part of that shape (``(B, K)`` per point) or None ->
    scalar, or ``pred``'s shape for ``reduction="none"``.
    """
    check_pair(pred, target, weights, name="l1_loss")
    return weighted_reduce((pred - target).abs(), weights, reduction, name="l1_loss")


class L1Loss(nn.Module):
    """:func:`l1_loss` as a module. ``forward(pred, target, weights=None)``."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"L1Loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return l1_loss(pred, target, weights, reduction=self.reduction)
