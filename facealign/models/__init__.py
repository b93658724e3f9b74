"""Networks: the registry (:mod:`.registry`: ``register_model``, ``model_card``, ``create_model``,
``get_model_card``, ``load_model``), shared blocks (:mod:`.layers`, backbones, heads), one file or package
per family (:mod:`.zoo` the heatmap models, :mod:`.hih`, :mod:`.propagation`, :mod:`.scc`, :mod:`.foxnet`;
importing this package registers them all) and model size / cost (:mod:`.info`)."""

from .backbones import MobileNetV2, ResNet, resnet18, resnet34, resnet50
from .heads import UpsampleHead
from .heatmap_model import HeatmapModel
from .info import Info, count_flops, model_info
from ..card import DEFAULT_MODEL, ModelCard
from .registry import MissingWeightsError, create_model, get_model_card, list_models, load_model, register_model
from . import zoo  # noqa: F401,E402  (registers the sertis_* and facealign_* heatmap models)
from . import foxnet, hih, propagation, scc  # noqa: F401,E402  (register the foxnet_*, HIH_T/S/B, hih_cpu_68, hih_wov / hih_wom, propnet_* and scc_* models)

__all__ = [
    "DEFAULT_MODEL",
    "HeatmapModel",
    "Info",
    "MissingWeightsError",
    "MobileNetV2",
    "ModelCard",
    "ResNet",
    "UpsampleHead",
    "count_flops",
    "create_model",
    "get_model_card",
    "list_models",
    "load_model",
    "model_info",
    "register_model",
    "resnet18",
    "resnet34",
    "resnet50",
]
