"""Tasks: what each output kind of network means for training and decoding, one small class per kind.

A task owns its kind's codec (targets = ``encode``, predictions = ``decode``), its loss (functions of
:mod:`facealign.losses`) and its flip-test merge; the model card's ``output`` chooses it through the one
registry :data:`TASKS` (:func:`make_task`). The trainers, the validation loop, ONNX export and the
PyTorch landmark stage all go through it, so a model family plugs into training and inference by
registering a card whose ``output`` is a kind here. Training side: imports torch.

==============  ===================================  =====================================
kind            task                                 network output
==============  ===================================  =====================================
heatmap         :class:`HeatmapTask`                 ``(B, K, h, w)``
regression      :class:`RegressionTask`              ``(B, K, 2)`` input px
hih             :class:`HIHTask`                     integer ``(B, S, K, h, w)`` + decimal maps
propagation     :class:`PropagationTask`             landmark + boundary maps of every stack
bottomup        :class:`BottomUpTask`                segmentation + embeddings of a photo
offset_value    :class:`OffsetValueTask`             integer maps + offsets ``(B, K, 2)``
offset_map      :class:`OffsetMapTask`               integer maps + offset maps
==============  ===================================  =====================================
"""

from .base import CropTask, Task, finite_points
from .bottomup import BottomUpTask
from .flip import flip_coordinates, flip_heatmaps, predict_crops
from .heatmap import HeatmapTask
from .hih import HIHTask
from .offsets import OffsetMapTask, OffsetValueTask
from .propagation import PropagationTask
from .regression import RegressionTask
from .registry import TASKS, make_task, task_class

__all__ = [
    "TASKS",
    "BottomUpTask",
    "CropTask",
    "HIHTask",
    "HeatmapTask",
    "OffsetMapTask",
    "OffsetValueTask",
    "PropagationTask",
    "RegressionTask",
    "Task",
    "finite_points",
    "flip_coordinates",
    "flip_heatmaps",
    "make_task",
    "predict_crops",
    "task_class",
]
