"""Evaluation, in one place: which face is which (:mod:`.matching`, the package's one rule), landmark lists
against ground truth (:mod:`.samples`, ``facealign eval --pred``), photos of many faces with P / R / F1
(:mod:`.multiface`), a model run on an annotation file (:mod:`.model`, ``facealign eval --model``) and the
hard-face validation protocols a training run scores every epoch (:mod:`.protocols`, imported on its own).

Built on the inference side and on :mod:`facealign.metrics`; the inference side never imports it.
Importing this package imports neither torch nor the training engine.
"""

from .matching import IOU_THRESHOLD, MATCH_RULES, FaceMatch, face_centroids, landmark_boxes, match_faces, match_images
from .multiface import MultiFaceResult, evaluate_against_boxes, evaluate_multiface, evaluate_photos
from .samples import EvalResult, evaluate, evaluate_files, format_table, match_samples

__all__ = [
    "IOU_THRESHOLD",
    "MATCH_RULES",
    "EvalResult",
    "FaceMatch",
    "MultiFaceResult",
    "evaluate",
    "evaluate_against_boxes",
    "evaluate_files",
    "evaluate_multiface",
    "evaluate_photos",
    "face_centroids",
    "format_table",
    "landmark_boxes",
    "match_faces",
    "match_images",
    "match_samples",
]
