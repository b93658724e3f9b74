"""facealign: 2D facial landmark detection on a shared core.

    >>> from facealign import Aligner
    >>> faces = Aligner()("photo.jpg")   # list[FaceLandmarks], [] when there is no face
"""

from .api import Aligner, load_predictor
from .models.zoo import DEFAULT_MODEL, create_model, get_model_card, list_models
from .tracking import FaceTracker, TrackedFace
from .types import Box, FaceLandmarks

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "Aligner",
    "Box",
    "FaceLandmarks",
    "FaceTracker",
    "TrackedFace",
    "__version__",
    "create_model",
    "get_model_card",
    "list_models",
    "load_predictor",
]
