"""The face-recognition crop: InsightFace's ``norm_crop`` (ArcFace 5-point alignment).

Face-recognition models of the ArcFace family (InsightFace's ``w600k_r50``, ``glintr100`` ...) expect a
112 x 112 crop made by a least-squares similarity transform (Umeyama) of the detector's 5 points
(eye centres, nose tip, mouth corners, viewer's left first) onto the standard ArcFace template
(:data:`facealign.geometry.ARCFACE_TEMPLATE` x 112), applied with ``cv2.warpAffine`` (bilinear, black
border). As InsightFace's ``face_align.estimate_norm``: for a side that is a multiple of 112 the
template is scaled by ``side / 112``; otherwise by ``side / 128`` and shifted right by ``8 * side / 128``
(the 128 px variant). Points and pixels share OpenCV's convention (:mod:`facealign.types`), so no
half-pixel terms enter.
"""

from __future__ import annotations

import numpy as np

from .geometry import ARCFACE_TEMPLATE, umeyama, warp

__all__ = ["ARCFACE_SIDE", "CROP_TEMPLATES", "arcface_matrix", "arcface_template", "norm_crop"]

#: The side (px) the ArcFace template is defined for.
ARCFACE_SIDE = 112
#: The side of InsightFace's non-112 variant, whose template is shifted by 8 px of it.
_ALT_SIDE, _ALT_SHIFT = 128, 8.0
#: Templates :func:`norm_crop` knows.
CROP_TEMPLATES = ("arcface",)


def arcface_template(size: int) -> np.ndarray:
    """The 5 template points ``(5, 2)`` for a ``size x size`` crop (``estimate_norm``'s ``dst``)."""
    if size < 1:
        raise ValueError(f"crop size must be a positive integer, got {size}")
    if size % ARCFACE_SIDE == 0:
        return ARCFACE_TEMPLATE * ARCFACE_SIDE * (size / ARCFACE_SIDE)
    ratio = size / _ALT_SIDE
    dst = ARCFACE_TEMPLATE * ARCFACE_SIDE * ratio
    dst[:, 0] += _ALT_SHIFT * ratio
    return dst


def arcface_matrix(points5: np.ndarray, size: int = ARCFACE_SIDE) -> np.ndarray:
    """The ``(2, 3)`` image -> crop similarity of 5 points ``(5, 2)`` onto :func:`arcface_template`."""
    pts = np.asarray(points5, dtype=np.float64)
    if pts.shape != (5, 2):
        raise ValueError(f"the ArcFace crop needs 5 points (5, 2), got {pts.shape}")
    return umeyama(pts, arcface_template(size))


def norm_crop(image: np.ndarray, points5: np.ndarray, size: int = ARCFACE_SIDE, *, template: str = "arcface") -> np.ndarray:
    """The ``size x size`` face-recognition crop of ``image`` (any channel order, kept as is).

    Shape: ``(H, W[, C])`` -> ``(size, size[, C])``.
    """
    if template not in CROP_TEMPLATES:
        raise ValueError(f"unknown crop template {template!r}; expected one of {CROP_TEMPLATES}")
    return warp(np.asarray(image), arcface_matrix(points5, size), size)
