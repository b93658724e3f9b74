"""Adaptive Wing loss (Wang, Bo & Fuxin, "Adaptive Wing Loss for Robust Face Alignment via Heatmap
Regression", ICCV 2019), in the form and with the constants of PropagationNet (Huang et al.,
"PropagationNet: Propagate Points to Curve to Learn Structure Information", CVPR 2020, Eq. 1 and
Sec. 4.3), plus AWing's weighted loss map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mse import REDUCTIONS, check_pair, weighted_reduce

__all__ = ["AdaptiveWingLoss", "adaptive_wing_loss", "awing_weight_map"]


def awing_weight_map(
    target: torch.Tensor, *, threshold: float = 0.2, weight: float = 10.0, kernel_size: int = 3
) -> torch.Tensor:
    """AWing's weighted loss map ``W = 1 + weight * M``, ``M`` = the binary mask ``target > threshold``
    dilated by a ``kernel_size x kernel_size`` square (AWing, "Weighted loss map" subsection).

    It puts ``1 + weight`` on the foreground (the Gaussian's core and a one-cell rim) so the many
    background cells do not swamp the loss. Shape: ``(B, K, h, w) -> (B, K, h, w)``, ``target``'s dtype.
    """
    if target.ndim != 4:
        raise ValueError(f"awing_weight_map: target must have shape (B, K, h, w), got {tuple(target.shape)}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"awing_weight_map: kernel_size must be a positive odd integer, got {kernel_size}")
    mask = (target > threshold).to(target.dtype)
    b, k, h, w = target.shape
    dilated = F.max_pool2d(mask.reshape(b * k, 1, h, w), kernel_size, stride=1, padding=kernel_size // 2)
    return 1.0 + weight * dilated.reshape(b, k, h, w)


def _check_params(alpha: float, omega: float, epsilon: float, theta: float, name: str) -> None:
    for pname, v in (("alpha", alpha), ("omega", omega), ("epsilon", epsilon), ("theta", theta)):
        if not v > 0:
            raise ValueError(f"{name}: {pname} must be positive, got {v}")


def adaptive_wing_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    alpha: float = 2.1,
    omega: float = 14.0,
    epsilon: float = 1.0,
    theta: float = 0.5,
    use_weight_map: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """Adaptive Wing loss between predicted heatmaps ``y_hat`` and targets ``y`` in [0, 1]
    (PropagationNet Eq. 1, the AWing paper's loss)::

        AWing = omega * ln(1 + |(y - y_hat) / epsilon|^(alpha - y))   if |y - y_hat| < theta
                A * |y - y_hat| - Omega                               otherwise

        A     = omega * (alpha - y) * (theta / epsilon)^(alpha - y - 1) / (1 + (theta / epsilon)^(alpha - y)) / epsilon
        Omega = theta * A - omega * ln(1 + (theta / epsilon)^(alpha - y))

    ``A`` and ``Omega`` make the loss continuous and C1 at ``|y - y_hat| = theta``. The exponent
    ``alpha - y`` (> 1 for ``y <= 1``) makes the loss smooth at zero error on the background and
    steep near it on the foreground. Constants: PropagationNet Sec. 4.3 (``alpha = 2.1``,
    ``omega = 14``, ``epsilon = 1``, ``theta = 0.5``), the same as AWing's.

    With ``use_weight_map`` the element-wise loss is multiplied by :func:`awing_weight_map` of the
    target (AWing trains with it; PropagationNet's Eq. 1 leaves it implicit). ``weights`` are
    per-point (visibility) weights on top.

    Shape: ``pred, target (B, K, h, w)``, ``weights (B, K)`` or None -> scalar, or ``(B, K, h, w)``
    for ``reduction="none"``.
    """
    check_pair(pred, target, weights, name="adaptive_wing_loss")
    _check_params(alpha, omega, epsilon, theta, "adaptive_wing_loss")
    diff = (pred - target).abs()
    power = alpha - target
    ratio = theta / epsilon
    a = omega * power * ratio ** (power - 1.0) / (1.0 + ratio**power) / epsilon
    big_omega = theta * a - omega * torch.log1p(ratio**power)
    small = omega * torch.log1p((diff / epsilon) ** power)
    loss = torch.where(diff < theta, small, a * diff - big_omega)
    if use_weight_map:
        if target.ndim != 4:
            raise ValueError(
                f"adaptive_wing_loss: the weight map needs heatmaps (B, K, h, w), got {tuple(target.shape)}; "
                "pass use_weight_map=False for other shapes"
            )
        loss = loss * awing_weight_map(target)
    return weighted_reduce(loss, weights, reduction, name="adaptive_wing_loss")


class AdaptiveWingLoss(nn.Module):
    """:func:`adaptive_wing_loss` as a module. ``forward(pred, target, weights=None)``."""

    def __init__(
        self,
        *,
        alpha: float = 2.1,
        omega: float = 14.0,
        epsilon: float = 1.0,
        theta: float = 0.5,
        use_weight_map: bool = True,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        _check_params(alpha, omega, epsilon, theta, "AdaptiveWingLoss")
        if reduction not in REDUCTIONS:
            raise ValueError(f"AdaptiveWingLoss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.alpha, self.omega, self.epsilon, self.theta = float(alpha), float(omega), float(epsilon), float(theta)
        self.use_weight_map = bool(use_weight_map)
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return adaptive_wing_loss(
            pred,
            target,
            weights,
            alpha=self.alpha,
            omega=self.omega,
            epsilon=self.epsilon,
            theta=self.theta,
            use_weight_map=self.use_weight_map,
            reduction=self.reduction,
        )
