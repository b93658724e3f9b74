"""ONNX export with a numeric check of ONNX Runtime against PyTorch.

* :func:`export_stage`: the whole landmark stage (uint8 crop -> normalise -> network [-> mirrored crop,
  merge] -> decode) with the model card in the graph's metadata: what ``facealign export`` writes,
  what ``scripts/export_stages.py`` ships in ``facealign/weights/`` and what ``Aligner("x.onnx")`` loads;
* :func:`export_bottomup`: a bottom-up model's stage (uint8 letterboxed photo -> normalise -> network ->
  segmentation + embedding, :class:`facealign.torch_stage.BottomUpStage`) with its card: what
  ``facealign export`` writes for FoxNet and what ``FoxNetPredictor("x.onnx")`` / ``facealign detect --model
  x.onnx`` load (the grouping after it is numpy);
* :func:`export_onnx`: the network alone (float input, raw outputs), for other runtimes.

Needs the ``[train]`` extra (torch and onnx).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .atomic import atomic_write_bytes
from .card import ModelCard, card_to_json
from .runtime import CARD_KEY, FLIP_KEY, OnnxRunner
from .torch_stage import BottomUpStage, TorchRunner, build_stage, export_onnx_bytes, stage_onnx_bytes

__all__ = [
    "BottomUpExportReport",
    "ExportReport",
    "StageExportReport",
    "bottomup_graph_bytes",
    "export_bottomup",
    "export_onnx",
    "export_stage",
    "stage_graph_bytes",
]


@dataclass(frozen=True)
class ExportReport:
    path: Path
    size_bytes: int
    max_abs_diff: float
    tolerance: float


@dataclass(frozen=True)
class StageExportReport:
    """What :func:`export_stage` wrote: max_point_diff is the largest ``|ONNX Runtime - PyTorch|`` of a
    point coordinate over the check crops, in crop pixels; max_score_diff the same for the scores."""

    path: Path
    size_bytes: int
    max_point_diff: float
    max_score_diff: float
    tolerance_px: float


@dataclass(frozen=True)
class BottomUpExportReport:
    """What :func:`export_bottomup` wrote: the largest ``|ONNX Runtime - PyTorch|`` of the segmentation
    logits and of the embeddings over the check photos."""

    path: Path
    size_bytes: int
    max_segmentation_diff: float
    max_embedding_diff: float
    tolerance: float


def export_onnx(
    model: torch.nn.Module,
    input_size: int,
    path: str | Path,
    *,
    names: Sequence[str] = ("heatmaps",),
    batch: int = 2,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Export ``model`` to ``path`` (atomically) and compare ONNX Runtime's output with PyTorch's on
    a random batch; raises ``RuntimeError`` when the largest absolute difference over all outputs
    exceeds ``tolerance``. ``names`` name the graph's outputs (the output kind's task ``names``, :mod:`facealign.tasks`).
    """
    data = export_onnx_bytes(model, input_size, names=names)
    x = np.random.default_rng(seed).standard_normal((batch, 3, input_size, input_size)).astype(np.float32)
    ref = TorchRunner(model)(x)
    got = OnnxRunner(data, threads=1)(x)
    if [g.shape for g in got] != [r.shape for r in ref]:
        raise RuntimeError(f"ONNX output shapes {[g.shape for g in got]} differ from PyTorch's {[r.shape for r in ref]}")
    diff = max(float(np.abs(g - r).max()) for g, r in zip(got, ref))
    if not diff <= tolerance:
        raise RuntimeError(f"ONNX Runtime differs from PyTorch by {diff:.3g} (> tolerance {tolerance:g}); not written")
    atomic_write_bytes(path, data)
    return ExportReport(Path(path), len(data), diff, tolerance)


def stage_graph_bytes(net: torch.nn.Module, card: ModelCard, *, flip_test: bool = False) -> bytes:
    """The landmark stage of ``net`` (:func:`facealign.torch_stage.build_stage`) as ONNX bytes, with
    ``card`` (JSON) and ``flip_test`` in its metadata (:data:`facealign.runtime.CARD_KEY`, ``FLIP_KEY``)."""
    data = stage_onnx_bytes(build_stage(net, card, flip_test=flip_test), card.input_size)
    return _with_metadata(data, {CARD_KEY: card_to_json(card), FLIP_KEY: "true" if flip_test else "false"})


def bottomup_graph_bytes(net: torch.nn.Module, card: ModelCard) -> bytes:
    """A bottom-up model's stage (:class:`facealign.torch_stage.BottomUpStage`: uint8 letterboxed photos
    ``(N, S, S, 3)`` -> :data:`facealign.bottomup.BOTTOMUP_NAMES`) as ONNX bytes, ``card`` in its metadata."""
    from .bottomup import BOTTOMUP_NAMES

    if card.output != "bottomup":
        raise ValueError(f"{card.name} is not a bottom-up model (output {card.output!r}): export its landmark stage with export_stage")
    stage = BottomUpStage(net, mean=card.mean, std=card.std)
    return _with_metadata(stage_onnx_bytes(stage, card.input_size, names=BOTTOMUP_NAMES), {CARD_KEY: card_to_json(card)})


def _with_metadata(data: bytes, props: dict[str, str]) -> bytes:
    import onnx

    proto = onnx.load_from_string(data)
    onnx.helper.set_model_props(proto, props)
    return proto.SerializeToString()


def export_stage(
    net: torch.nn.Module,
    card: ModelCard,
    path: str | Path,
    *,
    crops: np.ndarray | None = None,
    flip_test: bool = False,
    tolerance_px: float = 0.01,
) -> StageExportReport:
    """Write the landmark-stage graph of ``net`` with its card to ``path`` (atomically), after checking
    ONNX Runtime against the same stage on PyTorch on ``crops``: uint8 RGB ``(N, S, S, 3)``, best real
    aligned faces (:func:`aligned_crops`); by default 8 seeded random crops blurred with a sigma of 3 px
    (on the shipped models they give point differences of the same order as faces: 5e-5 against 1.5e-5 px).

    Raises ``ValueError`` for crops of the wrong shape and ``RuntimeError`` (nothing written) when a
    point moves by more than ``tolerance_px`` crop pixels.
    """
    size = card.input_size
    crops = np.asarray(crops) if crops is not None else _smooth_noise_crops(size)
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
        raise ValueError(f"check crops must be uint8 (N, {size}, {size}, 3), got {crops.dtype} {crops.shape}")
    data = stage_graph_bytes(net, card, flip_test=flip_test)
    ref_c, ref_s = TorchRunner(build_stage(net, card, flip_test=flip_test))(crops)
    got_c, got_s = OnnxRunner(data, threads=1)(crops)
    point_diff = float(np.abs(got_c - ref_c).max())
    score_diff = float(np.abs(got_s - ref_s).max())
    if not point_diff <= tolerance_px:
        raise RuntimeError(
            f"{card.name}: ONNX Runtime's points differ from PyTorch's by {point_diff:.3g} px "
            f"(> tolerance {tolerance_px:g} px); {path} not written"
        )
    atomic_write_bytes(path, data)
    return StageExportReport(Path(path), len(data), point_diff, score_diff, tolerance_px)


def export_bottomup(
    net: torch.nn.Module,
    card: ModelCard,
    path: str | Path,
    *,
    photos: np.ndarray | None = None,
    tolerance: float = 1e-3,
) -> BottomUpExportReport:
    """Write a bottom-up model's graph with its card to ``path`` (atomically, :func:`bottomup_graph_bytes`)
    after checking ONNX Runtime against PyTorch on ``photos``: uint8 RGB letterboxed photos ``(N, S, S, 3)``
    (:func:`facealign.bottomup.letterbox`), by default 2 seeded random images blurred with a sigma of 3 px.

    Raises ``ValueError`` for photos of the wrong shape and ``RuntimeError`` (nothing written) when a
    segmentation logit or an embedding value differs by more than ``tolerance``.
    """
    size = card.input_size
    photos = np.asarray(photos) if photos is not None else _smooth_noise_crops(size, count=2)
    if photos.dtype != np.uint8 or photos.ndim != 4 or photos.shape[1:] != (size, size, 3):
        raise ValueError(f"check photos must be uint8 (N, {size}, {size}, 3), got {photos.dtype} {photos.shape}")
    data = bottomup_graph_bytes(net, card)
    ref = TorchRunner(BottomUpStage(net, mean=card.mean, std=card.std))(photos)
    got = OnnxRunner(data, threads=1)(photos)
    seg_diff, emb_diff = (float(np.abs(g - r).max()) for g, r in zip(got, ref))
    if not max(seg_diff, emb_diff) <= tolerance:
        raise RuntimeError(
            f"{card.name}: ONNX Runtime's outputs differ from PyTorch's by {max(seg_diff, emb_diff):.3g} "
            f"(> tolerance {tolerance:g}); {path} not written"
        )
    atomic_write_bytes(path, data)
    return BottomUpExportReport(Path(path), len(data), seg_diff, emb_diff, tolerance)


def _smooth_noise_crops(size: int, *, count: int = 8, sigma: float = 3.0, seed: int = 0) -> np.ndarray:
    import cv2

    noise = np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    return np.stack([cv2.GaussianBlur(c, (0, 0), sigma) for c in noise])


def aligned_crops(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Every face RetinaFace finds in ``images`` (uint8 RGB), aligned as the :class:`facealign.Aligner`
    aligns them: uint8 RGB crops ``(N, size, size, 3)``, the check input of :func:`export_stage`."""
    from .detector import RetinaFaceDetector
    from .geometry import align_matrix, warp

    detector = RetinaFaceDetector()
    crops = [warp(rgb, align_matrix(d.points, size), size) for rgb in images for d in detector.detect(rgb)]
    if not crops:
        raise ValueError("no face found in the check images: give photos with faces")
    return np.stack(crops)
