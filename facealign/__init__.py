"""facealign: 2D facial landmark detection on a shared core.

    >>> from facealign import Aligner
    >>> faces = Aligner()("photo.jpg")                    # list[FaceLandmarks], [] when there is no face
    >>> faces = Aligner()(cv2.imread("photo.jpg"), color="bgr")   # numpy images state their channel order

``import facealign`` and ``Aligner()`` with a shipped model never import torch. ``create_model``,
``get_model_card`` and ``list_models`` (the model zoo, built in PyTorch: the ``[train]`` extra) are
imported on first use.
"""

from typing import Any

from .api import Aligner, load_predictor
from .card import DEFAULT_MODEL, ModelCard
from .tracking import FaceTracker, TrackedFace
from .types import Box, FaceLandmarks

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "Aligner",
    "Box",
    "FaceLandmarks",
    "ModelCard",
    "FaceTracker",
    "TrackedFace",
    "__version__",
    "create_model",
    "get_model_card",
    "list_models",
    "load_predictor",
]

_ZOO = ("create_model", "get_model_card", "list_models")


def __getattr__(name: str) -> Any:
    if name in _ZOO:
        from .models import zoo

        return getattr(zoo, name)
    raise AttributeError(f"module 'facealign' has no attribute {name!r}")
