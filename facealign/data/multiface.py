"""Multi-face training canvases composed from single-face photos, for bottom-up models (FoxNet).

The FoxNet paper trains on its own multi-face set (AISA, built on 300-W) with random 640 x 640 crops
(Sec. III, III-D). We have single-face photos only (``../shared/data/faces``), so
:func:`compose_canvas` pastes several of them onto one canvas: each face is cut with a margin around its
landmarks, scaled to a random size, placed at a random position (faces may overlap) through a feathered
elliptical mask, over a background cut from another photo away from its face. A landmark covered by a
later-pasted face (mask above one half) or falling off the canvas is marked not visible.

:class:`MultiFaceDataset` draws the faces, background, sizes and positions of item ``i`` from
``np.random.default_rng([seed, epoch, i])`` (a resumed run sees the same canvases) and encodes the
targets with :class:`facealign.codecs.BottomUpCodec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..codecs.bottomup import BottomUpCodec, BottomUpTargets
from ..imageio import read_image
from ..landmarks import LandmarkScheme, get_scheme
from ..card import IMAGENET_MEAN, IMAGENET_STD
from ..geometry import warp
from ..types import Box, Sample
from .transforms import AugmentConfig, photometric

__all__ = ["Canvas", "EpochItems", "MultiFaceDataset", "background_patch", "compose_canvas"]

#: Margin around the landmark box, as a fraction of its longer side on each side, kept with a face.
MARGIN = 0.35
#: Range of a pasted face's landmark-box side, as a fraction of the canvas side.
FACE_SIZE = (0.15, 0.5)
#: Feathering of the paste mask: Gaussian sigma as a fraction of the pasted crop side.
FEATHER = 0.03
#: A point under a later face's mask above this value is occluded.
OCCLUDED_ALPHA = 0.5
#: Background strips narrower than this (pixels) are not used; the whole photo is blurred instead.
MIN_STRIP = 24
#: Blur (sigma, pixels of the canvas) of the fallback background.
FALLBACK_BLUR = 15.0
#: Default output stride of the targets (FoxNet's).
STRIDE = 4


class Canvas(NamedTuple):
    """image: ``(S, S, 3)`` uint8 RGB; points: per pasted face ``(K, 2)`` canvas pixels (coordinates kept
    for occluded points); visible: per face ``(K,)`` bool (False: occluded, off the canvas or unlabelled)."""

    image: np.ndarray
    points: list[np.ndarray]
    visible: list[np.ndarray]


def background_patch(rgb: np.ndarray, points: np.ndarray, *, size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``(size, size, 3)`` background from ``rgb`` that avoids its face.

    The face is the landmark box of ``points`` grown by :data:`MARGIN`; of the four strips of the photo
    around it (left, right, top, bottom) the largest is used, a random square of it scaled to ``size``.
    When every strip is narrower than :data:`MIN_STRIP` px, the whole photo blurred beyond recognition.
    """
    h, w = rgb.shape[:2]
    box = Box.from_points(points)
    grow = MARGIN * max(box.width, box.height)
    x1, y1 = max(0, int(box.x1 - grow)), max(0, int(box.y1 - grow))
    x2, y2 = min(w, int(np.ceil(box.x2 + grow)) + 1), min(h, int(np.ceil(box.y2 + grow)) + 1)
    strips = [(0, 0, x1, h), (x2, 0, w, h), (0, 0, w, y1), (0, y2, w, h)]  # (left, top, right, bottom)
    strips = [s for s in strips if min(s[2] - s[0], s[3] - s[1]) >= MIN_STRIP]
    if not strips:
        out = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(out, (0, 0), FALLBACK_BLUR)
    l, t, r, b = max(strips, key=lambda s: (s[2] - s[0]) * (s[3] - s[1]))
    side = min(r - l, b - t)
    ox = l + int(rng.integers(0, r - l - side + 1))
    oy = t + int(rng.integers(0, b - t - side + 1))
    patch = rgb[oy : oy + side, ox : ox + side]
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR)


def compose_canvas(
    faces: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    size: int,
    rng: np.random.Generator,
    background: np.ndarray | None = None,
    face_size: tuple[float, float] = FACE_SIZE,
    margin: float = MARGIN,
    placements: Sequence[tuple[float, float, float]] | None = None,
) -> Canvas:
    """Paste ``faces`` (``(rgb (H, W, 3) uint8, points (K, 2))`` in their photo's pixels; NaN points are
    carried as not visible) onto one ``size x size`` canvas, in order (later faces cover earlier ones).

    Each face's landmark box side becomes ``uniform(*face_size) * size`` pixels; its centre is placed so
    that the box lies on the canvas. ``placements``: per face ``(centre x, centre y, box side)`` in canvas
    pixels instead of the random draws (a grid for benchmarks). ``background``: ``(size, size, 3)`` uint8
    (see :func:`background_patch`); default mid-grey.
    """
    if size < 8:
        raise ValueError(f"compose_canvas: size must be >= 8 pixels, got {size}")
    if not 0 < face_size[0] <= face_size[1] <= 1:
        raise ValueError(f"compose_canvas: face_size must be 0 < lo <= hi <= 1 (fraction of the canvas), got {face_size}")
    if placements is not None and len(placements) != len(faces):
        raise ValueError(f"compose_canvas: {len(faces)} faces but {len(placements)} placements")
    if background is None:
        canvas = np.full((size, size, 3), 127.0, dtype=np.float32)
    else:
        if background.shape != (size, size, 3):
            raise ValueError(f"compose_canvas: background must be ({size}, {size}, 3), got {background.shape}")
        canvas = background.astype(np.float32)
    all_points: list[np.ndarray] = []
    all_visible: list[np.ndarray] = []
    for n, (rgb, pts) in enumerate(faces):
        pts = np.asarray(pts, dtype=np.float64)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"compose_canvas: face {n} image must be (H, W, 3), got {rgb.shape}")
        box = Box.from_points(pts)
        side = max(box.width, box.height)
        if placements is None:
            target = float(rng.uniform(*face_size)) * size
            dx = float(rng.uniform(target / 2, size - target / 2)) if target < size else size / 2
            dy = float(rng.uniform(target / 2, size - target / 2)) if target < size else size / 2
        else:
            dx, dy, target = map(float, placements[n])
        scale = target / side
        cx, cy = box.center
        m = np.array([[scale, 0.0, dx - scale * cx], [0.0, scale, dy - scale * cy]])
        warped = warp(rgb, m, size)
        # Mask: ellipse over the face + margin, feathered, and zero where the photo has no pixels.
        half = 0.5 * target * (1.0 + 2.0 * margin)
        mask = np.zeros((size, size), dtype=np.float32)
        cv2.ellipse(mask, (int(round(dx)), int(round(dy))), (int(round(half)), int(round(half))), 0, 0, 360, 1.0, -1)
        sigma = max(FEATHER * 2 * half, 0.5)
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        inside = cv2.warpAffine(np.ones(rgb.shape[:2], np.float32), m, (size, size), flags=cv2.INTER_NEAREST)
        alpha = (mask * inside)[..., None]
        canvas = canvas * (1.0 - alpha) + warped.astype(np.float32) * alpha
        new = pts @ m[:, :2].T + m[:, 2]
        for prev, vis in zip(all_points, all_visible):  # this face covers earlier ones
            ok = vis.copy()
            cols = np.clip(np.round(prev[ok, 0]).astype(int), 0, size - 1)
            rows = np.clip(np.round(prev[ok, 1]).astype(int), 0, size - 1)
            vis[np.flatnonzero(ok)[alpha[rows, cols, 0] > OCCLUDED_ALPHA]] = False
        on_canvas = np.isfinite(new).all(axis=1) & (new >= -0.5).all(axis=1) & (new <= size - 0.5).all(axis=1)
        all_points.append(new)
        all_visible.append(on_canvas)
    return Canvas(np.clip(canvas + 0.5, 0, 255).astype(np.uint8), all_points, all_visible)


class EpochItems(Dataset):
    """What FoxNet's training sets share: ``length`` items an epoch drawn from ``(seed, epoch, index)``,
    photometric ``augment``, ``flip_prob``, the ``mean`` / ``std`` normalisation, ``max_faces`` padding, and
    :meth:`item`, the one item layout (module docstring of :class:`MultiFaceDataset`)."""

    def __init__(
        self, *, codec: BottomUpCodec, length: int, max_faces: int, flip_prob: float, augment: AugmentConfig | None,
        mean: Sequence[float], std: Sequence[float], seed: int,
    ) -> None:
        self.codec = codec
        self.length = int(length)
        self.max_faces = int(max_faces)
        self.flip_prob = float(flip_prob)
        self.augment = augment or AugmentConfig.none()
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def item(
        self, image: np.ndarray, targets: BottomUpTargets, points: Sequence[np.ndarray], visible: Sequence[np.ndarray], *,
        index: int, ignore: np.ndarray | None = None,
    ) -> dict[str, torch.Tensor]:
        """The item of a ``(S, S, 3)`` uint8 ``image`` with its ``targets``, faces' ``points`` / ``visible``
        (the first ``max_faces`` kept in those two keys) and ``ignore`` cells (default none)."""
        f, k = self.max_faces, self.codec.num_points
        n = min(len(points), f)
        pts = np.full((f, k, 2), np.nan, dtype=np.float32)
        vis = np.zeros((f, k), dtype=bool)
        if n:
            pts[:n] = np.asarray(points[:n], dtype=np.float32)
            vis[:n] = np.asarray(visible[:n], dtype=bool)
        img = (image.astype(np.float32) - self.mean) / self.std
        return {
            "image": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            "segmentation": torch.from_numpy(targets.segmentation),
            "instance": torch.from_numpy(targets.instance),
            "ignore": torch.from_numpy(np.zeros(targets.instance.shape, dtype=bool) if ignore is None else ignore),
            "points": torch.from_numpy(pts),
            "visible": torch.from_numpy(vis),
            "num_faces": torch.tensor(n, dtype=torch.int64),
            "index": torch.tensor(int(index), dtype=torch.int64),
        }


class MultiFaceDataset(EpochItems):
    """Composed multi-face canvases with FoxNet targets.

    Args:
        samples: single-face :class:`~facealign.types.Sample` s of ``scheme`` (e.g. ``read_annotations("faces/train68.txt")``).
        scheme: landmark scheme (for the horizontal flip's index swap).
        size: canvas side (the model's input size).
        codec: target codec; default ``BottomUpCodec(input_size=size, heatmap_size=size // 4, num_points=K)``.
        faces_per_canvas: ``(lo, hi)`` inclusive range of faces per canvas.
        face_size: landmark-box side range as a fraction of ``size`` (:func:`compose_canvas`).
        length: canvases per epoch (default ``len(samples)``).
        flip_prob: probability of mirroring each pasted face.
        augment: photometric augmentation of the whole canvas (:func:`facealign.data.transforms.photometric`).
        mean, std: RGB normalisation on the 0-255 scale.
        seed: base of the per-item random generator ``default_rng([seed, epoch, index])``.

    Item (``dict`` of tensors): ``image (3, S, S)`` float32 normalised; ``segmentation (K, h, w)`` float32;
    ``instance (h, w)`` int64 (0: background, f + 1: face f); ``ignore (h, w)`` bool, all False (every
    face of a canvas is labelled; real photos have ignore regions, :mod:`facealign.data.group_photos`); ``points (F, K, 2)`` float32 canvas pixels
    and ``visible (F, K)`` bool, padded to ``F = faces_per_canvas[1]`` with NaN / False; ``num_faces`` and
    ``index`` int64 scalars. All shapes are fixed, so the default collate stacks them.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        *,
        scheme: str | LandmarkScheme,
        size: int,
        codec: BottomUpCodec | None = None,
        faces_per_canvas: tuple[int, int] = (1, 6),
        face_size: tuple[float, float] = FACE_SIZE,
        length: int | None = None,
        flip_prob: float = 0.5,
        augment: AugmentConfig | None = None,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        seed: int = 0,
    ) -> None:
        self.scheme = get_scheme(scheme)
        if len(samples) < 2:
            raise ValueError(f"MultiFaceDataset: needs at least 2 samples (faces + a background), got {len(samples)}")
        bad = [s.source or str(s.image_path) for s in samples if s.num_points != self.scheme.num_points]
        if bad:
            raise ValueError(
                f"MultiFaceDataset: scheme {self.scheme.name} has {self.scheme.num_points} points; samples {bad[:3]} do not"
            )
        lo, hi = faces_per_canvas
        if not 1 <= lo <= hi:
            raise ValueError(f"MultiFaceDataset: faces_per_canvas must be 1 <= lo <= hi, got {faces_per_canvas}")
        self.samples = list(samples)
        self.size = int(size)
        codec = codec or BottomUpCodec(input_size=self.size, heatmap_size=self.size // STRIDE, num_points=self.scheme.num_points)
        if codec.input_size != self.size or codec.num_points != self.scheme.num_points:
            raise ValueError(f"MultiFaceDataset: codec {codec!r} does not fit size {size} / scheme {self.scheme.name}")
        super().__init__(
            codec=codec, length=len(self.samples) if length is None else int(length), max_faces=int(hi), flip_prob=flip_prob,
            augment=augment, mean=mean, std=std, seed=seed,
        )
        self.faces_per_canvas = (int(lo), int(hi))
        self.face_size = face_size

    def _load(self, sample: Sample) -> np.ndarray:
        return sample.image if sample.image is not None else read_image(sample.image_path)

    def canvas(self, index: int) -> Canvas:
        """The composed canvas of item ``index`` at the current epoch (before photometric augmentation)."""
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        count = int(rng.integers(self.faces_per_canvas[0], self.faces_per_canvas[1] + 1))
        picks = rng.choice(len(self.samples), size=count + 1, replace=len(self.samples) < count + 1)
        faces = []
        for i in picks[:count]:
            s = self.samples[int(i)]
            rgb, pts = self._load(s), s.points
            if rng.random() < self.flip_prob:
                rgb, pts = np.ascontiguousarray(rgb[:, ::-1]), self.scheme.flip(pts, rgb.shape[1])
            faces.append((rgb, pts))
        bg = self.samples[int(picks[count])]
        background = background_patch(self._load(bg), bg.points, size=self.size, rng=rng)
        return compose_canvas(faces, size=self.size, rng=rng, background=background, face_size=self.face_size)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        canvas = self.canvas(index)
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 1])
        image = photometric(canvas.image, rng, self.augment)
        shown = [np.where(v[:, None], p, np.nan) for p, v in zip(canvas.points, canvas.visible)]
        return self.item(image, self.codec.encode(shown), canvas.points, canvas.visible, index=index)
