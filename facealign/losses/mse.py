"""Mean squared error for heatmaps or coordinates, with per-point weights.

Also home of the input checks and the weighted reduction shared by every loss in this package.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MSELoss", "REDUCTIONS", "check_pair", "mse_loss", "stacked_mse_loss", "weighted_reduce"]

#: Accepted values of every loss's ``reduction`` argument.
REDUCTIONS = ("mean", "sum", "none")


def check_pair(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None, *, name: str) -> None:
    """Raise a clear error unless ``pred`` and ``target`` are tensors of one shape and ``weights``
    (if given) has a leading part of that shape, e.g. ``(B, K)`` for ``(B, K, h, w)``."""
    for arg, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: {arg} must be a torch.Tensor, got {type(t).__name__}")
    if pred.shape != target.shape:
        raise ValueError(
            f"{name}: pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    if weights is not None:
        if not isinstance(weights, torch.Tensor):
            raise TypeError(f"{name}: weights must be a torch.Tensor or None, got {type(weights).__name__}")
        if tuple(weights.shape) != tuple(pred.shape[: weights.ndim]):
            raise ValueError(
                f"{name}: weights must have a leading part of pred's shape {tuple(pred.shape)} "
                f"(e.g. {tuple(pred.shape[:2])}), got {tuple(weights.shape)}"
            )


def weighted_reduce(loss: torch.Tensor, weights: torch.Tensor | None, reduction: str, *, name: str) -> torch.Tensor:
    """Multiply an element-wise ``loss`` by ``weights`` (broadcast over trailing dims) and reduce.

    ``"mean"`` averages over **all** elements, zero-weighted ones included (mmpose's keypoint-loss
    convention: the scale does not jump with the number of visible points in a batch); ``"sum"``
    sums; ``"none"`` returns the weighted element-wise loss, shape of ``loss``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if weights is not None:
        w = weights.to(dtype=loss.dtype, device=loss.device)
        loss = loss * w.reshape(tuple(w.shape) + (1,) * (loss.ndim - w.ndim))
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None, *, reduction: str = "mean"
) -> torch.Tensor:
    """Weighted squared error ``L = w * (pred - target)^2``, reduced.

    The standard heatmap-regression loss (Tompson et al. 2014; Newell et al. 2016).
    Shape: ``pred, target (B, K, ...)`` (heatmaps ``(B, K, h, w)`` or points ``(B, K, 2)``),
    ``weights`` a leading part of that shape (``(B, K)`` per point) or None ->
    scalar, or ``pred``'s shape for ``reduction="none"``.
    """
    check_pair(pred, target, weights, name="mse_loss")
    return weighted_reduce((pred - target) ** 2, weights, reduction, name="mse_loss")


def stacked_mse_loss(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Intermediate supervision (Newell et al. 2016, Sec. 3.4): :func:`mse_loss` of every stack's heatmaps
    against the same targets, **summed** over the stacks (HIH's integer heatmaps, Lan et al. Eq. 6, and
    the WOV / WOM heads of its Appendix B-C).

    Shape: ``pred (B, S, K, h, w)``, ``target (B, K, h, w)``, ``weights (B, K)`` or None -> scalar.
    """
    if not isinstance(pred, torch.Tensor) or pred.ndim != 5:
        got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise ValueError(f"stacked_mse_loss: pred must be a tensor of shape (B, S, K, h, w), got {got}")
    return sum((mse_loss(p, target, weights) for p in pred.unbind(1)), pred.new_zeros(()))


class MSELoss(nn.Module):
    """:func:`mse_loss` as a module. ``forward(pred, target, weights=None)``."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"MSELoss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return mse_loss(pred, target, weights, reduction=self.reduction)
