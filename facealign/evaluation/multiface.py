"""Photos of many faces: face P / R / F1 and landmark NME / FR / AUC of the faces found.

One core, :func:`evaluate_photos`: per photo, the predicted faces are paired with the ground-truth boxes by
:func:`~facealign.evaluation.matching.match_faces`; precision, recall and F1 count the pairs ("the F1 score
to evaluate face detection", FoxNet paper Sec. III), NME / FR / AUC (:mod:`facealign.metrics`) measure the
matched faces that have ground-truth landmarks. Two ways in:

* :func:`evaluate_multiface`: ground-truth landmarks on every face (composed canvases, imglab photos). The
  FoxNet paper's protocol (Sec. III, Table II): boxes are the landmark boxes and faces pair by their IoU
  (``rule="iou"``, IoU >= 0.5) by default; ``rule="centroid"`` gives the package's rule.
* :func:`evaluate_against_boxes`: hand-drawn face boxes and no landmarks (the groups photos, issue 21), a
  teacher's landmarks where the teacher labelled a box: the package's rule, a face is found when the
  centroid of its landmarks lies in a box, one face per box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import metrics
from .matching import IOU_THRESHOLD, as_points, face_centroids, landmark_boxes, match_faces

__all__ = ["MultiFaceResult", "evaluate_against_boxes", "evaluate_multiface", "evaluate_photos"]


@dataclass
class MultiFaceResult:
    """What :func:`evaluate_photos` measured.

    precision = tp / predicted faces, recall = tp / ground-truth faces, f1 their harmonic mean (0 where
    undefined); tp / fp / fn: face counts; nmes: ``(M,)`` NME of each matched face with ground-truth
    landmarks and at least one countable point; summary: ``{"nme", "fr", "auc", "count"}`` of them
    (:func:`facealign.metrics.summarize`); missing_points: fraction of the matched faces' annotated (and
    visible) points the prediction left out (NaN); those points are not in the NME.
    """

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    nmes: np.ndarray
    summary: dict[str, float]
    missing_points: float


def evaluate_photos(
    pred: Sequence[Sequence[Any]],
    boxes: Sequence[np.ndarray],
    gt_points: Sequence[Sequence[np.ndarray | None]],
    *,
    scheme: str,
    norm: str = "interocular",
    threshold: float = 0.1,
    rule: str = "centroid",
    iou_threshold: float = IOU_THRESHOLD,
    gt_visible: Sequence[Sequence[np.ndarray]] | None = None,
) -> MultiFaceResult:
    """Face P / R / F1 over ground-truth boxes and NME / FR / AUC of the matched faces (module docstring).

    Args:
        pred: per photo, its predicted faces (``(K, 2)`` arrays or objects with ``.points``).
        boxes: per photo, ``(M, 4)`` ground-truth face boxes ``[x1, y1, x2, y2]``.
        gt_points: per photo, per box, the ``(K, 2)`` landmarks or ``None`` (counted for P / R / F1, not measured).
        scheme, norm: the NME normaliser (:func:`facealign.metrics.nme`); threshold: failure / AUC threshold.
        rule, iou_threshold: of :func:`~facealign.evaluation.matching.match_faces` (``"iou"`` pairs the
            predictions' landmark boxes with ``boxes``).
        gt_visible: per photo, per box ``(K,)`` bool; False points are not measured.
    """
    if not len(pred) == len(boxes) == len(gt_points):
        raise ValueError(
            f"evaluate_photos: pred, boxes and ground truth must list the same photos, got {len(pred)}, {len(boxes)}, {len(gt_points)}"
        )
    tp = n_pred = n_gt = 0
    matched_pred, matched_gt, matched_mask = [], [], []
    for i, (p_faces, b, g) in enumerate(zip(pred, boxes, gt_points)):
        p_pts = [as_points(f) for f in p_faces]
        b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
        if len(g) != len(b):
            raise ValueError(f"evaluate_photos: {len(b)} boxes but {len(g)} ground-truth entries in photo {i}")
        n_pred, n_gt = n_pred + len(p_pts), n_gt + len(b)
        if not p_pts or not len(b):
            continue
        keys = face_centroids(p_pts) if rule == "centroid" else landmark_boxes(p_pts)
        match = match_faces(keys, b, rule=rule, iou_threshold=iou_threshold)
        tp += len(match.pairs)
        for pi, gi in match.pairs:
            if g[gi] is None:
                continue
            gp = np.asarray(g[gi], dtype=np.float64)
            mask = np.isfinite(gp).all(axis=1)
            if gt_visible is not None:
                mask &= np.asarray(gt_visible[i][gi], dtype=bool)
            matched_pred.append(p_pts[pi])
            matched_gt.append(gp)
            matched_mask.append(mask)
    return _result(tp, n_pred, n_gt, matched_pred, matched_gt, matched_mask, scheme=scheme, norm=norm, threshold=threshold)


def evaluate_multiface(
    pred: Sequence[Sequence[Any]],
    gt: Sequence[Sequence[Any]],
    *,
    scheme: str,
    norm: str = "interocular",
    threshold: float = 0.1,
    rule: str = "iou",
    iou_threshold: float = IOU_THRESHOLD,
    gt_visible: Sequence[Sequence[np.ndarray]] | None = None,
) -> MultiFaceResult:
    """:func:`evaluate_photos` with ground-truth landmarks on every face, their tight boxes as the boxes.

    Args:
        pred, gt: per image, a list of faces (``(K, 2)`` arrays, or objects with ``.points``), same scheme.
        rule: ``"iou"`` (default: the FoxNet paper's Table II protocol, landmark boxes at IoU >= 0.5) or
            ``"centroid"`` (the package's rule). Other arguments: those of :func:`evaluate_photos`.
    """
    if len(pred) != len(gt):
        raise ValueError(f"evaluate_multiface: pred and gt must list the same images, got {len(pred)} and {len(gt)}")
    points = [[as_points(f) for f in faces] for faces in gt]
    return evaluate_photos(
        pred, [landmark_boxes(p) for p in points], points, scheme=scheme, norm=norm, threshold=threshold,
        rule=rule, iou_threshold=iou_threshold, gt_visible=gt_visible,
    )


def evaluate_against_boxes(
    pred: Sequence[Sequence[Any]],
    boxes: Sequence[np.ndarray],
    teacher: Sequence[Sequence[np.ndarray | None]],
    *,
    scheme: str,
    norm: str = "interocular",
    threshold: float = 0.1,
) -> MultiFaceResult:
    """:func:`evaluate_photos` by the package's rule against hand-drawn ``boxes``, NME against the ``teacher``'s
    landmarks of each box (``None``: found, but not measured)."""
    if not len(pred) == len(boxes) == len(teacher):
        raise ValueError(f"evaluate_against_boxes: pred, boxes and teacher must list the same photos, got {len(pred)}, {len(boxes)}, {len(teacher)}")
    return evaluate_photos(pred, boxes, teacher, scheme=scheme, norm=norm, threshold=threshold, rule="centroid")


def _result(
    tp: int, n_pred: int, n_gt: int, matched_pred: list[np.ndarray], matched_gt: list[np.ndarray], matched_mask: list[np.ndarray],
    *, scheme: str, norm: str, threshold: float,
) -> MultiFaceResult:
    """P / R / F1 of the counts and NME / FR / AUC of the matched faces' countable (mask) points."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gt if n_gt else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    nmes = np.zeros(0)
    missing = 0.0
    if matched_pred:
        p, g, m = np.stack(matched_pred), np.stack(matched_gt), np.stack(matched_mask)
        found = np.isfinite(p).all(axis=-1)
        missing = float((m & ~found).sum() / max(int(m.sum()), 1))
        counted = m & found
        has = counted.any(axis=1)
        if has.any():
            nmes = metrics.nme(np.where(counted[has][..., None], p[has], 0.0), g[has], scheme=scheme, norm=norm, visible=counted[has])
    return MultiFaceResult(
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        tp=int(tp),
        fp=int(n_pred - tp),
        fn=int(n_gt - tp),
        nmes=nmes,
        summary=metrics.summarize(nmes, threshold),
        missing_points=missing,
    )
