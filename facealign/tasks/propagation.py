"""The ``propagation`` task: PropagationNet's landmark heatmaps of every stack ``(B, S, K, h, w)`` and
boundary heatmaps ``(B, S, M, h, w)`` (Huang et al., "PropagationNet", 2021; ``M = 0`` without the
propagation module)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..card import ModelCard
from ..codecs import BoundaryCodec, HeatmapCodec
from ..landmarks import LandmarkScheme
from ..losses import propagation_loss
from .base import check_loss, finite_points
from .flip import flip_heatmaps

__all__ = ["PropagationTask"]


class PropagationTask:
    """Targets: Gaussian landmark heatmaps (:class:`~facealign.codecs.HeatmapCodec`) and boundary heatmaps
    (:class:`~facealign.codecs.BoundaryCodec`). Loss (:func:`~facealign.losses.propagation_loss`, every
    stack): ``"focalwing"`` (the default) is Eq. 5, Focal Wing (Eq. 3) on landmarks plus ``beta`` times
    Focal Wing (Eq. 4) on boundaries, the focal factors (Eq. 2) from the batch's ``attributes`` flags
    ``(B, C)`` where it has them; ``"awing"`` is the paper's ablation baseline (Sec. 4.4, Table 7's AWing
    column: "trained with adaptive wing loss"), Eq. 5 with Adaptive Wing (Eq. 1, AWing's weighted loss map,
    Sec. 4.3's constants) in place of Focal Wing on both terms, every sample weighted 1. The paper says no
    more of the boundary term under AWing (its AWing baseline has no propagation module); we keep it, so that
    the loss is the one change. Our data sets carry no attribute flags, so there the two losses are the same
    number. Decoding: the last stack's landmark heatmaps with the card's decoder (the paper's quarter-pixel
    shift for ``propnet_wflw_98``). Flip test: landmark maps with the scheme's flip map, boundary maps with
    the boundaries' own (left and right contours swap).
    """

    kind: ClassVar[str] = "propagation"
    names: ClassVar[tuple[str, ...]] = ("heatmaps", "boundaries")
    loss_names: ClassVar[tuple[str, ...]] = ("focalwing", "awing")
    loss_args: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, codec: HeatmapCodec, scheme: LandmarkScheme, *, num_boundaries: int, loss: str = "focalwing"
    ) -> None:
        self.codec, self.scheme = codec, scheme
        self.focal = check_loss(self.kind, self.loss_names, loss) == "focalwing"
        self.boundary_codec = (
            BoundaryCodec(scheme, codec.input_size, codec.heatmap_size, codec.sigma) if num_boundaries else None
        )
        if self.boundary_codec is not None and self.boundary_codec.num_boundaries != num_boundaries:
            raise ValueError(
                f"the model predicts {num_boundaries} boundaries but scheme {scheme.name} has "
                f"{self.boundary_codec.num_boundaries}"
            )

    @classmethod
    def from_card(cls, card: ModelCard, model: Any, scheme: LandmarkScheme, *, loss: str) -> PropagationTask:
        codec = HeatmapCodec(card.input_size, card.heatmap_size, card.sigma, decoder=card.decoder)
        return cls(codec, scheme, num_boundaries=int(model.num_boundaries), loss=loss)

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = finite_points(points, visible)
        heatmaps, weights = self.codec.encode(pts, keep)
        if self.boundary_codec is None:
            size = self.codec.heatmap_size
            boundaries, boundary_weights = np.zeros((0, size, size), np.float32), np.zeros(0, np.float32)
        else:
            boundaries, boundary_weights = self.boundary_codec.encode(pts, keep)
        return {"heatmaps": heatmaps, "weights": weights, "boundaries": boundaries, "boundary_weights": boundary_weights}

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        attributes = batch.get("attributes") if self.focal else None  # AWing: every sample weighs 1
        return propagation_loss(
            out.heatmaps,
            out.boundaries,
            batch["heatmaps"],
            batch["boundaries"],
            batch["weights"],
            batch["boundary_weights"],
            attributes=attributes,
        )

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        heatmaps = 0.5 * (out.heatmaps + flip_heatmaps(mirrored.heatmaps, self.scheme.flip_index))
        if self.boundary_codec is None:
            return out._replace(heatmaps=heatmaps)
        bfi = self.boundary_codec.flip_index
        return out._replace(heatmaps=heatmaps, boundaries=0.5 * (out.boundaries + flip_heatmaps(mirrored.boundaries, bfi)))

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.heatmaps[:, -1])

    def point_heatmaps(self, out: Any) -> torch.Tensor:
        """The last stack's landmark maps (the decoded ones), for :func:`facealign.losses.five_point_loss`."""
        return out.heatmaps[:, -1]
