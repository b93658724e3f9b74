"""The ``hih`` task: HIH's integer heatmaps of every stack ``(B, S, K, h, w)`` + decimal heatmaps
``(B, K, h_d, w_d)`` (Lan et al., "HIH: Towards More Accurate Face Alignment via Heatmap in Heatmap", 2022)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..card import ModelCard
from ..codecs import HIHCodec
from ..landmarks import LandmarkScheme
from ..losses import stacked_mse_loss
from ..losses.hih_loss import ALPHA_TINY, csc_loss
from .base import finite_points
from .flip import flip_heatmaps

__all__ = ["HIHTask"]


class HIHTask:
    """Targets: :meth:`HIHCodec.encode` (integer Gaussians + decimal maps of each point's fraction).

    Loss (Eq. 6 with intermediate supervision): the MSE of every stack's integer maps, summed over stacks
    (:func:`~facealign.losses.stacked_mse_loss`), plus ``alpha`` times the coordinate soft-classification
    loss (Eq. 5, :func:`~facealign.losses.csc_loss`) of the decimal maps (``alpha`` = 0.1 for HIH_T,
    Sec. IV-A). Decoding: :meth:`HIHCodec.decode` (Eq. 4) of the last stack. Flip test averages integer
    maps and decimal logits, both mirrored exactly.
    """

    kind: ClassVar[str] = "hih"
    names: ClassVar[tuple[str, ...]] = ("integer", "decimal")
    loss_names: ClassVar[tuple[str, ...]] = ("hih",)
    loss_args: ClassVar[tuple[str, ...]] = ("alpha", "temperature")

    def __init__(self, codec: HIHCodec, scheme: LandmarkScheme, *, alpha: float = ALPHA_TINY, temperature: float = 1.0) -> None:
        if not temperature > 0:
            raise ValueError(f"HIH loss: temperature must be positive, got {temperature}")
        self.codec, self.scheme, self.alpha = codec, scheme, float(alpha)
        #: Softmax temperature of the CSC loss. Eq. 5 has none (1); below 1 sharpens the targets' softmax
        #: over the decimal cells (at T = 1 the softmax of Gaussian values in [0, 1] over 4 x 4 cells peaks
        #: at ~0.14 against 0.0625 uniform: a weak signal, see configs/experiments/hih_cpu_68_t01.toml).
        self.temperature = float(temperature)

    @classmethod
    def from_card(cls, card: ModelCard, model: Any, scheme: LandmarkScheme, *, loss: str, **loss_args: float) -> HIHTask:
        from ..models.hih import PAPER_DECIMAL_SIGMA  # here: the models import the task registry

        codec = HIHCodec(card.input_size, card.heatmap_size, int(model.decimal_size), card.sigma, PAPER_DECIMAL_SIGMA)
        return cls(codec, scheme, **loss_args)

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        integer, decimal, weights = self.codec.encode(*finite_points(points, visible))
        return {"integer": integer, "decimal": decimal, "weights": weights}

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        w = batch["weights"]
        integer = stacked_mse_loss(out.integer, batch["integer"], w)
        csc = csc_loss(out.decimal, batch["decimal"], w, temperature=self.temperature)
        return integer + self.alpha * csc, {"integer": integer, "csc": csc}

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        fi = self.scheme.flip_index
        return out._replace(
            integer=0.5 * (out.integer + flip_heatmaps(mirrored.integer, fi)),
            decimal=0.5 * (out.decimal + flip_heatmaps(mirrored.decimal, fi)),
        )

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.integer[:, -1], out.decimal)
