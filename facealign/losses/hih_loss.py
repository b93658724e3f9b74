"""HIH's loss: MSE on the integer heatmaps + alpha x coordinate soft-classification (CSC) on the decimal
heatmaps (Lan et al., "HIH: Towards More Accurate Face Alignment via Heatmap in Heatmap", 2022,
Sec. III-C, Eq. 5-6).

The paper sets ``alpha = 0.1`` for HIH_T and ``0.05`` for HIH_S / HIH_B (Sec. IV-A), uses the plain
softmax (no temperature is given: ``temperature = 1``) and mean reductions throughout; with several
hourglass stacks every stack's integer heatmaps are supervised (the authors' code averages the MSE over
stacks, which is what :class:`HIHLoss` does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mse import check_pair, mse_loss, weighted_reduce

__all__ = ["ALPHA_BASE", "ALPHA_TINY", "HIHLoss", "csc_loss", "hih_loss"]

#: Loss weight of the CSC term for HIH_T (Sec. IV-A).
ALPHA_TINY = 0.1
#: Loss weight of the CSC term for HIH_S and HIH_B (Sec. IV-A).
ALPHA_BASE = 0.05


def csc_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    temperature: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Coordinate soft-classification loss (Eq. 5): ``KL(p* || q*)`` per decimal heatmap, where
    ``p* = softmax(target / T)`` and ``q* = softmax(pred / T)`` over the ``h_d * w_d`` cells of each map.

    Element-wise ``p*_ij (log p*_ij - log q*_ij)``; ``"mean"`` divides the sum by ``B K h_d w_d`` (Eq. 5's
    ``1 / (K h_d w_d)``, averaged over the batch), weighted per point like every loss here.
    Shape: ``pred, target (B, K, h_d, w_d)``, ``weights (B, K)`` or None -> scalar, or
    ``(B, K, h_d, w_d)`` for ``reduction="none"``.
    """
    check_pair(pred, target, weights, name="csc_loss")
    if pred.ndim != 4:
        raise ValueError(f"csc_loss: pred and target must have shape (B, K, h_d, w_d), got {tuple(pred.shape)}")
    if not temperature > 0:
        raise ValueError(f"csc_loss: temperature must be positive, got {temperature}")
    log_q = F.log_softmax(pred.flatten(2) / temperature, dim=-1)
    log_p = F.log_softmax(target.flatten(2) / temperature, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).view_as(pred)
    return weighted_reduce(kl, weights, reduction, name="csc_loss")


def hih_loss(
    pred_integer: torch.Tensor,
    pred_decimal: torch.Tensor,
    target_integer: torch.Tensor,
    target_decimal: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    alpha: float = ALPHA_TINY,
    temperature: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Eq. 6: ``L = MSE(integer) + alpha * CSC(decimal)`` for one stack.

    Shape: ``pred_integer, target_integer (B, K, h, w)``, ``pred_decimal, target_decimal (B, K, h_d, w_d)``,
    ``weights (B, K)`` or None -> scalar. Only ``"mean"`` and ``"sum"`` reductions (the two terms have
    different shapes).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"hih_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    if not alpha >= 0:
        raise ValueError(f"hih_loss: alpha must be >= 0, got {alpha}")
    mse = mse_loss(pred_integer, target_integer, weights, reduction=reduction)
    csc = csc_loss(pred_decimal, target_decimal, weights, temperature=temperature, reduction=reduction)
    return mse + alpha * csc


class HIHLoss(nn.Module):
    """:func:`hih_loss` over every stack.

    ``forward(pred_integer, pred_decimal, target_integer, target_decimal, weights=None)`` with
    ``pred_integer (B, S, K, h, w)`` (all S stacks, as :class:`facealign.models.hih.HIHOutput` gives
    them) or ``(B, K, h, w)``: the MSE is averaged over stacks, then ``alpha * CSC`` is added once.
    """

    def __init__(self, *, alpha: float = ALPHA_TINY, temperature: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"HIHLoss: reduction must be 'mean' or 'sum', got {reduction!r}")
        if not alpha >= 0:
            raise ValueError(f"HIHLoss: alpha must be >= 0, got {alpha}")
        if not temperature > 0:
            raise ValueError(f"HIHLoss: temperature must be positive, got {temperature}")
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.reduction = reduction

    def forward(
        self,
        pred_integer: torch.Tensor,
        pred_decimal: torch.Tensor,
        target_integer: torch.Tensor,
        target_decimal: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if not isinstance(pred_integer, torch.Tensor):
            raise TypeError(f"HIHLoss: pred_integer must be a torch.Tensor, got {type(pred_integer).__name__}")
        stacks = pred_integer.unbind(1) if pred_integer.ndim == 5 else (pred_integer,)
        mse = torch.stack([mse_loss(p, target_integer, weights, reduction=self.reduction) for p in stacks]).mean()
        csc = csc_loss(pred_decimal, target_decimal, weights, temperature=self.temperature, reduction=self.reduction)
        return mse + self.alpha * csc
