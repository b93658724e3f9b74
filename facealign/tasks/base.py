"""What every task shares: the :class:`Task` protocol, its top-down form :class:`CropTask`, and the
checks :func:`facealign.tasks.make_task` runs before a task is built.

A task is what one output kind of network means for training and decoding. It owns the kind's codec
(targets are its ``encode``, predictions its ``decode``), picks the kind's loss from
:mod:`facealign.losses`, and merges the output of a mirrored crop back (flip test). Tasks are plain
classes following these protocols (no base class to inherit): each one is a small file of this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["CropTask", "Task", "check_loss", "check_loss_args", "finite_points"]

#: Where a non-finite point is parked before encoding (far outside any map; its weight is 0).
FAR_AWAY = -1e6


@runtime_checkable
class Task(Protocol):
    """One output kind: ``kind`` (the card's ``output``), ``names`` (the network's outputs flattened, in
    order: the ONNX graph's output names), ``loss_names`` (the losses it trains with, the first the
    default) and ``loss_args`` (the loss settings a config's ``loss_args`` may give it).

    ``from_card(card, model, scheme, *, loss, **loss_args)`` builds it with the codec settings of the
    card and of the built model; ``loss(out, batch) -> (total, {part: scalar})`` with ``batch`` the
    targets stacked by the loader.
    """

    kind: ClassVar[str]
    names: ClassVar[tuple[str, ...]]
    loss_names: ClassVar[tuple[str, ...]]
    loss_args: ClassVar[tuple[str, ...]]

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


@runtime_checkable
class CropTask(Task, Protocol):
    """A top-down task: one aligned crop, one face.

    * ``targets(points (K, 2) input px, visible (K,) bool) -> dict[str, np.ndarray]``: one face's
      targets (numpy, built in data-loader workers); always holds ``"weights" (K,)``;
    * ``merge_flip(out, out_mirrored) -> out``: average with the output of the mirrored crop, mapped
      back to the unmirrored face with the scheme's 0-based flip map;
    * ``decode(out) -> (coords (B, K, 2) input px, scores (B, K))``.

    A task whose output holds maps centred on the points also has ``point_heatmaps(out) -> (B, K, h, w)``
    (the 5-point soft-argmax loss, :func:`facealign.losses.five_point_loss`, reads them).
    """

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]: ...

    def merge_flip(self, out: Any, mirrored: Any) -> Any: ...

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]: ...


def finite_points(points: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points ready to encode and which of them count: non-finite points are parked at :data:`FAR_AWAY`
    and, with the invisible ones, get ``keep = False``. Shape: ``(K, 2), (K,) -> (K, 2), (K,) bool``."""
    finite = np.isfinite(points).all(axis=1)
    keep = finite & np.asarray(visible, dtype=bool)
    return np.where(finite[:, None], points, FAR_AWAY), keep


def check_loss(kind: str, loss_names: Sequence[str], loss: str) -> str:
    """``loss`` if output kind ``kind`` trains with it, else a ``ValueError`` naming the choices."""
    if loss not in loss_names:
        choices = " or ".join(repr(n) for n in loss_names)
        raise ValueError(f"output kind {kind!r} trains with loss {choices}; got loss={loss!r}")
    return loss


def check_loss_args(kind: str, allowed: Sequence[str], loss_args: dict[str, float]) -> dict[str, float]:
    """``loss_args`` as floats if output kind ``kind`` takes every one of them, else a ``ValueError``."""
    unknown = sorted(set(loss_args) - set(allowed))
    if unknown:
        raise ValueError(f"loss_args {unknown} do not apply to output kind {kind!r}; it takes {list(allowed) or 'none'}")
    return {k: float(v) for k, v in loss_args.items()}
