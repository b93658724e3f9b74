"""The one list of output kinds: :data:`TASKS` maps a model card's ``output`` to its task class, and
:func:`make_task` builds the task a card names. The model registry checks every card against it
(:func:`facealign.models.registry.register_model`); the ONNX export names a network's outputs with
``task_class(kind).names``."""

from __future__ import annotations

from typing import Any

from ..card import ModelCard
from ..landmarks import LandmarkScheme
from .base import Task, check_loss, check_loss_args
from .bottomup import BottomUpTask
from .heatmap import HeatmapTask
from .hih import HIHTask
from .offsets import OffsetMapTask, OffsetValueTask
from .propagation import PropagationTask
from .regression import RegressionTask

__all__ = ["TASKS", "make_task", "task_class"]

#: Output kind -> task class: what a network of that kind returns and means (the kinds' only list).
TASKS: dict[str, Any] = {
    t.kind: t
    for t in (HeatmapTask, RegressionTask, HIHTask, PropagationTask, BottomUpTask, OffsetValueTask, OffsetMapTask)
}


def task_class(kind: str) -> Any:
    """The task class of output kind ``kind``; a ``ValueError`` naming the kinds for any other."""
    if kind not in TASKS:
        raise ValueError(f"unknown output kind {kind!r}; expected one of {tuple(TASKS)}")
    return TASKS[kind]


def make_task(
    card: ModelCard,
    model: Any,
    scheme: LandmarkScheme,
    *,
    loss: str | None = None,
    loss_args: dict[str, float] | None = None,
) -> Task:
    """The task of ``card.output``, with the codec settings of ``card`` and of the built ``model``.

    ``loss`` names the training loss (one of the task's ``loss_names``; ``None`` takes the first:
    heatmap ``"awing"`` | ``"mse"`` | ``"l1"``, regression ``"softwing"`` | ``"l1"``, hih ``"hih"``,
    propagation ``"focalwing"`` | ``"awing"``, offset_value ``"wov"``, offset_map ``"wom"``, bottomup ``"fox"``).
    ``loss_args``: the loss settings the task takes (its ``loss_args``; HIH: ``alpha``, ``temperature``).
    Errors name the model.
    """
    cls = task_class(card.output)
    try:
        args = check_loss_args(card.output, cls.loss_args, dict(loss_args or {}))
        name = check_loss(card.output, cls.loss_names, loss or cls.loss_names[0])
        return cls.from_card(card, model, scheme, loss=name, **args)
    except ValueError as err:
        raise ValueError(f"{card.name}: {err}") from None
