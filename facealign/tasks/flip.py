"""The flip test: the output of the mirrored crop, mapped back to the unmirrored face, and the network's
output for a batch of crops with it merged in (Earp et al. Sec. 5.1: +0.6 AUC)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .base import CropTask

__all__ = ["flip_coordinates", "flip_heatmaps", "predict_crops"]


@torch.no_grad()
def predict_crops(model: nn.Module, images: torch.Tensor, *, task: CropTask, flip_test: bool) -> Any:
    """The network's output for a batch of aligned crops ``(B, 3, S, S)``, merged with the output of
    the mirrored crops by ``task.merge_flip`` when ``flip_test``."""
    out = model(images)
    if flip_test:
        out = task.merge_flip(out, model(images.flip(-1)))
    return out


def flip_heatmaps(heatmaps: torch.Tensor, flip_index: Sequence[int]) -> torch.Tensor:
    """Maps of a mirrored input, mapped back to the unmirrored face: mirror each map along x and
    re-index channels with the scheme's flip map. Shape: ``(..., K, h, w) -> (..., K, h, w)``.

    Cell ``j`` of a ``w``-wide stride-``s`` map covers input ``x = (j + 0.5) s - 0.5``; mirroring the
    input (``x -> S - 1 - x``) sends it to cell ``w - 1 - j``, so an array flip is exact. The same
    holds one level down for HIH's decimal maps (the fraction ``f`` of a cell becomes ``1 - f``).
    """
    return heatmaps.flip(-1)[..., list(flip_index), :, :]


def flip_coordinates(points: torch.Tensor, flip_index: Sequence[int], input_size: int) -> torch.Tensor:
    """Input-pixel points predicted on a mirrored crop, mapped back: ``x -> S - 1 - x`` and the flip map.
    Shape: ``(B, K, 2) -> (B, K, 2)``."""
    out = points[:, list(flip_index)].clone()
    out[..., 0] = (input_size - 1) - out[..., 0]
    return out
