"""The 5-point loss of the heatmap engine (each output kind's own loss is in :mod:`facealign.outputs`)."""

from __future__ import annotations

import math
import torch

from ..codecs import soft_argmax_decode
from ..landmarks import LandmarkScheme

__all__ = ["five_point_loss", "five_point_matrix"]

def five_point_matrix(scheme: LandmarkScheme, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(5, K)`` averaging matrix: ``five = A @ points`` gives the scheme's 5 points."""
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
    beta: float = 2.0,
) -> torch.Tensor:
    """Mean Euclidean error, in heatmap cells, between the 5 points derived from the predicted
    heatmaps and human 5-point labels.

    Coordinates are the differentiable soft-argmax (:func:`facealign.codecs.soft_argmax_decode`,
    log domain, within ``ceil(3 sigma)`` cells of the argmax); the 5 points are the scheme's
    averages (eye centres = mean of the eye contour). Faces without labels (NaN) are ignored.

    Shape: ``heatmaps (B, K, h, w)``, ``five (B, 5, 2)`` in heatmap cells -> scalar.
    """
    coords, _ = soft_argmax_decode(heatmaps, beta=beta if beta > 0 else 2.0, radius=int(math.ceil(3 * sigma)))
    pred5 = five_point_matrix(scheme, dtype=coords.dtype).to(coords.device) @ coords
    ok = torch.isfinite(five).all(dim=-1)
    if not bool(ok.any()):
        return heatmaps.sum() * 0.0
    err = torch.linalg.vector_norm(pred5 - torch.nan_to_num(five), dim=-1)
    return err[ok].mean()
