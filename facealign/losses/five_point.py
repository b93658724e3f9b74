"""The 5-point loss: heatmaps of a dense scheme against human 5-point labels, through soft-argmax.

The dense models learn from teacher labels (dlib's 68 points); where a face also carries human labels
of the 5 points (eye centres, nose tip, mouth corners), this loss pulls the scheme's 5 points, each the
mean of its group of dense points (:attr:`facealign.landmarks.LandmarkScheme.five_point`), toward them.
Not from a paper: the project's way of mixing human 5-point labels into dense training.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..codecs.decoders import soft_argmax_decode
from ..landmarks import LandmarkScheme

__all__ = ["FivePointLoss", "five_point_loss", "five_point_matrix"]

#: The soft-argmax inverse temperature when the caller gives none (``beta <= 0``).
DEFAULT_BETA = 2.0


def five_point_matrix(scheme: LandmarkScheme, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(5, K)`` averaging matrix: ``five = A @ points`` gives the scheme's 5 points. Shape: ``-> (5, K)``."""
    a = torch.zeros(5, scheme.num_points, dtype=dtype)
    for row, group in enumerate(scheme.five_point):
        a[row, list(group)] = 1.0 / len(group)
    return a


def five_point_loss(
    heatmaps: torch.Tensor,
    five: torch.Tensor,
    *,
    scheme: LandmarkScheme,
    sigma: float,
    beta: float = DEFAULT_BETA,
) -> torch.Tensor:
    """Mean Euclidean error, in heatmap cells, between the 5 points derived from the predicted
    heatmaps and human 5-point labels.

    Coordinates are the differentiable soft-argmax (:func:`facealign.codecs.soft_argmax_decode`,
    log domain, within ``ceil(3 sigma)`` cells of the argmax; ``beta <= 0`` takes :data:`DEFAULT_BETA`);
    the 5 points are the scheme's averages (eye centres = mean of the eye contour). Faces without
    labels (NaN) are ignored; a batch without any gives a zero that still reaches the graph.

    Shape: ``heatmaps (B, K, h, w)``, ``five (B, 5, 2)`` in heatmap cells, ``(x, y)`` -> scalar.
    """
    coords, _ = soft_argmax_decode(heatmaps, beta=beta if beta > 0 else DEFAULT_BETA, radius=int(math.ceil(3 * sigma)))
    pred5 = five_point_matrix(scheme, dtype=coords.dtype).to(coords.device) @ coords
    ok = torch.isfinite(five).all(dim=-1)
    if not bool(ok.any()):
        return heatmaps.sum() * 0.0
    err = torch.linalg.vector_norm(pred5 - torch.nan_to_num(five), dim=-1)
    return err[ok].mean()


class FivePointLoss(nn.Module):
    """:func:`five_point_loss` as a module for one scheme and target sigma. ``forward(heatmaps, five)``."""

    def __init__(self, scheme: LandmarkScheme, *, sigma: float, beta: float = DEFAULT_BETA) -> None:
        super().__init__()
        if not sigma > 0:
            raise ValueError(f"FivePointLoss: sigma must be positive, got {sigma}")
        self.scheme, self.sigma, self.beta = scheme, float(sigma), float(beta)

    def forward(self, heatmaps: torch.Tensor, five: torch.Tensor) -> torch.Tensor:
        return five_point_loss(heatmaps, five, scheme=self.scheme, sigma=self.sigma, beta=self.beta)
