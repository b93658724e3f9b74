"""The ``bottomup`` task: FoxNet's landmark segmentation ``(B, K, h, w)`` + pixel embeddings ``(B, n, h, w)``
of whole photos (Fox et al.; many faces per image, trained and validated by
:class:`facealign.engine.bottomup_trainer.BottomUpTrainer`, run by :class:`facealign.bottomup.FoxNetPredictor`)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..card import ModelCard
from ..codecs.bottomup import BottomUpCodec
from ..landmarks import LandmarkScheme
from ..losses.fox_loss import FoxNetLoss

__all__ = ["BottomUpTask"]


class BottomUpTask:
    """Targets: :meth:`BottomUpCodec.encode` of a canvas's faces (the multi-face datasets call it). Loss:
    :class:`~facealign.losses.FoxNetLoss` (Eq. 5, the paper's settings; no ``loss_args``), logged as its
    ``segmentation`` and ``fox`` terms. Decoding: :meth:`BottomUpCodec.decode` per photo (grouping the
    peaks into faces). No flip test and no crops: not a :class:`~facealign.tasks.CropTask`."""

    kind: ClassVar[str] = "bottomup"
    names: ClassVar[tuple[str, ...]] = ("segmentation", "embedding")
    loss_names: ClassVar[tuple[str, ...]] = ("fox",)
    loss_args: ClassVar[tuple[str, ...]] = ()

    def __init__(self, codec: BottomUpCodec) -> None:
        self.codec, self.loss_fn = codec, FoxNetLoss()

    @classmethod
    def from_card(cls, card: ModelCard, model: Any, scheme: LandmarkScheme, *, loss: str) -> BottomUpTask:
        return cls(
            BottomUpCodec(input_size=card.input_size, heatmap_size=card.heatmap_size, num_points=card.num_points, sigma=card.sigma)
        )

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        terms = self.loss_fn(out, batch)
        return terms.total, {"segmentation": terms.segmentation, "fox": terms.fox.total}
