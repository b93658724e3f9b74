"""Which predicted face is which ground-truth face: the package's one face-matching rule.

**The rule** (:func:`match_faces`, ``rule="centroid"``): a predicted face is found when the centroid of its
landmarks lies inside a ground-truth face's box (edges included), one prediction per box. Among the allowed
pairs the Hungarian assignment (:func:`scipy.optimize.linear_sum_assignment`) takes the most pairs, then the
least summed distance from centroid to box centre in box sizes ``sqrt(w h)`` (in pixels for a box of
no area: a click or a line given as a box). The ground-truth box is the one its annotation draws (a hand-drawn
face box, a WFLW / imglab / COFW rectangle) or, where there is none, the tight box of its landmarks.

Why this rule and not box IoU: every detector and dataset draws its face box differently (RetinaFace's
box, a hand-drawn box reaching the hair, the tight box of 5 or of 68 points differ by a factor of two in
area), so an IoU threshold says as much about the box conventions as about the faces; a landmark centroid
lies inside any of them when the face is found, and the points of both sides follow one pixel convention.
It is the rule of the issue-21 group-photo metric; with one face per box it cannot pair one prediction
with two faces, and it never pairs a prediction with a face it is not on: a prediction whose centroid
leaves the face's box is a face not found (counted as unmatched), not a landmark error.

**The option** ``rule="iou"``: Hungarian assignment maximising the summed IoU of the two sides' boxes, a
pair counting at IoU >= ``iou_threshold`` (:data:`IOU_THRESHOLD`). It is the FoxNet paper's protocol
(Sec. III, Table II: landmark boxes against landmark boxes, one convention on both sides) and what the
group-photo pseudo labels were made with (``scripts/pseudo_label_groups.py``: a detector box becomes a
face's label only when it agrees with the hand-drawn box in scale as well as in place).

Images are paired by path before faces are (:func:`match_images`).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..geometry import box_iou
from ..types import Box

__all__ = [
    "IOU_THRESHOLD",
    "MATCH_RULES",
    "FaceMatch",
    "PathKeys",
    "as_points",
    "face_centroids",
    "landmark_boxes",
    "match_faces",
    "match_images",
    "path_keys",
]

#: ``rule="iou"``: a pair counts at this IoU or more (the FoxNet paper's threshold).
IOU_THRESHOLD = 0.5
#: The package's rule first, then the option.
MATCH_RULES = ("centroid", "iou")


@dataclass
class FaceMatch:
    """Pairs of indices ``(pred_index, gt_index)`` sorted by ground-truth index, and the indices left over
    on each side."""

    pairs: list[tuple[int, int]]
    unmatched_gt: list[int]
    unmatched_pred: list[int]

    @classmethod
    def of(cls, pairs: Sequence[tuple[int, int]], n_pred: int, n_gt: int) -> "FaceMatch":
        """``pairs`` ``(pred, gt)`` with the indices of ``n_pred`` / ``n_gt`` they leave unmatched."""
        pairs = sorted(((int(p), int(g)) for p, g in pairs), key=lambda pg: pg[1])
        got_p, got_g = {p for p, _ in pairs}, {g for _, g in pairs}
        return cls(
            pairs=pairs,
            unmatched_gt=[j for j in range(n_gt) if j not in got_g],
            unmatched_pred=[i for i in range(n_pred) if i not in got_p],
        )


def as_points(face: Any) -> np.ndarray:
    """``(K, 2)`` float64 of an array or of an object with ``.points`` (FaceLandmarks, Sample, DecodedFace)."""
    return np.asarray(getattr(face, "points", face), dtype=np.float64).reshape(-1, 2)


def face_centroids(faces: Sequence[Any]) -> np.ndarray:
    """Mean of each face's finite points (NaN where it has none). Shape: ``F x (K, 2) -> (F, 2)``."""
    out = np.full((len(faces), 2), np.nan)
    for i, f in enumerate(faces):
        p = as_points(f)
        p = p[np.isfinite(p).all(axis=1)]
        if len(p):
            out[i] = p.mean(axis=0)
    return out


def landmark_boxes(faces: Sequence[Any]) -> np.ndarray:
    """Tight boxes ``[x1, y1, x2, y2]`` around each face's finite points. Shape: ``F x (K, 2) -> (F, 4)``."""
    return np.array([Box.from_points(as_points(f)).as_array() for f in faces]).reshape(-1, 4)


def _match_centroids(centroids: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
    c, b = centroids, boxes
    inside = (
        (c[:, None, 0] >= b[None, :, 0]) & (c[:, None, 0] <= b[None, :, 2]) & (c[:, None, 1] >= b[None, :, 1]) & (c[:, None, 1] <= b[None, :, 3])
    )  # False for a NaN centroid
    if not inside.any():
        return []
    size = np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
    size = np.where(size > 0, size, 1.0)  # a box of no area (a click, a line): pixels
    dist = np.linalg.norm(c[:, None, :] - 0.5 * (b[None, :, :2] + b[None, :, 2:]), axis=-1) / size[None, :]
    # An allowed pair costs -1 plus its distance scaled below 1 / (n + 1), n = min(N, M): k + 1 allowed
    # pairs always cost less than k, so the count comes first; a forbidden pair costs n + 1 (only taken
    # where nothing else is left, then dropped).
    n = min(c.shape[0], b.shape[0])
    d = np.where(inside, dist, 0.0)
    cost = np.where(inside, d / ((1.0 + d.max()) * (n + 1)) - 1.0, float(n + 1))
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(k)) for r, k in zip(rows, cols) if inside[r, k]]


def _match_iou(pred_boxes: np.ndarray, boxes: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    iou = box_iou(pred_boxes, boxes)
    if not iou.size:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= threshold]


def match_faces(
    pred: np.ndarray, boxes: np.ndarray, *, rule: str = "centroid", iou_threshold: float = IOU_THRESHOLD
) -> FaceMatch:
    """Pair predicted faces with ground-truth face boxes of one image by ``rule`` (module docstring).

    Args:
        pred: ``(N, 2)`` landmark centroids (:func:`face_centroids`) for ``rule="centroid"``; ``(N, 4)``
            boxes ``[x1, y1, x2, y2]`` (:func:`landmark_boxes`, or a detector's) for ``rule="iou"``.
        boxes: ``(M, 4)`` ground-truth boxes ``[x1, y1, x2, y2]``.
        rule: ``"centroid"`` (the package's rule) or ``"iou"``; iou_threshold: of ``rule="iou"``.

    Shape: ``(N, 2 | 4), (M, 4)`` -> :class:`FaceMatch` (``pairs`` as ``(pred, gt)``, by gt index).
    """
    if rule not in MATCH_RULES:
        raise ValueError(f"match_faces: rule must be one of {MATCH_RULES}, got {rule!r}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"match_faces: iou_threshold must be in (0, 1], got {iou_threshold}")
    width = 2 if rule == "centroid" else 4
    p, b = np.asarray(pred, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    if (p.size and (p.ndim != 2 or p.shape[1] != width)) or (b.size and (b.ndim != 2 or b.shape[1] != 4)):
        what = "centroids (N, 2)" if rule == "centroid" else "boxes (N, 4)"
        raise ValueError(f"match_faces: rule {rule!r} expects predicted {what} and boxes (M, 4), got {p.shape} and {b.shape}")
    p, b = p.reshape(-1, width), b.reshape(-1, 4)
    pairs = _match_centroids(p, b) if rule == "centroid" else _match_iou(p, b, iou_threshold)
    return FaceMatch.of(pairs, len(p), len(b))


# ----------------------------------------------------------------------------------------- images

#: An image's keys, most specific first: (absolute resolved path, path relative to its list's folder,
#: file name); None where unknown.
PathKeys = tuple[str | None, str | None, str]


def path_keys(path: str | os.PathLike[str], root: Path | None) -> PathKeys:
    """The keys :func:`match_images` pairs an image by; ``root`` is the folder its list's relative paths are
    relative to."""
    p = Path(path)
    absolute = os.path.realpath(p) if p.is_absolute() else (os.path.realpath(root / p) if root is not None else None)
    if not p.is_absolute():
        relative: str | None = Path(os.path.normpath(p)).as_posix()
    elif root is not None:
        try:
            relative = Path(absolute).relative_to(os.path.realpath(root)).as_posix()
        except ValueError:
            relative = None
    else:
        relative = None
    return absolute, relative, p.name


def match_images(pred_keys: Sequence[PathKeys], gt_keys: Sequence[PathKeys]) -> list[tuple[list[int], list[int]]]:
    """Group faces by image on each side and pair the images by path, most specific key first: the resolved
    absolute path, else the path relative to the list's folder, else the file name. A key that names several
    different images on either side (two ``img_1.jpg`` in different folders) is not used at that level.

    Returns ``(pred face indices, gt face indices)`` per paired image."""
    pred_groups: dict[PathKeys, list[int]] = defaultdict(list)
    gt_groups: dict[PathKeys, list[int]] = defaultdict(list)
    for i, k in enumerate(pred_keys):
        pred_groups[k].append(i)
    for i, k in enumerate(gt_keys):
        gt_groups[k].append(i)
    free_pred, free_gt = set(pred_groups), set(gt_groups)
    pairs = []
    for level in range(3):
        by_pred: dict[str, list[PathKeys]] = defaultdict(list)
        by_gt: dict[str, list[PathKeys]] = defaultdict(list)
        for g in free_pred:
            if g[level] is not None:
                by_pred[g[level]].append(g)
        for g in free_gt:
            if g[level] is not None:
                by_gt[g[level]].append(g)
        for key in sorted(set(by_pred) & set(by_gt)):
            if len(by_pred[key]) == 1 and len(by_gt[key]) == 1:
                gp, gg = by_pred[key][0], by_gt[key][0]
                pairs.append((pred_groups[gp], gt_groups[gg]))
                free_pred.discard(gp)
                free_gt.discard(gg)
    return pairs
