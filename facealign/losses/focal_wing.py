"""Focal Wing loss (Huang et al., "PropagationNet: Propagate Points to Curve to Learn Structure
Information", CVPR 2020, Sec. 3.2, Eq. 2-5): Adaptive Wing (Eq. 1, :func:`adaptive_wing_loss`) on
landmark and boundary heatmaps, each sample weighted by batch-wise focal factors of its attributes
(WFLW's six flags: pose, expression, illumination, make-up, occlusion, blur).

Eq. 2 as printed, for class ``c`` and sample ``n`` of a batch of ``N``::

    sigma_n^(c) = 1                               if sum_n s_n^(c) = 0
                  N / sum_n s_n^(c)               otherwise

has no ``n`` on its right-hand side, so every sample of a batch would get the same factor and nothing
would be re-weighted, while the text says the factor "dynamically adjusts loss weight on every sample
in a batch", "gears the loss weight ... for each sample" and balances "the data across all classes".
We read it as inverse-frequency weighting of the samples that have the attribute:
``sigma_n^(c) = N / sum_n s_n^(c)`` when ``s_n^(c) = 1``, else 1 (the neutral value of the first case).
``per_sample=False`` gives the equation as printed.

Eq. 3 weights sample ``n``'s loss by ``sum_c sigma_n^(c)``; we use the mean over the ``C`` classes,
``(1 / C) sum_c sigma_n^(c)``, so that a batch without attribute flags (``None``, no columns, or all
unknown) weighs every sample by exactly 1 and Focal Wing reduces to Adaptive Wing. For a fixed ``C``
this is Eq. 3 divided by the constant ``C`` (an overall scale, which Adam, the paper's optimiser,
ignores).
"""

from __future__ import annotations

from typing import Any

import torch

from .adaptive_wing import AdaptiveWingLoss, adaptive_wing_loss
from .mse import REDUCTIONS, check_pair, weighted_reduce

__all__ = [
    "PAPER_BETA",
    "FocalWingLoss",
    "focal_factor",
    "focal_sample_weights",
    "focal_wing_loss",
    "propagation_loss",
]

#: Eq. 5's balance of the boundary loss (Sec. 4.3: beta = 0.5).
PAPER_BETA = 0.5


def _check_attributes(attributes: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(attributes, torch.Tensor):
        raise TypeError(f"{name}: attributes must be a torch.Tensor of shape (N, C) or None, got {type(attributes).__name__}")
    if attributes.ndim != 2:
        raise ValueError(f"{name}: attributes must have shape (N, C), got {tuple(attributes.shape)}")
    return attributes > 0


def focal_factor(attributes: torch.Tensor, *, per_sample: bool = True) -> torch.Tensor:
    """Focal factors ``sigma_n^(c)`` of a batch (PropagationNet Eq. 2; module docstring for the reading).

    ``attributes`` holds each sample's flags: 1 (has attribute ``c``), 0 (has not), negative (unknown,
    counted as 0). With ``N_c = sum_n s_n^(c)``: ``sigma_n^(c) = N / N_c`` for the samples with the
    attribute and 1 for the others (``per_sample=False``: ``N / N_c`` for all samples), and 1 for every
    sample when ``N_c = 0``. Not differentiable (flags only).
    Shape: ``(N, C) -> (N, C)`` float32 (float64 for float64 flags).
    """
    flags = _check_attributes(attributes, "focal_factor")
    n = flags.shape[0]
    dtype = attributes.dtype if attributes.dtype == torch.float64 else torch.float32
    counts = flags.sum(dim=0).to(dtype)  # (C,)
    ratio = torch.where(counts > 0, n / counts.clamp_min(1.0), torch.ones_like(counts))  # (C,)
    sigma = ratio.expand(n, -1)
    if per_sample:
        sigma = torch.where(flags, sigma, torch.ones_like(sigma))
    return sigma.clone()


def focal_sample_weights(
    attributes: torch.Tensor | None, *, batch_size: int, per_sample: bool = True
) -> torch.Tensor:
    """Each sample's loss weight: the mean over classes of :func:`focal_factor` (Eq. 3's
    ``sum_c sigma_n^(c)`` divided by ``C``); all ones when ``attributes`` is ``None`` or has no columns.
    Shape: ``(N, C)`` or None -> ``(N,)``, ``N = batch_size``.
    """
    if attributes is None:
        return torch.ones(batch_size)
    flags = _check_attributes(attributes, "focal_sample_weights")
    if flags.shape[0] != batch_size:
        raise ValueError(
            f"focal_sample_weights: attributes must have one row per sample ({batch_size}), got {tuple(attributes.shape)}"
        )
    if flags.shape[1] == 0:
        return torch.ones(batch_size, device=attributes.device)
    return focal_factor(attributes, per_sample=per_sample).mean(dim=1)


def focal_wing_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    attributes: torch.Tensor | None = None,
    per_sample: bool = True,
    alpha: float = 2.1,
    omega: float = 14.0,
    epsilon: float = 1.0,
    theta: float = 0.5,
    use_weight_map: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """Focal Wing loss of heatmaps (PropagationNet Eq. 3 for landmarks, Eq. 4 for boundaries)::

        L = 1 / N  sum_n  w_n  sum_k  AWing(y_n^(k), y_hat_n^(k)),   w_n = (1 / C) sum_c sigma_n^(c)

    :func:`adaptive_wing_loss` (Eq. 1, with its weighted loss map when ``use_weight_map``) per element,
    times the per-map ``weights`` (visibility) and :func:`focal_sample_weights` of ``attributes``.
    ``"mean"`` averages over all ``N K h w`` elements (the package's convention; Eq. 3 sums over maps
    and cells, a constant factor ``K h w``). Without attributes it equals :func:`adaptive_wing_loss`.
    Constants: Sec. 4.3 (``alpha = 2.1, omega = 14, epsilon = 1, theta = 0.5``).

    Shape: ``pred, target (N, K, h, w)``, ``weights (N, K)`` or None, ``attributes (N, C)`` or None ->
    scalar, or ``(N, K, h, w)`` for ``reduction="none"``.
    """
    check_pair(pred, target, weights, name="focal_wing_loss")
    if reduction not in REDUCTIONS:
        raise ValueError(f"focal_wing_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    loss = adaptive_wing_loss(
        pred,
        target,
        weights,
        alpha=alpha,
        omega=omega,
        epsilon=epsilon,
        theta=theta,
        use_weight_map=use_weight_map,
        reduction="none",
    )
    sample = focal_sample_weights(attributes, batch_size=pred.shape[0], per_sample=per_sample).to(loss.device)
    return weighted_reduce(loss, sample, reduction, name="focal_wing_loss")


def propagation_loss(
    pred_heatmaps: torch.Tensor,
    pred_boundaries: torch.Tensor,
    target_heatmaps: torch.Tensor,
    target_boundaries: torch.Tensor,
    heatmap_weights: torch.Tensor | None = None,
    boundary_weights: torch.Tensor | None = None,
    *,
    attributes: torch.Tensor | None = None,
    beta: float = PAPER_BETA,
    per_sample: bool = True,
    alpha: float = 2.1,
    omega: float = 14.0,
    epsilon: float = 1.0,
    theta: float = 0.5,
    use_weight_map: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PropagationNet's loss (Eq. 5): ``L_lm + beta * L_bd``, each a :func:`focal_wing_loss` (Eq. 3 / 4)
    summed over the stacks (intermediate supervision: every stack's landmark and boundary heatmaps are
    compared with the same targets).

    Shape: ``pred_heatmaps (N, S, K, h, w)`` and ``pred_boundaries (N, S, M, h, w)``
    (:class:`facealign.models.propagation.PropagationOutput`), ``target_heatmaps (N, K, h, w)``,
    ``target_boundaries (N, M, h, w)``, weights ``(N, K)`` / ``(N, M)`` or None, ``attributes (N, C)``
    or None -> ``(total, {"landmark": L_lm, "boundary": L_bd})``, scalars. ``M = 0`` (no propagation
    module) gives ``L_bd = 0``.
    """
    pairs = (("pred_heatmaps", pred_heatmaps, target_heatmaps), ("pred_boundaries", pred_boundaries, target_boundaries))
    for arg, pred, target in pairs:
        if pred.ndim != 5 or tuple(pred.shape[:1] + pred.shape[2:]) != tuple(target.shape):
            raise ValueError(
                f"propagation_loss: {arg} must have shape (N, S, *target.shape[1:]) for a target of shape "
                f"{tuple(target.shape)}, got {tuple(pred.shape)}"
            )
    if not beta >= 0:
        raise ValueError(f"propagation_loss: beta must be >= 0, got {beta}")

    def over_stacks(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        if pred.shape[2] == 0:  # no boundary channels
            return pred.new_zeros(())
        losses = [
            focal_wing_loss(
                p,
                target,
                weights,
                attributes=attributes,
                per_sample=per_sample,
                alpha=alpha,
                omega=omega,
                epsilon=epsilon,
                theta=theta,
                use_weight_map=use_weight_map,
            )
            for p in pred.unbind(1)
        ]
        return torch.stack(losses).sum()

    landmark = over_stacks(pred_heatmaps, target_heatmaps, heatmap_weights)
    boundary = over_stacks(pred_boundaries, target_boundaries, boundary_weights)
    total = landmark + beta * boundary
    return total, {"landmark": landmark, "boundary": boundary}


class FocalWingLoss(AdaptiveWingLoss):
    """:func:`focal_wing_loss` as a module (the :class:`AdaptiveWingLoss` settings plus ``per_sample``).
    ``forward(pred, target, weights=None, attributes=None)``."""

    def __init__(self, *, per_sample: bool = True, **awing: Any) -> None:
        super().__init__(**awing)
        self.per_sample = bool(per_sample)

    def forward(  # type: ignore[override]
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        weights: torch.Tensor | None = None,
        attributes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return focal_wing_loss(
            pred,
            target,
            weights,
            attributes=attributes,
            per_sample=self.per_sample,
            alpha=self.alpha,
            omega=self.omega,
            epsilon=self.epsilon,
            theta=self.theta,
            use_weight_map=self.use_weight_map,
            reduction=self.reduction,
        )
