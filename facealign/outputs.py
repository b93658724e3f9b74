"""What a network's output means: one adapter per output kind of :data:`facealign.models.zoo.OUTPUT_KINDS`.

An adapter is the single place that knows, for one kind of network output, how the training targets
of a face are made, which loss compares output and targets, how the output of a mirrored crop is
merged back (flip test) and how the output decodes to input-pixel coordinates. The trainer, the
validation loop, ONNX export and :class:`facealign.Aligner` all go through it, so a model family
plugs into training and inference by registering a card whose ``output`` names an adapter here.

Every adapter follows :class:`OutputAdapter`:

* ``targets(points (K, 2) input px, visible (K,) bool) -> dict[str, np.ndarray]``: one face's
  targets (numpy, built in data-loader workers); always holds ``"weights" (K,)``;
* ``loss(out, batch) -> (scalar, {part: scalar})``: ``batch`` holds the targets stacked by the loader;
* ``to_arrays(out) -> tuple[Tensor, ...]`` and ``from_arrays(arrays) -> out``: the network's output as
  a flat tuple of tensors (the ONNX graph's outputs, in :attr:`names` order) and back;
* ``merge_flip(out, out_mirrored) -> out``: average with the output of the mirrored crop, mapped back
  to the unmirrored face with the scheme's 0-based flip map;
* ``decode(out) -> (coords (B, K, 2) input px, scores (B, K))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .codecs import HeatmapCodec, HIHCodec
from .codecs.offsets import OffsetCodec, mirror_offset_maps, mirror_offsets
from .landmarks import LandmarkScheme
from .losses import adaptive_wing_loss, l1_loss, mse_loss, soft_wing_loss
from .losses.mse import check_pair, weighted_reduce
from .losses.hih_loss import ALPHA_TINY, csc_loss
from .card import ModelCard

__all__ = [
    "HEATMAP_LOSSES",
    "HIHAdapter",
    "LOSS_ARGS",
    "OUTPUT_NAMES",
    "HeatmapAdapter",
    "OffsetMapAdapter",
    "OffsetValueAdapter",
    "OutputAdapter",
    "PropagationAdapter",
    "RegressionAdapter",
    "flip_coordinates",
    "flip_heatmaps",
    "make_adapter",
    "predict_crops",
]

#: The network's outputs, flattened, per output kind: the ONNX graph's output names, in order.
OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    "heatmap": ("heatmaps",),
    "hih": ("integer", "decimal"),
    "regression": ("points",),
    "propagation": ("heatmaps", "boundaries"),
    "offset_value": ("integer", "offsets"),
    "offset_map": ("integer", "offset_maps"),
}
#: Heatmap losses by name (``loss(pred, target, weights) -> scalar``).
HEATMAP_LOSSES = {"mse": mse_loss, "l1": l1_loss, "awing": adaptive_wing_loss}
#: Coordinate losses of regression models by name (``loss(pred_px, target_px, weights) -> scalar``).
COORD_LOSSES = {"softwing": soft_wing_loss, "l1": l1_loss}
#: Where a non-finite point is parked before encoding (far outside any map; its weight is 0).
_FAR_AWAY = -1e6


class OutputAdapter(Protocol):
    names: tuple[str, ...]

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]: ...

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...

    def to_arrays(self, out: Any) -> tuple[torch.Tensor, ...]: ...

    def from_arrays(self, arrays: Sequence[torch.Tensor]) -> Any: ...

    def merge_flip(self, out: Any, mirrored: Any) -> Any: ...

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]: ...


@torch.no_grad()
def predict_crops(model: nn.Module, images: torch.Tensor, *, adapter: OutputAdapter, flip_test: bool) -> Any:
    """The network's output for a batch of aligned crops ``(B, 3, S, S)``, merged with the output of
    the mirrored crops when ``flip_test`` (Earp et al. Sec. 5.1: +0.6 AUC)."""
    out = model(images)
    if flip_test:
        out = adapter.merge_flip(out, model(images.flip(-1)))
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


def _finite_points(points: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = np.isfinite(points).all(axis=1)
    keep = finite & np.asarray(visible, dtype=bool)
    return np.where(finite[:, None], points, _FAR_AWAY), keep


class HeatmapAdapter:
    """One heatmap per point, ``(B, K, h, w)`` (Earp et al.; decoded by the card's decoder, DARK by default)."""

    names = OUTPUT_NAMES["heatmap"]

    def __init__(self, codec: HeatmapCodec, scheme: LandmarkScheme, *, loss: str = "awing") -> None:
        if loss not in HEATMAP_LOSSES:
            raise ValueError(f"unknown heatmap loss {loss!r}; expected one of {sorted(HEATMAP_LOSSES)}")
        self.codec, self.scheme, self.loss_fn = codec, scheme, HEATMAP_LOSSES[loss]

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = _finite_points(points, visible)
        heatmaps, weights = self.codec.encode(pts, keep)
        return {"heatmaps": heatmaps, "weights": weights}

    def loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        value = self.loss_fn(out, batch["heatmaps"], batch["weights"])
        return value, {"heatmap": value}

    def to_arrays(self, out: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (out,)

    def from_arrays(self, arrays: Sequence[torch.Tensor]) -> torch.Tensor:
        return arrays[0]

    def merge_flip(self, out: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
        return 0.5 * (out + flip_heatmaps(mirrored, self.scheme.flip_index))

    def decode(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out)

    def point_heatmaps(self, out: torch.Tensor) -> torch.Tensor:
        """The ``(B, K, h, w)`` maps centred on the sub-pixel points, for the 5-point soft-argmax loss
        (:func:`facealign.engine.losses.five_point_loss`)."""
        return out


class HIHAdapter:
    """HIH's integer heatmaps of every stack ``(B, S, K, h, w)`` + decimal heatmaps ``(B, K, h_d, w_d)``.

    Loss (Lan et al. Eq. 6 with intermediate supervision): the MSE of every stack's integer maps, summed
    over stacks, plus ``alpha`` times the coordinate soft-classification loss (Eq. 5) of the decimal maps
    (``alpha`` = 0.1 for HIH_T, Sec. IV-A). Decoding: :meth:`facealign.codecs.HIHCodec.decode` (Eq. 4) of
    the last stack. Flip test averages integer maps and decimal logits, both mirrored exactly.
    """

    names = OUTPUT_NAMES["hih"]

    def __init__(self, codec: HIHCodec, scheme: LandmarkScheme, *, alpha: float = ALPHA_TINY, temperature: float = 1.0) -> None:
        from .models.hih import HIHOutput

        if not temperature > 0:
            raise ValueError(f"HIH loss: temperature must be positive, got {temperature}")
        self.codec, self.scheme, self.alpha, self._output = codec, scheme, float(alpha), HIHOutput
        #: Softmax temperature of the CSC loss. Eq. 5 has none (1); below 1 sharpens the targets' softmax
        #: over the decimal cells (at T = 1 the softmax of Gaussian values in [0, 1] over 4 x 4 cells peaks
        #: at ~0.14 against 0.0625 uniform: a weak signal, see configs/experiments/hih_cpu_68_t01.toml).
        self.temperature = float(temperature)

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = _finite_points(points, visible)
        integer, decimal, weights = self.codec.encode(pts, keep)
        return {"integer": integer, "decimal": decimal, "weights": weights}

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        w = batch["weights"]
        integer = sum(mse_loss(out.integer[:, s], batch["integer"], w) for s in range(out.integer.shape[1]))
        csc = csc_loss(out.decimal, batch["decimal"], w, temperature=self.temperature)
        return integer + self.alpha * csc, {"integer": integer, "csc": csc}

    def to_arrays(self, out: Any) -> tuple[torch.Tensor, ...]:
        return (out.integer, out.decimal)

    def from_arrays(self, arrays: Sequence[torch.Tensor]) -> Any:
        return self._output(*arrays)

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        fi = self.scheme.flip_index
        return self._output(
            0.5 * (out.integer + flip_heatmaps(mirrored.integer, fi)),
            0.5 * (out.decimal + flip_heatmaps(mirrored.decimal, fi)),
        )

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.integer[:, -1], out.decimal)


class PropagationAdapter:
    """PropagationNet's landmark heatmaps of every stack ``(B, S, K, h, w)`` and boundary heatmaps
    ``(B, S, M, h, w)`` (``M = 0`` without the propagation module).

    Targets: Gaussian landmark heatmaps (:class:`~facealign.codecs.HeatmapCodec`) and boundary heatmaps
    (:class:`~facealign.codecs.BoundaryCodec`). Loss: Huang et al. Eq. 5, Focal Wing on landmarks plus
    ``beta`` times Focal Wing on boundaries, over every stack
    (:func:`~facealign.losses.focal_wing.propagation_loss`); our faces carry no attribute flags, so the
    focal factor is 1 and Focal Wing is Adaptive Wing. Decoding: the last stack's landmark heatmaps
    with the card's decoder (the paper's quarter-pixel shift for ``propnet_wflw_98``).
    """

    names = OUTPUT_NAMES["propagation"]

    def __init__(self, codec: HeatmapCodec, scheme: LandmarkScheme, *, num_boundaries: int) -> None:
        from .codecs import BoundaryCodec
        from .models.propagation import PropagationOutput

        self.codec, self.scheme, self._output = codec, scheme, PropagationOutput
        self.boundary_codec = (
            BoundaryCodec(scheme, codec.input_size, codec.heatmap_size, codec.sigma) if num_boundaries else None
        )
        if self.boundary_codec is not None and self.boundary_codec.num_boundaries != num_boundaries:
            raise ValueError(
                f"the model predicts {num_boundaries} boundaries but scheme {scheme.name} has "
                f"{self.boundary_codec.num_boundaries}"
            )

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = _finite_points(points, visible)
        heatmaps, weights = self.codec.encode(pts, keep)
        if self.boundary_codec is None:
            size = self.codec.heatmap_size
            return {"heatmaps": heatmaps, "weights": weights, "boundaries": np.zeros((0, size, size), np.float32),
                    "boundary_weights": np.zeros(0, np.float32)}
        boundaries, boundary_weights = self.boundary_codec.encode(pts, keep)
        return {"heatmaps": heatmaps, "weights": weights, "boundaries": boundaries, "boundary_weights": boundary_weights}

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from .losses.focal_wing import propagation_loss

        return propagation_loss(
            out.heatmaps, out.boundaries, batch["heatmaps"], batch["boundaries"], batch["weights"], batch["boundary_weights"]
        )

    def to_arrays(self, out: Any) -> tuple[torch.Tensor, ...]:
        return (out.heatmaps, out.boundaries)

    def from_arrays(self, arrays: Sequence[torch.Tensor]) -> Any:
        return self._output(*arrays)

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        heatmaps = 0.5 * (out.heatmaps + flip_heatmaps(mirrored.heatmaps, self.scheme.flip_index))
        if self.boundary_codec is None:
            return self._output(heatmaps, out.boundaries)
        bfi = self.boundary_codec.flip_index
        return self._output(heatmaps, 0.5 * (out.boundaries + flip_heatmaps(mirrored.boundaries, bfi)))

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.heatmaps[:, -1])

    def point_heatmaps(self, out: Any) -> torch.Tensor:
        """The last stack's landmark maps (the decoded ones), for the 5-point soft-argmax loss."""
        return out.heatmaps[:, -1]


class RegressionAdapter:
    """Coordinates regressed directly, ``(B, K, 2)`` input pixels (SCC and its FC baseline).

    Loss: Soft Wing (Zhu et al. Eq. 9) on pixels by default. Decoding is the identity; regression
    gives no per-point confidence, so every score is 1.
    """

    names = OUTPUT_NAMES["regression"]

    def __init__(self, scheme: LandmarkScheme, input_size: int, *, loss: str = "softwing") -> None:
        if loss not in COORD_LOSSES:
            raise ValueError(f"unknown coordinate loss {loss!r}; expected one of {sorted(COORD_LOSSES)}")
        self.scheme, self.input_size, self.loss_fn = scheme, int(input_size), COORD_LOSSES[loss]

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = _finite_points(points, visible)
        coords = np.where(keep[:, None], pts, 0.0).astype(np.float32)
        return {"coords": coords, "weights": keep.astype(np.float32)}

    def loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        value = self.loss_fn(out, batch["coords"], batch["weights"])
        return value, {"coords": value}

    def to_arrays(self, out: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (out,)

    def from_arrays(self, arrays: Sequence[torch.Tensor]) -> torch.Tensor:
        return arrays[0]

    def merge_flip(self, out: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
        return 0.5 * (out + flip_coordinates(mirrored, self.scheme.flip_index, self.input_size))

    def decode(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return out, torch.ones(out.shape[:2], dtype=out.dtype, device=out.device)


#: Loss settings each output kind takes through ``make_adapter(loss_args=...)`` (a config's ``loss_args``).
LOSS_ARGS: dict[str, tuple[str, ...]] = {"hih": ("alpha", "temperature")}


def make_adapter(
    card: ModelCard,
    model: nn.Module,
    scheme: LandmarkScheme,
    *,
    loss: str | None = None,
    loss_args: dict[str, float] | None = None,
) -> OutputAdapter:
    """The adapter for ``card.output``, with the codec settings of ``card`` and of the built ``model``.

    ``loss`` names the training loss where the kind has a choice (heatmap: ``"awing"`` default,
    ``"mse"``, ``"l1"``; regression: ``"softwing"`` default, ``"l1"``); ``None`` takes the default.
    ``loss_args``: the loss settings of :data:`LOSS_ARGS` for the kind (HIH: ``alpha``, ``temperature``).
    """
    loss_args = dict(loss_args or {})
    allowed = LOSS_ARGS.get(card.output, ())
    unknown = sorted(set(loss_args) - set(allowed))
    if unknown:
        raise ValueError(
            f"{card.name}: loss_args {unknown} do not apply to output kind {card.output!r}; it takes {list(allowed) or 'none'}"
        )
    if card.output == "heatmap":
        codec = HeatmapCodec(card.input_size, card.heatmap_size, card.sigma, decoder=card.decoder)
        return HeatmapAdapter(codec, scheme, loss=loss or "awing")
    if card.output == "hih":
        from .models.hih import PAPER_DECIMAL_SIGMA

        codec = HIHCodec(card.input_size, card.heatmap_size, int(model.decimal_size), card.sigma, PAPER_DECIMAL_SIGMA)
        if loss not in (None, "hih"):
            raise ValueError(f"HIH models train with the HIH loss (Eq. 6); got loss={loss!r}")
        return HIHAdapter(codec, scheme, **{k: float(v) for k, v in loss_args.items()})
    if card.output == "regression":
        return RegressionAdapter(scheme, card.input_size, loss=loss or "softwing")
    if card.output == "propagation":
        if loss not in (None, "focalwing"):
            raise ValueError(f"PropagationNet trains with the Focal Wing loss (Eq. 5); got loss={loss!r}")
        codec = HeatmapCodec(card.input_size, card.heatmap_size, card.sigma, decoder=card.decoder)
        return PropagationAdapter(codec, scheme, num_boundaries=int(model.num_boundaries))
    if card.output in ("offset_value", "offset_map"):
        return _offset_adapter(card, model, scheme, loss=loss)
    raise ValueError(f"{card.name}: no output adapter for output kind {card.output!r}")


class _IntegerAndOffsets:
    """What WOV and WOM share: HIH's integer heatmaps of every stack (MSE summed over stacks, as in
    :class:`HIHAdapter`) plus ``alpha`` times a loss on the offsets at each point's cell, and targets
    from :class:`~facealign.codecs.OffsetCodec`. The paper gives no weight for the offset term; we
    give it the weight HIH_T gives its decimal term (``alpha`` = 0.1)."""

    names: tuple[str, ...]
    #: ``(pred (B, K, 2), target (B, K, 2), weights (B, K)) -> scalar``, set by each subclass.
    _offset_loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self, codec: OffsetCodec, scheme: LandmarkScheme, output: Any, *, alpha: float = ALPHA_TINY) -> None:
        self.codec, self.scheme, self._output, self.alpha = codec, scheme, output, float(alpha)

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        pts, keep = _finite_points(points, visible)
        integer, cells, offsets, weights = self.codec.encode(pts, keep)
        return {"integer": integer, "cells": cells, "offsets": offsets, "weights": weights}

    def _loss(self, out: Any, batch: dict[str, torch.Tensor], offsets: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        w = batch["weights"]
        integer = sum(mse_loss(out.integer[:, s], batch["integer"], w) for s in range(out.integer.shape[1]))
        target = batch["offsets"].to(offsets.dtype)
        offset = self._offset_loss(offsets, target, w)
        return integer + self.alpha * offset, {"integer": integer, "offset": offset}

    def to_arrays(self, out: Any) -> tuple[torch.Tensor, ...]:
        return tuple(out)

    def from_arrays(self, arrays: Sequence[torch.Tensor]) -> Any:
        return self._output(*arrays)

    def _merged_integer(self, out: Any, mirrored: Any) -> torch.Tensor:
        return 0.5 * (out.integer + flip_heatmaps(mirrored.integer, self.scheme.flip_index))


class OffsetValueAdapter(_IntegerAndOffsets):
    """WOV (Lan et al. Appendix C): integer heatmaps of every stack ``(B, S, K, h, w)`` + offsets ``(B, K, 2)``.

    Loss: integer-map MSE + ``alpha`` x L1 between predicted and true fractions (weighted per point).
    Decoding: Eq. 9, :meth:`~facealign.codecs.OffsetCodec.decode` on the last stack. Flip test averages
    the integer maps and the offsets, mirrored exactly (:func:`~facealign.codecs.mirror_offsets`).
    """

    names = OUTPUT_NAMES["offset_value"]
    _offset_loss = staticmethod(l1_loss)

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._loss(out, batch, out.offsets)

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        offsets = 0.5 * (out.offsets + mirror_offsets(mirrored.offsets, self.scheme.flip_index))
        return self._output(self._merged_integer(out, mirrored), offsets)

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.integer[:, -1], out.offsets)


def _smooth_l1(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted Smooth L1 (beta 1, CornerNet's offset loss), mean over all elements. Shape: ``(B, K, 2)`` -> scalar."""
    check_pair(pred, target, weights, name="smooth_l1")
    return weighted_reduce(F.smooth_l1_loss(pred, target, reduction="none"), weights, "mean", name="smooth_l1")


class OffsetMapAdapter(_IntegerAndOffsets):
    """WOM (Lan et al. Appendix B): integer heatmaps of every stack ``(B, S, K, h, w)`` + offset maps
    ``(B, G, 2, h, w)`` (``G = 1``: the paper's shared pair; ``G = K``: one pair per point).

    Loss: integer-map MSE + ``alpha`` x Smooth L1 ("the network utilizes the SmoothL1 loss function to
    constrain the offset map", Sec. IV-D) on the maps read at each point's true cell, against the value
    the maps can hold there (shared maps: the mean fraction of the points in that cell). Decoding: Eq. 8,
    :meth:`~facealign.codecs.OffsetCodec.decode_maps` on the last stack. Flip test averages integer maps
    and offset maps (:func:`~facealign.codecs.mirror_offset_maps`).
    """

    names = OUTPUT_NAMES["offset_map"]
    _offset_loss = staticmethod(_smooth_l1)

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._loss(out, batch, self.codec.read_maps(out.offset_maps, batch["cells"]))

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        maps = 0.5 * (out.offset_maps + mirror_offset_maps(mirrored.offset_maps, self.scheme.flip_index))
        return self._output(self._merged_integer(out, mirrored), maps)

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode_maps(out.integer[:, -1], out.offset_maps)


def _offset_adapter(card: ModelCard, model: nn.Module, scheme: LandmarkScheme, *, loss: str | None) -> OutputAdapter:
    """:func:`make_adapter` for ``offset_value`` (WOV, loss ``"wov"``) and ``offset_map`` (WOM, loss ``"wom"``)."""
    from .models.hih import OffsetMapOutput, OffsetValueOutput

    value = card.output == "offset_value"
    name = "wov" if value else "wom"
    if loss not in (None, name):
        raise ValueError(f"{card.output} models train with the {name!r} loss (integer MSE + offset term); got loss={loss!r}")
    codec = OffsetCodec(card.input_size, card.heatmap_size, card.sigma, shared_maps=not value and model.offset_groups == 1)
    if value:
        return OffsetValueAdapter(codec, scheme, OffsetValueOutput)
    return OffsetMapAdapter(codec, scheme, OffsetMapOutput)
