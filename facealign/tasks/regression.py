"""The ``regression`` task: coordinates regressed directly, ``(B, K, 2)`` input pixels (SCC and its FC baseline)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..card import ModelCard
from ..landmarks import LandmarkScheme
from ..losses import l1_loss, soft_wing_loss
from .base import check_loss, finite_points
from .flip import flip_coordinates

__all__ = ["RegressionTask"]


class RegressionTask:
    """Targets: the points themselves (no codec: the network's output is the decoded form). Loss: Soft
    Wing (Zhu et al. Eq. 9) on pixels by default, or L1. Decoding is the identity; regression gives no
    per-point confidence, so every score is 1. Flip test: :func:`flip_coordinates`. The cards of
    regression models give the input size as ``heatmap_size``; their ``sigma`` is unused."""

    kind: ClassVar[str] = "regression"
    names: ClassVar[tuple[str, ...]] = ("points",)
    #: ``loss(pred_px, target_px, weights) -> scalar`` by name; the first is the default.
    LOSSES: ClassVar[dict[str, Any]] = {"softwing": soft_wing_loss, "l1": l1_loss}
    loss_names: ClassVar[tuple[str, ...]] = tuple(LOSSES)
    loss_args: ClassVar[tuple[str, ...]] = ()

    def __init__(self, scheme: LandmarkScheme, input_size: int, *, loss: str = "softwing") -> None:
        self.scheme, self.input_size = scheme, int(input_size)
        self.loss_fn = self.LOSSES[check_loss(self.kind, self.loss_names, loss)]

    @classmethod
    def from_card(cls, card: ModelCard, model: Any, scheme: LandmarkScheme, *, loss: str) -> RegressionTask:
        return cls(scheme, card.input_size, loss=loss)

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = finite_points(points, visible)
        coords = np.where(keep[:, None], pts, 0.0).astype(np.float32)
        return {"coords": coords, "weights": keep.astype(np.float32)}

    def loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        value = self.loss_fn(out, batch["coords"], batch["weights"])
        return value, {"coords": value}

    def merge_flip(self, out: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
        return 0.5 * (out + flip_coordinates(mirrored, self.scheme.flip_index, self.input_size))

    def decode(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return out, torch.ones(out.shape[:2], dtype=out.dtype, device=out.device)
