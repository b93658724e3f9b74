"""The bottom-up (FoxNet) codec: many faces' landmarks <-> landmark segmentation + pixel embeddings.

FoxNet paper, Sec. II (Fig. 2 A, Fig. 3). One object makes the training targets and decodes the outputs:

**encode** (faces ``list[(K, 2)]`` in input pixels, NaN = missing or occluded) at the output stride ``s``:

* ``segmentation (K, h, w)``: per landmark channel, an unnormalised Gaussian (peak 1, ``sigma`` cells)
  at each face's exact sub-pixel position, the maximum over faces (the paper segments "landmark
  candidates" without giving the region's shape; a Gaussian region lets decoding refine below a cell);
* ``instance (h, w)`` int64: the per-pixel face id for the Fox loss, ``0`` off the faces and ``f + 1`` on
  face ``f``'s facial pixels (Eq. 1, "all facial pixels"): the convex hull of its visible landmarks, plus
  the cell of each visible landmark; faces are painted in list order, so a later face covers an earlier
  one as in a composed canvas (:func:`facealign.data.multiface.compose_canvas`).

**decode** (one image's ``(K, h, w)`` logits and ``(n, h, w)`` embeddings), as Fig. 3 and Sec. II-C, in
numpy and OpenCV (the torch-free inference package runs it; training's torch outputs are converted to numpy
by their caller, :meth:`facealign.bottomup.FoxNetPredictor.decode`):

1. per-channel non-maximum suppression: a cell is a candidate when it equals the ``nms_kernel`` max-pool
   of its channel and its probability ``sigmoid(logit)`` reaches ``threshold`` (at most
   ``max_per_channel`` per channel, best first); done on the logits (the sigmoid keeps the order, and
   float rounding of the probabilities would make ties of neighbours that differ);
2. sub-pixel refinement: one Newton step of the log-probability ``log sigmoid(logit)`` along x and along
   y from the three cells around the peak (exact for a Gaussian; clipped to half a cell);
3. the candidates' embeddings, normalised to unit length (the Fox loss only shapes their direction), are
   grouped with ``bandwidth``: ``grouping="anchor"`` (default) seeds a face per peak of the landmark with
   the most candidates and gives every other candidate to its nearest seed in one pass
   (:func:`facealign.codecs.anchor_grouping.anchor_grouping`, near-linear in the number of faces);
   ``grouping="mean_shift"`` is the paper's mean shift over all candidates
   (:func:`facealign.codecs.mean_shift.mean_shift`), whose cost grows faster with the crowd;
4. each group is a face: per landmark the candidate with the highest score; a landmark with no
   candidate stays NaN with score 0 (never invented); groups with fewer than ``min_points`` landmarks
   are dropped. Faces come out by total score, best first.

Coordinates follow :mod:`facealign.types`: output cell ``(i, j)`` is centred at input pixel
``((j + 0.5) s - 0.5, (i + 0.5) s - 0.5)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import cv2
import numpy as np

from ..types import heatmap_to_input, input_to_heatmap
from .anchor_grouping import anchor_grouping
from .mean_shift import mean_shift

__all__ = ["BANDWIDTH", "DELTA_D", "GROUPINGS", "BottomUpCodec", "BottomUpTargets", "DecodedFace", "nms_peaks", "refine_peaks", "log_sigmoid", "sigmoid"]

#: Distance margin of the Fox loss (:mod:`facealign.losses.fox_loss`, which imports it from here): instance
#: means are pushed to a cosine distance of at least ``2 * DELTA_D``; not in the paper.
DELTA_D = 0.5
#: Mean-shift bandwidth on unit embeddings. The Fox loss pushes instance means to a cosine distance of
#: at least ``2 delta_d``, i.e. a chord of ``sqrt(2 * 2 delta_d)``; half of it separates two such means.
#: The paper does not give its bandwidth.
BANDWIDTH = math.sqrt(2.0 * 2.0 * DELTA_D) / 2.0
#: Candidate grouping methods (module docstring, step 3); the first is the default.
GROUPINGS = ("anchor", "mean_shift")
#: Default candidate threshold on the landmark probability.
THRESHOLD = 0.3
#: Default NMS window (cells).
NMS_KERNEL = 3
#: Default cap on candidates per landmark channel (the most faces one image can yield).
MAX_PER_CHANNEL = 128
#: Probabilities are clamped to this before the logarithm of the sub-pixel step.
LOG_FLOOR = 1e-10
#: Largest sub-pixel step (cells): the peak of a unimodal blob lies within half a cell of its best cell.
MAX_STEP = 0.5
#: Hull vertices are drawn with this many fractional bits (OpenCV ``shift``).
HULL_SHIFT = 4


class BottomUpTargets(NamedTuple):
    """segmentation: ``(K, h, w)`` float32 in [0, 1]; instance: ``(h, w)`` int64 face ids (0: none)."""

    segmentation: np.ndarray
    instance: np.ndarray


class DecodedFace(NamedTuple):
    """points: ``(K, 2)`` float64 input pixels (NaN where the landmark was not found); scores: ``(K,)`` in [0, 1]."""

    points: np.ndarray
    scores: np.ndarray


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` elementwise, in float64."""
    return np.exp(log_sigmoid(logits))


def log_sigmoid(logits: np.ndarray) -> np.ndarray:
    """``log sigmoid(x) = -log(1 + exp(-x))`` elementwise, in float64, without overflow."""
    return -np.logaddexp(0.0, -np.asarray(logits, dtype=np.float64))


def nms_peaks(
    probs: np.ndarray, *, kernel: int = NMS_KERNEL, threshold: float = THRESHOLD, max_per_channel: int = MAX_PER_CHANNEL
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel max-pool NMS. Shape: ``(K, h, w) -> channel, row, col (M,) int64, score (M,)``.

    ``probs`` may be any scores that rise with the probability (the codec gives logits, and the
    threshold's logit). A cell is kept when it equals the maximum of its ``kernel x kernel`` window in its own channel
    (ties all kept; the window stops at the map's border) and is ``>= threshold``; per channel at most
    ``max_per_channel``, highest first (equal scores in raster order). Candidates come channel by channel.
    """
    p = np.asarray(probs)
    if p.ndim != 3:
        raise ValueError(f"nms_peaks: probabilities must be (K, h, w), got {tuple(p.shape)}")
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"nms_peaks: kernel must be odd and >= 1, got {kernel}")
    p = p.astype(np.promote_types(p.dtype, np.float32), copy=False)  # cv2.dilate: float32 or float64
    window = np.ones((kernel, kernel), dtype=np.uint8)
    # cv2.dilate is the max filter; its default border leaves cells outside the map out of the maximum
    pooled = np.stack([cv2.dilate(c, window) for c in p]) if kernel > 1 else p
    channel, row, col = np.nonzero((p == pooled) & (p >= threshold))
    score = p[channel, row, col]
    order = np.lexsort((-score, channel))  # by channel, best first; stable, so ties stay in raster order
    channel, row, col, score = channel[order], row[order], col[order], score[order]
    rank = np.arange(len(channel)) - np.searchsorted(channel, channel, side="left")
    keep = rank < int(max_per_channel)
    return channel[keep], row[keep], col[keep], score[keep]


def refine_peaks(logits: np.ndarray, channel: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Sub-pixel ``(x, y)`` cells of peaks: one Newton step of ``log p`` per axis from the 3 cells around.

    ``dx = (L[x-1] - L[x+1]) / (2 (L[x-1] - 2 L[x] + L[x+1]))`` with ``L = log p = log sigmoid(logit)``
    (exact for a Gaussian ``p``; ``p`` floored at :data:`LOG_FLOOR`), 0 where the curvature is not negative
    or at the border, clipped to ``+-0.5``. Shape: ``(K, h, w)`` logits, indices ``(M,)`` -> ``(M, 2)`` float64.
    """
    z = np.asarray(logits)
    k, h, w = z.shape
    channel, row, col = (np.asarray(i, dtype=np.int64) for i in (channel, row, col))
    floor = np.log(LOG_FLOOR)

    def step(centre: np.ndarray, n: int, at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        near = (np.maximum(centre - 1, 0), centre, np.minimum(centre + 1, n - 1))
        left, mid, right = (np.maximum(log_sigmoid(at(i)), floor) for i in near)
        curv = left - 2.0 * mid + right
        inside = (centre > 0) & (centre < n - 1) & (curv < 0)
        d = 0.5 * (left - right) / np.where(inside, curv, 1.0)
        return np.clip(np.where(inside, d, 0.0), -MAX_STEP, MAX_STEP)

    dx = step(col, w, lambda c: z[channel, row, c])
    dy = step(row, h, lambda r: z[channel, r, col])
    return np.stack([col + dx, row + dy], axis=-1)


class BottomUpCodec:
    """Matched encode / decode for FoxNet's landmark segmentation + pixel embeddings (module docstring).

    Args (keyword only):
        input_size: side of the square network input (pixels).
        heatmap_size: side of the outputs (cells); ``stride = input_size / heatmap_size``.
        num_points: K.
        sigma: Gaussian sigma of the segmentation targets (cells).
        threshold, nms_kernel, max_per_channel: candidate selection (:func:`nms_peaks`).
        bandwidth: mean-shift bandwidth on unit embeddings.
        min_points: fewest landmarks a group needs to be a face (default ``max(2, ceil(K / 4))``).
        grouping: ``"anchor"`` (near-linear, default) or ``"mean_shift"`` (the paper's), module docstring.
    """

    def __init__(
        self,
        *,
        input_size: int,
        heatmap_size: int,
        num_points: int,
        sigma: float = 1.0,
        threshold: float = THRESHOLD,
        nms_kernel: int = NMS_KERNEL,
        max_per_channel: int = MAX_PER_CHANNEL,
        bandwidth: float = BANDWIDTH,
        min_points: int | None = None,
        grouping: str = GROUPINGS[0],
    ) -> None:
        if int(input_size) != input_size or int(heatmap_size) != heatmap_size or heatmap_size < 1 or input_size < 1:
            raise ValueError(f"BottomUpCodec: sizes must be positive integers, got {input_size}, {heatmap_size}")
        if input_size % heatmap_size:
            raise ValueError(f"BottomUpCodec: input_size {input_size} must be a multiple of heatmap_size {heatmap_size}")
        if num_points < 1:
            raise ValueError(f"BottomUpCodec: num_points must be >= 1, got {num_points}")
        if not sigma > 0 or not bandwidth > 0:
            raise ValueError(f"BottomUpCodec: sigma and bandwidth must be > 0, got {sigma}, {bandwidth}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"BottomUpCodec: threshold must be in (0, 1), got {threshold}")
        if grouping not in GROUPINGS:
            raise ValueError(f"BottomUpCodec: grouping must be one of {GROUPINGS}, got {grouping!r}")
        self.input_size = int(input_size)
        self.heatmap_size = int(heatmap_size)
        self.stride = self.input_size // self.heatmap_size
        self.num_points = int(num_points)
        self.sigma = float(sigma)
        self.threshold = float(threshold)
        self.nms_kernel = int(nms_kernel)
        self.max_per_channel = int(max_per_channel)
        self.bandwidth = float(bandwidth)
        self.min_points = max(2, math.ceil(num_points / 4)) if min_points is None else int(min_points)
        self.grouping = grouping

    def replace(self, **changes: Any) -> BottomUpCodec:
        """A new codec with ``changes`` (constructor arguments) and every other setting as here, checked
        like any new codec."""
        settings = dict(
            input_size=self.input_size, heatmap_size=self.heatmap_size, num_points=self.num_points, sigma=self.sigma,
            threshold=self.threshold, nms_kernel=self.nms_kernel, max_per_channel=self.max_per_channel,
            bandwidth=self.bandwidth, min_points=self.min_points, grouping=self.grouping,
        )
        unknown = sorted(set(changes) - set(settings))
        if unknown:
            raise TypeError(f"BottomUpCodec.replace: unknown settings {unknown}; expected some of {sorted(settings)}")
        return BottomUpCodec(**{**settings, **changes})

    def __repr__(self) -> str:
        return (
            f"BottomUpCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, num_points={self.num_points}, "
            f"sigma={self.sigma}, threshold={self.threshold}, bandwidth={self.bandwidth:.3f}, min_points={self.min_points}, grouping={self.grouping!r})"
        )

    # ------------------------------------------------------------------------------------------ encode
    def encode(self, faces: Sequence[np.ndarray]) -> BottomUpTargets:
        """Targets of one canvas: ``faces`` is a list of ``(K, 2)`` input-pixel points (NaN: not visible)."""
        k, hs = self.num_points, self.heatmap_size
        cells = []
        for i, pts in enumerate(faces):
            p = np.asarray(pts, dtype=np.float64)
            if p.shape != (k, 2):
                raise ValueError(f"BottomUpCodec.encode: face {i} must have points of shape ({k}, 2), got {p.shape}")
            cells.append(input_to_heatmap(p, self.stride))
        segmentation = np.zeros((k, hs, hs), dtype=np.float32)
        instance = np.zeros((hs, hs), dtype=np.int64)
        if not cells:
            return BottomUpTargets(segmentation, instance)
        import torch  # training side: the targets are drawn by the heatmap codec's Gaussians

        from .heatmap import gaussian_heatmaps

        maps = gaussian_heatmaps(torch.from_numpy(np.stack(cells)).float(), width=hs, height=hs, sigma=self.sigma)
        segmentation = torch.nan_to_num(maps, nan=0.0).amax(dim=0).numpy()
        for f, c in enumerate(cells):
            c = c[np.isfinite(c).all(axis=1)]
            if len(c) >= 3:
                hull = cv2.convexHull(np.round(c * 2**HULL_SHIFT).astype(np.int32))
                mask = np.zeros((hs, hs), dtype=np.uint8)
                cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=HULL_SHIFT)
                instance[mask > 0] = f + 1
            for j, i in np.round(c).astype(np.int64):
                if 0 <= i < hs and 0 <= j < hs:
                    instance[i, j] = f + 1
        return BottomUpTargets(segmentation.astype(np.float32), instance)

    def ignore_cells(self, boxes: np.ndarray) -> np.ndarray:
        """Output cells whose centre lies in one of ``boxes`` (``[x1, y1, x2, y2]`` input pixels): the regions
        a face without labels covers, which the losses leave out. Shape: ``(G, 4) -> (h, w)`` bool."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        centres = heatmap_to_input(np.arange(self.heatmap_size, dtype=np.float64), self.stride)
        inside_x = (centres[None, :] >= b[:, 0:1]) & (centres[None, :] <= b[:, 2:3])  # (G, w)
        inside_y = (centres[None, :] >= b[:, 1:2]) & (centres[None, :] <= b[:, 3:4])  # (G, h)
        return (inside_y[:, :, None] & inside_x[:, None, :]).any(axis=0)

    # ------------------------------------------------------------------------------------------ decode
    def candidates(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Steps 1-2: landmark candidates of one image's ``(K, h, w)`` logits.

        Returns channel ``(M,)``, integer cell ``(M, 2)`` as ``(row, col)``, sub-pixel ``(x, y)`` cells
        ``(M, 2)`` and scores ``(M,)``.
        """
        logits = np.asarray(logits)
        if logits.ndim != 3 or logits.shape[0] != self.num_points:
            raise ValueError(f"BottomUpCodec: logits must be ({self.num_points}, h, w), got {tuple(logits.shape)}")
        ch, row, col, top = nms_peaks(
            logits, kernel=self.nms_kernel, threshold=math.log(self.threshold / (1.0 - self.threshold)),
            max_per_channel=self.max_per_channel,
        )
        score = sigmoid(top)
        keep = score >= self.threshold  # the threshold's logit is rounded: the probability decides
        ch, row, col, score = ch[keep], row[keep], col[keep], score[keep]
        return ch, np.stack([row, col], 1), refine_peaks(logits, ch, row, col), score

    def decode(self, logits: np.ndarray, embedding: np.ndarray) -> list[DecodedFace]:
        """Faces of one image. Shape: ``(K, h, w)`` logits, ``(n, h, w)`` embeddings (numpy) -> list of
        :class:`DecodedFace` (``(K, 2)`` input pixels, ``(K,)`` scores), best first; ``[]`` when none."""
        logits, embedding = np.asarray(logits), np.asarray(embedding)
        if embedding.ndim != 3 or embedding.shape[1:] != logits.shape[1:]:
            raise ValueError(
                f"BottomUpCodec: embedding must be (n, h, w) with the logits' h, w {tuple(logits.shape[1:])}, got {tuple(embedding.shape)}"
            )
        channel, cell, xy, score = self.candidates(logits)
        if len(channel) == 0:
            return []
        emb = embedding[:, cell[:, 0], cell[:, 1]].T.astype(np.float64)
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        if self.grouping == "mean_shift":
            labels, _ = mean_shift(emb, bandwidth=self.bandwidth)
        else:
            labels = anchor_grouping(emb, channel, score, bandwidth=self.bandwidth)
        return self.assemble(labels, channel, heatmap_to_input(xy.astype(np.float64), self.stride), score)

    def assemble(self, labels: np.ndarray, channel: np.ndarray, points: np.ndarray, score: np.ndarray) -> list[DecodedFace]:
        """Step 4: one face per group label; per landmark the best candidate (``(M,)`` labels / channels /
        scores, ``(M, 2)`` points) -> faces with at least ``min_points`` landmarks, by total score."""
        k = self.num_points
        groups = int(labels.max()) + 1 if len(labels) else 0
        pts = np.full((groups, k, 2), np.nan)
        scores = np.zeros((groups, k))
        order = np.argsort(-score, kind="stable")
        _, first = np.unique(labels[order] * k + channel[order], return_index=True)  # best per (group, landmark)
        best = order[first]
        pts[labels[best], channel[best]] = points[best]
        scores[labels[best], channel[best]] = score[best]
        found = np.isfinite(pts[..., 0]).sum(axis=1)
        keep = np.flatnonzero(found >= self.min_points)
        keep = keep[np.argsort(-scores[keep].sum(axis=1), kind="stable")]
        return [DecodedFace(pts[g], scores[g]) for g in keep]

    def decode_batch(self, logits: np.ndarray, embedding: np.ndarray) -> list[list[DecodedFace]]:
        """:meth:`decode` per image of ``(B, K, h, w)`` logits and ``(B, n, h, w)`` embeddings."""
        if logits.ndim != 4 or embedding.ndim != 4 or logits.shape[0] != embedding.shape[0]:
            raise ValueError(
                f"BottomUpCodec: expected (B, K, h, w) logits and (B, n, h, w) embeddings, got {tuple(logits.shape)} and {tuple(embedding.shape)}"
            )
        return [self.decode(lg, em) for lg, em in zip(logits, embedding)]
