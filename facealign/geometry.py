"""Similarity / affine fits, aligned crops and their exact inverse maps.

All matrices are ``(2, 3)`` float64 affine maps ``p' = A @ p + t`` acting on ``(x, y)`` points in
the pixel convention of :mod:`facealign.types`, which is also OpenCV's ``warpAffine`` convention:
warping an image with ``M`` moves a pixel at ``p`` to ``M @ [p, 1]``, so points map with the same
matrix and no half-pixel terms.

Crop conventions
----------------
* **5-point alignment** (Earp et al., "Sub-pixel face landmarks using heatmaps and a bag of tricks",
  Sec. 3.1): a similarity transform from the face's 5 points (eye centres, nose tip, mouth corners)
  to :data:`FACE_TEMPLATE` scaled to the crop size. The template is the ArcFace 112 px template
  (normalised to [0, 1]) zoomed out by :data:`TEMPLATE_ZOOM` about :data:`TEMPLATE_CENTER`, so that
  the whole 68-point face (jaw and brows included) lies inside the crop: on ``faces/train68.txt``
  the 0.5-99.5 percentile extent of the aligned 68 points is x in [-0.07, 1.08], y in [0.28, 1.16]
  in ArcFace units, which the crop [-0.15, 1.15] x [0.05, 1.35] covers with room for augmentation.
* **Box crop**: a square of side ``max(w, h) * scale`` centred on the box centre, scaled to the crop.
"""

from __future__ import annotations

import cv2
import numpy as np

from .types import Box

__all__ = [
    "ARCFACE_TEMPLATE",
    "FACE_TEMPLATE",
    "TEMPLATE_CENTER",
    "TEMPLATE_ZOOM",
    "affine_from_params",
    "align_matrix",
    "apply_affine",
    "box_iou",
    "box_crop_matrix",
    "compose_affine",
    "invert_affine",
    "template_points",
    "umeyama",
    "warp",
]

#: ArcFace 5-point template for a 112 x 112 crop, divided by 112 (x, y in [0, 1]).
ARCFACE_TEMPLATE = (
    np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ],
        dtype=np.float64,
    )
    / 112.0
)
#: Point of the ArcFace-normalised plane that lands on the crop centre (middle of the 68-point face).
TEMPLATE_CENTER = np.array([0.5, 0.70])
#: Side of the crop in ArcFace-normalised units (1.0 would be the tight ArcFace crop).
TEMPLATE_ZOOM = 1.3
#: The 5-point reference template of facealign crops, normalised to [0, 1] of the crop side.
FACE_TEMPLATE = (ARCFACE_TEMPLATE - TEMPLATE_CENTER) / TEMPLATE_ZOOM + 0.5


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {pts.shape}")
    return pts


def umeyama(src: np.ndarray, dst: np.ndarray, *, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity transform mapping ``src`` onto ``dst`` (Umeyama, PAMI 1991).

    Minimises ``sum_i ||dst_i - (s R src_i + t)||^2`` over rotation ``R`` (no reflection), scale ``s``
    and translation ``t`` (Eq. 40-42 of the paper). Non-finite rows are ignored.

    In 2-D the paper's SVD solution has a closed form, used here (a third of the time of an SVD, which
    matters once per face): with centred points ``a = sum(x_s . x_d) / sum |x_s|^2`` and
    ``b = sum(x_s x x_d) / sum |x_s|^2`` (dot and cross products), ``s R = [[a, -b], [b, a]]``: the
    rotation angle ``atan2(b, a)`` and the scale ``sqrt(a^2 + b^2)`` are Eq. 40-42's ``R = U S V^T``
    and ``c = tr(D S) / sigma_s^2`` for a 2 x 2 covariance. Without ``estimate_scale``, ``R`` is
    ``[[a, -b], [b, a]] / sqrt(a^2 + b^2)`` (the identity when ``a = b = 0``, as the SVD of a zero
    covariance gives).

    Shape: ``(N, 2), (N, 2) -> (2, 3)``.
    """
    src = _as_points(src, "src")
    dst = _as_points(dst, "dst")
    if src.shape != dst.shape:
        raise ValueError(f"src and dst must have the same shape, got {src.shape} and {dst.shape}")
    ok = np.isfinite(src).all(axis=1) & np.isfinite(dst).all(axis=1)
    if not ok.all():
        src, dst = src[ok], dst[ok]
    if len(src) < 2:
        raise ValueError(f"need at least 2 finite point pairs for a similarity fit, got {len(src)}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    xs, xd = src - mu_s, dst - mu_d
    norm = float((xs * xs).sum())
    if norm / len(src) <= 1e-12:
        raise ValueError("src points are all identical: a similarity transform is undefined")
    a = float((xs * xd).sum()) / norm
    b = float((xs[:, 0] * xd[:, 1] - xs[:, 1] * xd[:, 0]).sum()) / norm
    if not estimate_scale:
        length = float(np.hypot(a, b))
        a, b = (a / length, b / length) if length > 0 else (1.0, 0.0)
    m = np.array([[a, -b, 0.0], [b, a, 0.0]])
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points through a ``(2, 3)`` affine. Shape: ``(..., 2) -> (..., 2)``."""
    m = np.asarray(matrix, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Exact inverse of a ``(2, 3)`` affine map (the 2 x 2 inverse written out: ``[[d, -b], [-c, a]] / det``)."""
    (a, b, tx), (c, d, ty) = np.asarray(matrix, dtype=np.float64).tolist()
    det = a * d - b * c
    if abs(det) < 1e-12:
        raise ValueError("affine matrix is singular and has no inverse")
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return np.array([[ia, ib, -(ia * tx + ib * ty)], [ic, id_, -(ic * tx + id_ * ty)]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The map ``p -> outer(inner(p))`` as one ``(2, 3)`` matrix."""
    o = np.vstack([np.asarray(outer, dtype=np.float64), [0.0, 0.0, 1.0]])
    i = np.vstack([np.asarray(inner, dtype=np.float64), [0.0, 0.0, 1.0]])
    return (o @ i)[:2]


def template_points(out_size: int | tuple[int, int], template: np.ndarray = FACE_TEMPLATE) -> np.ndarray:
    """The normalised template in pixels of a crop of ``out_size`` (int or ``(w, h)``).

    A normalised coordinate ``u in [0, 1]`` spans the crop edge to edge, i.e. pixel ``u * S - 0.5``.
    """
    w, h = (out_size, out_size) if isinstance(out_size, int) else out_size
    return np.asarray(template, dtype=np.float64) * [w, h] - 0.5


def align_matrix(
    points5: np.ndarray,
    out_size: int | tuple[int, int],
    *,
    template: np.ndarray = FACE_TEMPLATE,
) -> np.ndarray:
    """Similarity transform from an image's 5 points to the crop template (paper Sec. 3.1).

    Shape: ``(5, 2) -> (2, 3)`` mapping image pixels to crop pixels.
    """
    pts = _as_points(points5, "points5")
    if pts.shape[0] != len(template):
        raise ValueError(f"points5 must have {len(template)} points, got {pts.shape[0]}")
    return umeyama(pts, template_points(out_size, template))


def box_crop_matrix(box: Box, out_size: int, *, scale: float = 1.25) -> np.ndarray:
    """Affine taking a square of side ``max(w, h) * scale`` around the box centre to the crop.

    The square's outer edges land on the crop's outer edges (``-0.5`` and ``out_size - 0.5``).
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    side = max(box.width, box.height) * scale
    s = out_size / side
    cx, cy = box.center
    # crop pixel = (p - c) * s + (out_size - 1) / 2
    return np.array([[s, 0.0, (out_size - 1) / 2.0 - s * cx], [0.0, s, (out_size - 1) / 2.0 - s * cy]])


def affine_from_params(
    *,
    center: tuple[float, float],
    angle_deg: float = 0.0,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Rotation by ``angle_deg`` (counter-clockwise as seen on screen) and scaling about ``center``,
    then a translation by ``shift`` pixels. Used to perturb crops during training."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a) * scale, np.sin(a) * scale
    cx, cy = center
    # Screen y points down, so a counter-clockwise turn on screen is [[c, s], [-s, c]].
    lin = np.array([[c, s], [-s, c]])
    t = np.array([cx, cy]) - lin @ np.array([cx, cy]) + np.asarray(shift, dtype=np.float64)
    return np.concatenate([lin, t[:, None]], axis=1)


def warp(
    image: np.ndarray,
    matrix: np.ndarray,
    out_size: int | tuple[int, int],
    *,
    border_value: float | tuple[float, ...] = 0,
) -> np.ndarray:
    """Warp ``image`` with the image->crop ``matrix`` into a crop of ``out_size`` (int or (w, h)).

    Bilinear, constant border. The source may be any size: OpenCV samples only what the crop needs,
    so huge photos cost no more memory than the crop.
    """
    w, h = (out_size, out_size) if isinstance(out_size, int) else out_size
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    return cv2.warpAffine(
        image,
        np.asarray(matrix, dtype=np.float64),
        (int(w), int(h)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border_value,
    )


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``[x1, y1, x2, y2]`` (continuous areas; 0 where the union is empty).

    The one IoU of the package: the tracker's duplicate / match tests and the FoxNet evaluation's face
    pairing both use it. Shape: ``(N, 4), (M, 4) -> (N, M)`` (a single ``(4,)`` box counts as ``(1, 4)``).
    """
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
