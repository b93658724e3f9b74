"""Bottom-up multi-face alignment: inference on whole photos and the paper's evaluation.

* :class:`FoxNetPredictor` runs a bottom-up model (FoxNet, :mod:`facealign.models.foxnet`) on any photo:
  letterbox it into the model's square input (aspect kept, padded with the mean colour), one forward
  pass, :class:`~facealign.codecs.BottomUpCodec` decoding, and the exact inverse of the letterbox back to
  photo pixels; results are :class:`~facealign.types.FaceLandmarks` as the top-down ``Aligner`` gives.
* :func:`evaluate_multiface` measures as the FoxNet paper does (Sec. III, Table II): predicted faces are
  paired with ground-truth faces by the IoU of their landmark bounding boxes (Hungarian assignment,
  :func:`scipy.optimize.linear_sum_assignment`, a pair counts at IoU >= 0.5), giving precision, recall
  and F1 ("the F1 score to evaluate face detection"), and NME / FR / AUC (:mod:`facealign.metrics`) on
  the matched faces.
* :func:`evaluate_against_boxes` measures on photos with hand-drawn face boxes and no landmarks (the
  groups photos, issue 21): a predicted face is found when the centroid of its landmarks lies in a box,
  one face per box (:func:`match_in_boxes`); P / R / F1 over the boxes, and the NME of the found faces
  against the teacher's landmarks of their box where the teacher labelled it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from threadpoolctl import threadpool_limits
from torch import nn

from . import metrics
from .codecs.bottomup import BottomUpCodec, DecodedFace
from .evaluate import FaceMatch
from .geometry import apply_affine, box_iou, invert_affine
from .imageio import ImageInput, to_rgb_uint8
from .landmarks import SCHEMES, get_scheme
from .models.zoo import IMAGENET_MEAN, IMAGENET_STD, create_model, get_model_card
from .runtime import torch_threads
from .types import Box, FaceLandmarks

__all__ = [
    "IOU_THRESHOLD",
    "FoxNetPredictor",
    "MultiFaceResult",
    "evaluate_against_boxes",
    "evaluate_multiface",
    "landmark_boxes",
    "letterbox",
    "match_by_iou",
    "match_in_boxes",
]

#: A predicted face matches a ground-truth face at this IoU of their landmark boxes or more.
IOU_THRESHOLD = 0.5


# ----------------------------------------------------------------------------------------- letterbox


def letterbox(rgb: np.ndarray, size: int, *, fill: Sequence[float] = IMAGENET_MEAN) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``rgb`` so its longer side is ``size`` and pad it, centred, to ``size x size`` with ``fill``.

    Returns the ``(size, size, 3)`` image and the ``(2, 3)`` photo -> input matrix in the pixel
    convention of :mod:`facealign.types` (``cv2.resize`` maps ``x -> (x + 0.5) s - 0.5``, the padding adds
    an integer offset): ``x' = s_x x + (s_x / 2 - 1/2 + o_x)``.
    """
    h, w = rgb.shape[:2]
    if h < 1 or w < 1 or rgb.ndim != 3:
        raise ValueError(f"letterbox: expected an (H, W, 3) image, got shape {rgb.shape}")
    s = size / max(h, w)
    nw, nh = max(1, min(size, round(w * s))), max(1, min(size, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    out = np.empty((size, size, 3), dtype=rgb.dtype)
    out[:] = np.round(np.asarray(fill)).astype(rgb.dtype)
    out[oy : oy + nh, ox : ox + nw] = resized
    sx, sy = nw / w, nh / h
    matrix = np.array([[sx, 0.0, 0.5 * sx - 0.5 + ox], [0.0, sy, 0.5 * sy - 0.5 + oy]])
    return out, matrix


# ----------------------------------------------------------------------------------------- predictor


class FoxNetPredictor:
    """Landmarks of every face of a photo with one bottom-up network pass.

    Args:
        model: a registered bottom-up model name (``"foxnet_cpu_68"``) or a built ``nn.Module`` returning
            ``(segmentation, embedding)`` with ``num_points`` and ``input_size`` attributes.
        pretrained: load the shipped weights (default: when the model's card lists them).
        codec: decoding settings (default: :class:`BottomUpCodec` at the model's sizes).
        scheme: landmark scheme name (default: the card's, else the scheme with ``num_points`` points).
        mean, std: RGB normalisation (default: the card's, else ImageNet's).
        device: torch device; threads: intra-op threads of the forward pass and the decode.
    """

    def __init__(
        self,
        model: str | nn.Module = "foxnet_cpu_68",
        *,
        pretrained: bool | None = None,
        codec: BottomUpCodec | None = None,
        scheme: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        device: str = "cpu",
        threads: int = 1,
    ) -> None:
        card = None
        if isinstance(model, str):
            card = get_model_card(model)
            net = create_model(model, pretrained=card.weights is not None if pretrained is None else bool(pretrained))
        elif isinstance(model, nn.Module):
            net = model
        else:
            raise TypeError(f"FoxNetPredictor: model must be a registered name or an nn.Module, got {type(model).__name__}")
        for attr in ("num_points", "input_size"):
            if not hasattr(net, attr):
                raise ValueError(f"FoxNetPredictor: the model has no {attr!r} attribute (is it a bottom-up model?)")
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.threads = int(threads)
        self.input_size = int(net.input_size)
        k = int(net.num_points)
        stride = int(getattr(net, "stride", 4))
        self.codec = codec or BottomUpCodec(
            input_size=self.input_size, heatmap_size=self.input_size // stride, num_points=k,
            sigma=card.sigma if card is not None else 1.0,
        )
        if self.codec.num_points != k or self.codec.input_size != self.input_size:
            raise ValueError(f"FoxNetPredictor: codec {self.codec!r} does not fit a {k}-point model at {self.input_size} px")
        name = scheme or (card.scheme if card is not None else str(k))
        self.scheme = get_scheme(name) if name in SCHEMES and get_scheme(name).num_points == k else None
        self.scheme_name = name
        self.mean = np.asarray(mean if mean is not None else (card.mean if card else IMAGENET_MEAN), dtype=np.float32)
        self.std = np.asarray(std if std is not None else (card.std if card else IMAGENET_STD), dtype=np.float32)

    def forward(self, image: ImageInput, *, color: str | None = None) -> tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray]:
        """Letterbox + network: the raw ``(segmentation (K, h, w), embedding (n, h, w))`` of ``image`` and
        the photo -> input matrix."""
        rgb = to_rgb_uint8(image, color=color)
        boxed, matrix = letterbox(rgb, self.input_size, fill=self.mean)
        x = (boxed.astype(np.float32) - self.mean) / self.std
        x = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)
        with torch_threads(self.threads), torch.no_grad():
            seg, emb = self.net(x)
        return (seg[0], emb[0]), matrix

    def decode(self, output: tuple[torch.Tensor, torch.Tensor], matrix: np.ndarray) -> list[FaceLandmarks]:
        """Group the candidates into faces and map them back to photo pixels (NaN where not found)."""
        # numpy's BLAS (mean shift) gets the same thread budget: its default pool over busy cores is 7x slower
        with torch_threads(self.threads), threadpool_limits(limits=self.threads if self.threads > 0 else None):
            faces = self.codec.decode(output[0], output[1])
        back = invert_affine(matrix)
        return [self._landmarks(f, back) for f in faces]

    def __call__(self, image: ImageInput, *, color: str | None = None) -> list[FaceLandmarks]:
        """Landmarks of every face in ``image`` (``[]`` when there is none), best first. ``image``: a path,
        a PIL image, or a numpy array with its channel order in ``color`` (``"rgb"`` or ``"bgr"``)."""
        output, matrix = self.forward(image, color=color)
        return self.decode(output, matrix)

    def _landmarks(self, face: DecodedFace, back: np.ndarray) -> FaceLandmarks:
        pts = apply_affine(back, face.points)  # NaN stays NaN
        five = self.scheme.to_five(pts) if self.scheme is not None else np.full((5, 2), np.nan)
        return FaceLandmarks(
            points=pts.astype(np.float32),
            scores=np.clip(face.scores, 0.0, 1.0).astype(np.float32),
            box=Box.from_points(pts),
            detector_score=float(face.scores.mean()),
            align_points=five.astype(np.float32),
            scheme=self.scheme_name,
        )


# ---------------------------------------------------------------------------------------- evaluation


def _as_points(face: Any) -> np.ndarray:
    """``(K, 2)`` float64 of an array, a :class:`FaceLandmarks` / :class:`Sample` / :class:`DecodedFace`."""
    return np.asarray(getattr(face, "points", face), dtype=np.float64)


def landmark_boxes(faces: Sequence[Any]) -> np.ndarray:
    """Tight boxes ``[x1, y1, x2, y2]`` around each face's finite points. Shape: ``F x (K, 2) -> (F, 4)``."""
    return np.array([Box.from_points(_as_points(f)).as_array() for f in faces]).reshape(-1, 4)


def match_by_iou(pred_boxes: np.ndarray, gt_boxes: np.ndarray, *, threshold: float = IOU_THRESHOLD) -> FaceMatch:
    """Hungarian assignment maximising the summed IoU; a pair counts when its IoU >= ``threshold``.

    Shape: ``(N, 4), (M, 4)`` -> :class:`~facealign.evaluate.FaceMatch` (``pairs`` as ``(pred, gt)``, by gt index).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"match_by_iou: threshold must be in (0, 1], got {threshold}")
    iou = box_iou(pred_boxes, gt_boxes)
    pairs: list[tuple[int, int]] = []
    if iou.size:
        rows, cols = linear_sum_assignment(-iou)
        pairs = sorted(((int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= threshold), key=lambda p: p[1])
    return _face_match(pairs, iou.shape[0], iou.shape[1])


def _face_match(pairs: list[tuple[int, int]], n_pred: int, n_gt: int) -> FaceMatch:
    """``pairs`` ``(pred, gt)`` with the indices of ``n_pred`` / ``n_gt`` they leave unmatched."""
    got_p, got_g = {p for p, _ in pairs}, {g for _, g in pairs}
    return FaceMatch(
        pairs=pairs,
        unmatched_gt=[j for j in range(n_gt) if j not in got_g],
        unmatched_pred=[i for i in range(n_pred) if i not in got_p],
    )


@dataclass
class MultiFaceResult:
    """What :func:`evaluate_multiface` measured.

    precision = tp / predicted faces, recall = tp / ground-truth faces, f1 their harmonic mean (0 where
    undefined); tp / fp / fn: face counts; nmes: ``(M,)`` NME of each matched face with at least one
    countable point; summary: ``{"nme", "fr", "auc", "count"}`` of them (:func:`facealign.metrics.summarize`);
    missing_points: fraction of the matched faces' annotated (and visible) points the prediction left
    out (NaN); those points are not in the NME.
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


def evaluate_multiface(
    pred: Sequence[Sequence[Any]],
    gt: Sequence[Sequence[Any]],
    *,
    scheme: str,
    norm: str = "interocular",
    threshold: float = 0.1,
    iou_threshold: float = IOU_THRESHOLD,
    gt_visible: Sequence[Sequence[np.ndarray]] | None = None,
) -> MultiFaceResult:
    """Detection P / R / F1 and landmark NME / FR / AUC over images of several faces.

    Args:
        pred, gt: per image, a list of faces (``(K, 2)`` arrays, or objects with ``.points``), same scheme.
        scheme, norm: the NME normaliser (:func:`facealign.metrics.nme`).
        threshold: failure / AUC threshold. iou_threshold: of :func:`match_by_iou`.
        gt_visible: per image, per face ``(K,)`` bool; False points are not measured.
    """
    if len(pred) != len(gt):
        raise ValueError(f"evaluate_multiface: pred and gt must list the same images, got {len(pred)} and {len(gt)}")
    tp = n_pred = n_gt = 0
    matched_pred, matched_gt, matched_mask = [], [], []
    for i, (p_faces, g_faces) in enumerate(zip(pred, gt)):
        p_pts = [_as_points(f) for f in p_faces]
        g_pts = [_as_points(f) for f in g_faces]
        n_pred, n_gt = n_pred + len(p_pts), n_gt + len(g_pts)
        if not p_pts or not g_pts:
            continue
        match = match_by_iou(landmark_boxes(p_pts), landmark_boxes(g_pts), threshold=iou_threshold)
        tp += len(match.pairs)
        for pi, gi in match.pairs:
            mask = np.isfinite(g_pts[gi]).all(axis=1)
            if gt_visible is not None:
                mask &= np.asarray(gt_visible[i][gi], dtype=bool)
            matched_pred.append(p_pts[pi])
            matched_gt.append(g_pts[gi])
            matched_mask.append(mask)
    return _result(tp, n_pred, n_gt, matched_pred, matched_gt, matched_mask, scheme=scheme, norm=norm, threshold=threshold)


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


def match_in_boxes(centroids: np.ndarray, boxes: np.ndarray) -> FaceMatch:
    """One-to-one pairs of face centroids and boxes: a pair is allowed when the centroid lies in the box
    (edges included); among the allowed pairs, the Hungarian assignment of most pairs, then least summed
    distance from centroid to box centre in box sizes ``sqrt(w h)``.

    Shape: ``(N, 2), (M, 4)`` -> :class:`~facealign.evaluate.FaceMatch` (``pairs`` as ``(face, box)``, by box index).
    """
    c = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    inside = (
        (c[:, None, 0] >= b[None, :, 0]) & (c[:, None, 0] <= b[None, :, 2]) & (c[:, None, 1] >= b[None, :, 1]) & (c[:, None, 1] <= b[None, :, 3])
    )
    pairs: list[tuple[int, int]] = []
    if inside.any():
        size = np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
        dist = np.linalg.norm(c[:, None, :] - 0.5 * (b[None, :, :2] + b[None, :, 2:]), axis=-1) / size[None, :]
        # An allowed pair costs -1 plus its distance scaled below 1 / (n + 1), n = min(N, M): k + 1 allowed
        # pairs always cost less than k, so the count comes first; a forbidden pair costs n + 1 (only
        # taken where nothing else is left, then dropped).
        n = min(c.shape[0], b.shape[0])
        allowed = np.where(inside, dist, 0.0) / ((1.0 + np.where(inside, dist, 0.0).max()) * (n + 1))
        cost = np.where(inside, allowed - 1.0, float(n + 1))
        rows, cols = linear_sum_assignment(cost)
        pairs = sorted(((int(r), int(k)) for r, k in zip(rows, cols) if inside[r, k]), key=lambda p: p[1])
    return _face_match(pairs, len(c), len(b))


def evaluate_against_boxes(
    pred: Sequence[Sequence[Any]],
    boxes: Sequence[np.ndarray],
    teacher: Sequence[Sequence[np.ndarray | None]],
    *,
    scheme: str,
    norm: str = "interocular",
    threshold: float = 0.1,
) -> MultiFaceResult:
    """Face P / R / F1 against hand-drawn boxes and NME against the teacher's landmarks (module docstring).

    Args:
        pred: per photo, its predicted faces (``(K, 2)`` arrays or objects with ``.points``).
        boxes: per photo, ``(M, 4)`` hand-drawn boxes ``[x1, y1, x2, y2]``.
        teacher: per photo, per box, the teacher's ``(K, 2)`` points or ``None`` (found, but not measured).
        scheme, norm, threshold: as :func:`evaluate_multiface`.
    """
    if not len(pred) == len(boxes) == len(teacher):
        raise ValueError(f"evaluate_against_boxes: pred, boxes and teacher must list the same photos, got {len(pred)}, {len(boxes)}, {len(teacher)}")
    tp = n_pred = n_gt = 0
    matched_pred, matched_gt, matched_mask = [], [], []
    for p_faces, b, t in zip(pred, boxes, teacher):
        p_pts = [_as_points(f) for f in p_faces]
        b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
        if len(t) != len(b):
            raise ValueError(f"evaluate_against_boxes: {len(b)} boxes but {len(t)} teacher entries in one photo")
        n_pred, n_gt = n_pred + len(p_pts), n_gt + len(b)
        centroids = np.array([np.nanmean(p, axis=0) if np.isfinite(p).any() else [np.nan, np.nan] for p in p_pts]).reshape(-1, 2)
        match = match_in_boxes(centroids, b)
        tp += len(match.pairs)
        for pi, bi in match.pairs:
            if t[bi] is not None:
                g = np.asarray(t[bi], dtype=np.float64)
                matched_pred.append(p_pts[pi])
                matched_gt.append(g)
                matched_mask.append(np.isfinite(g).all(axis=1))
    return _result(tp, n_pred, n_gt, matched_pred, matched_gt, matched_mask, scheme=scheme, norm=norm, threshold=threshold)
