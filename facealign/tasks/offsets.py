"""The ``offset_value`` and ``offset_map`` tasks: HIH's comparison heads (Lan et al. Appendix B-C),
integer heatmaps of every stack ``(B, S, K, h, w)`` plus sub-cell offsets as values (WOV) or maps (WOM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from ..card import ModelCard
from ..codecs.offsets import OffsetCodec, mirror_offset_maps, mirror_offsets
from ..landmarks import LandmarkScheme
from ..losses import l1_loss, smooth_l1_loss, stacked_mse_loss
from ..losses.hih_loss import ALPHA_TINY
from .base import finite_points
from .flip import flip_heatmaps

__all__ = ["OffsetMapTask", "OffsetValueTask"]


class _IntegerAndOffsets:
    """What WOV and WOM share: HIH's integer heatmaps of every stack (MSE summed over stacks,
    :func:`~facealign.losses.stacked_mse_loss`, as in :class:`~facealign.tasks.HIHTask`) plus ``alpha``
    times a loss on the offsets at each point's cell, and targets from :class:`~facealign.codecs.OffsetCodec`.
    The paper gives no weight for the offset term; we give it the weight HIH_T gives its decimal term
    (``alpha`` = 0.1)."""

    kind: ClassVar[str]
    names: ClassVar[tuple[str, ...]]
    loss_names: ClassVar[tuple[str, ...]]
    loss_args: ClassVar[tuple[str, ...]] = ()
    #: ``(pred (B, K, 2), target (B, K, 2), weights (B, K)) -> scalar``, set by each subclass.
    _offset_loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self, codec: OffsetCodec, scheme: LandmarkScheme, *, alpha: float = ALPHA_TINY) -> None:
        self.codec, self.scheme, self.alpha = codec, scheme, float(alpha)

    @classmethod
    def from_card(cls, card: ModelCard, model: Any, scheme: LandmarkScheme, *, loss: str) -> Any:
        shared = cls._shared_maps(model)
        return cls(OffsetCodec(card.input_size, card.heatmap_size, card.sigma, shared_maps=shared), scheme)

    @staticmethod
    def _shared_maps(model: Any) -> bool:
        """Whether the codec reads one pair of offset maps shared by all points (WOM with ``G = 1``)."""
        return False

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        integer, cells, offsets, weights = self.codec.encode(*finite_points(points, visible))
        return {"integer": integer, "cells": cells, "offsets": offsets, "weights": weights}

    def _loss(self, out: Any, batch: dict[str, torch.Tensor], offsets: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        w = batch["weights"]
        integer = stacked_mse_loss(out.integer, batch["integer"], w)
        offset = self._offset_loss(offsets, batch["offsets"].to(offsets.dtype), w)
        return integer + self.alpha * offset, {"integer": integer, "offset": offset}

    def _merged_integer(self, out: Any, mirrored: Any) -> torch.Tensor:
        return 0.5 * (out.integer + flip_heatmaps(mirrored.integer, self.scheme.flip_index))


class OffsetValueTask(_IntegerAndOffsets):
    """WOV (Appendix C): integer heatmaps of every stack + offsets ``(B, K, 2)``.

    Loss: integer-map MSE + ``alpha`` x L1 between predicted and true fractions (weighted per point).
    Decoding: Eq. 9, :meth:`~facealign.codecs.OffsetCodec.decode` on the last stack. Flip test averages
    the integer maps and the offsets, mirrored exactly (:func:`~facealign.codecs.mirror_offsets`).
    """

    kind: ClassVar[str] = "offset_value"
    names: ClassVar[tuple[str, ...]] = ("integer", "offsets")
    loss_names: ClassVar[tuple[str, ...]] = ("wov",)
    _offset_loss = staticmethod(l1_loss)

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._loss(out, batch, out.offsets)

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        offsets = 0.5 * (out.offsets + mirror_offsets(mirrored.offsets, self.scheme.flip_index))
        return out._replace(integer=self._merged_integer(out, mirrored), offsets=offsets)

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.integer[:, -1], out.offsets)


class OffsetMapTask(_IntegerAndOffsets):
    """WOM (Appendix B): integer heatmaps of every stack + offset maps ``(B, G, 2, h, w)`` (``G = 1``: the
    paper's shared pair; ``G = K``: one pair per point).

    Loss: integer-map MSE + ``alpha`` x Smooth L1 ("the network utilizes the SmoothL1 loss function to
    constrain the offset map", Sec. IV-D; :func:`~facealign.losses.smooth_l1_loss`) on the maps read at
    each point's true cell, against the value the maps can hold there (shared maps: the mean fraction of
    the points in that cell). Decoding: Eq. 8, :meth:`~facealign.codecs.OffsetCodec.decode_maps` on the
    last stack. Flip test averages integer maps and offset maps (:func:`~facealign.codecs.mirror_offset_maps`).
    """

    kind: ClassVar[str] = "offset_map"
    names: ClassVar[tuple[str, ...]] = ("integer", "offset_maps")
    loss_names: ClassVar[tuple[str, ...]] = ("wom",)
    _offset_loss = staticmethod(smooth_l1_loss)

    @staticmethod
    def _shared_maps(model: Any) -> bool:
        return int(model.offset_groups) == 1

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._loss(out, batch, self.codec.read_maps(out.offset_maps, batch["cells"]))

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        maps = 0.5 * (out.offset_maps + mirror_offset_maps(mirrored.offset_maps, self.scheme.flip_index))
        return out._replace(integer=self._merged_integer(out, mirrored), offset_maps=maps)

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode_maps(out.integer[:, -1], out.offset_maps)
