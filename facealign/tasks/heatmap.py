"""The ``heatmap`` task: one Gaussian heatmap per point, ``(B, K, h, w)`` (Earp et al.; the default models)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..card import ModelCard
from ..codecs import HeatmapCodec
from ..landmarks import LandmarkScheme
from ..losses import adaptive_wing_loss, l1_loss, mse_loss
from .base import check_loss, finite_points
from .flip import flip_heatmaps

__all__ = ["HeatmapTask"]


class HeatmapTask:
    """Targets: :meth:`HeatmapCodec.encode` (Gaussians of the card's sigma). Loss: Adaptive Wing (Wang et
    al. 2019, Eq. 6-8, with its weight map) by default, or weighted MSE / L1. Decoding: the card's decoder
    (DARK by default). Flip test: averages the maps, mirrored exactly (:func:`flip_heatmaps`)."""

    kind: ClassVar[str] = "heatmap"
    names: ClassVar[tuple[str, ...]] = ("heatmaps",)
    #: ``loss(pred, target, weights) -> scalar`` by name; the first is the default.
    LOSSES: ClassVar[dict[str, Any]] = {"awing": adaptive_wing_loss, "mse": mse_loss, "l1": l1_loss}
    loss_names: ClassVar[tuple[str, ...]] = tuple(LOSSES)
    loss_args: ClassVar[tuple[str, ...]] = ()

    def __init__(self, codec: HeatmapCodec, scheme: LandmarkScheme, *, loss: str = "awing") -> None:
        self.codec, self.scheme = codec, scheme
        self.loss_fn = self.LOSSES[check_loss(self.kind, self.loss_names, loss)]

    @classmethod
    def from_card(cls, card: ModelCard, model: Any, scheme: LandmarkScheme, *, loss: str) -> HeatmapTask:
        return cls(HeatmapCodec(card.input_size, card.heatmap_size, card.sigma, decoder=card.decoder), scheme, loss=loss)

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        heatmaps, weights = self.codec.encode(*finite_points(points, visible))
        return {"heatmaps": heatmaps, "weights": weights}

    def loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        value = self.loss_fn(out, batch["heatmaps"], batch["weights"])
        return value, {"heatmap": value}

    def merge_flip(self, out: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
        return 0.5 * (out + flip_heatmaps(mirrored, self.scheme.flip_index))

    def decode(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out)

    def point_heatmaps(self, out: torch.Tensor) -> torch.Tensor:
        """The ``(B, K, h, w)`` maps centred on the sub-pixel points, for :func:`facealign.losses.five_point_loss`."""
        return out
