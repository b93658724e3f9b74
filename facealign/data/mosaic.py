"""Mosaic canvases: whole photos tiled with their context, for bottom-up (FoxNet) training (issue 21).

:func:`~facealign.data.multiface.compose_canvas` pastes single faces through feathered ellipses; a network
trained on that learns the ellipse. Here each of 2..N *whole* photos (a pseudo-labelled ``groups/`` photo
with its ignore regions, or a ``faces/`` photo with all its surroundings) is scaled and shown through a
hard-edged rectangular window of the canvas:

* **Layout** (:func:`grid_cells`): the canvas is cut into ``ceil(sqrt(n))`` columns of rows (split lines
  jittered by up to :data:`CELL_JITTER` of a cell); tile ``i`` owns cell ``i``.
* **Scale** (:func:`draw_placements`): log-uniform, so that the tile's median face (its labelled faces'
  landmark boxes, else its ignore boxes) gets a landmark-box side of ``uniform_log(*face_size) * size``
  pixels. The default :data:`FACE_SIZE` reaches the faces of real crowds: on ``groups/`` letterboxed to
  256 px the landmark-box side is 11 / 25 / 48 px at the 5th / 50th / 95th percentile (0.04 / 0.10 / 0.19
  of the canvas; eye centre to eye centre 4.5 / 10 / 20 px; 300 photos of ``../cache/groups_pseudo.json``).
* **Position**: a random face of the tile (labelled or ignored) lands at a uniform point of its cell; the
  photo's context around it fills the cell.
* **Overlap**: the window is the cell grown on each side by ``uniform(0, overlap)`` of the cell's side
  (clipped to the canvas and to the photo's pixels); tiles are pasted in order, so a later tile covers
  the earlier ones where the windows overlap. Canvas pixels no window covers show a background without
  faces (:class:`MosaicDataset`: a strip of a face photo away from its face, as the feathered canvases'),
  or ``fill``.

Labels follow the pixels exactly: tile ``i``'s photo -> canvas map is ``M_i = [[s, 0, tx], [0, s, ty]]``
in the pixel convention of :mod:`facealign.types` (warped with :func:`facealign.geometry.warp`; a shrinking
tile is first ``cv2.INTER_AREA``-resized and warped by the remaining map, so small faces do not alias),
points and ignore-box corners move by :func:`facealign.geometry.apply_affine` with ``M_i``. Visibility
(the rules of ``compose_canvas`` / ``GroupPhotoDataset``): a point is visible when it is finite, inside
its own tile's window (so on the canvas) and inside no later window. A face with fewer than
:data:`MIN_VISIBLE` of its points visible is no longer a label but an ignore region (its landmark box,
less what later windows cover: :func:`uncovered_box`); a face with more keeps its labels with its
hidden points not visible. Ignore boxes are clipped to their window and lose what later windows cover.

:class:`MosaicDataset` draws the tiles, flips, scales and layout of item ``i`` of epoch ``e`` from
``np.random.default_rng([seed, e, i])`` (a resumed run sees the same canvases) and gives items of
:class:`~facealign.data.multiface.MultiFaceDataset`'s form with ``ignore`` cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch

from ..card import IMAGENET_MEAN, IMAGENET_STD
from ..codecs.bottomup import BottomUpCodec
from ..geometry import apply_affine, compose_affine, invert_affine, warp
from ..imageio import read_image
from ..landmarks import LandmarkScheme, get_scheme
from ..types import Box, Sample
from .group_photos import GroupPhoto, flip_boxes
from .multiface import EpochItems, background_patch
from .transforms import AugmentConfig, photometric

__all__ = [
    "CELL_JITTER", "FACE_SIZE", "MIN_VISIBLE", "Mosaic", "MosaicDataset", "OVERLAP", "Placement", "Tile", "compose_mosaic",
    "draw_placements", "grid_cells", "uncovered_box",
]

#: Range of a tile's median landmark-box side, as a fraction of the canvas side (log-uniform).
FACE_SIZE = (0.04, 0.4)
#: Most a window grows past its cell on each side, as a fraction of the cell's side.
OVERLAP = 0.3
#: Split lines of the grid move by up to this fraction of a cell either way.
CELL_JITTER = 0.25
#: A face with fewer than this share of its points visible becomes an ignore region.
MIN_VISIBLE = 0.5


class Tile(NamedTuple):
    """One photo to tile: ``image`` ``(H, W, 3)`` uint8 RGB; ``faces`` ``(F, K, 2)`` labelled points in its
    pixels (NaN: unlabelled point); ``ignore`` ``(G, 4)`` ``[x1, y1, x2, y2]`` regions holding a face without labels."""

    image: np.ndarray
    faces: np.ndarray
    ignore: np.ndarray


class Placement(NamedTuple):
    """A tile on the canvas: photo -> canvas ``p' = scale * p + (tx, ty)``, shown in the canvas pixels
    ``window = (x0, y0, x1, y1)``, columns ``x0 .. x1 - 1`` and rows ``y0 .. y1 - 1`` (:func:`compose_mosaic`
    shows only those whose centre lies within the scaled photo's outermost pixel centres)."""

    scale: float
    tx: float
    ty: float
    window: tuple[int, int, int, int]

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.scale, 0.0, self.tx], [0.0, self.scale, self.ty]])

    def extent(self) -> np.ndarray:
        """The window as a box ``[x1, y1, x2, y2]`` in the :mod:`facealign.types` convention (pixel edges)."""
        x0, y0, x1, y1 = self.window
        return np.array([x0 - 0.5, y0 - 0.5, x1 - 0.5, y1 - 0.5])


class Mosaic(NamedTuple):
    """image: ``(S, S, 3)`` uint8; points / visible: per labelled face ``(K, 2)`` canvas pixels and ``(K,)``
    bool (tiles in order, faces of a tile in order, faces turned ignore left out); ignore: ``(G, 4)``."""

    image: np.ndarray
    points: list[np.ndarray]
    visible: list[np.ndarray]
    ignore: np.ndarray


def _inside(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Finite points in ``box`` ``[x1, y1, x2, y2]`` (half-open: a pixel's left / top edge in, its right / bottom out)."""
    with np.errstate(invalid="ignore"):
        return (points[:, 0] >= box[0]) & (points[:, 0] < box[2]) & (points[:, 1] >= box[1]) & (points[:, 1] < box[3])


def uncovered_box(box: np.ndarray, cover: np.ndarray) -> np.ndarray | None:
    """The bounding box of ``box`` less ``cover`` (both ``[x1, y1, x2, y2]``); None when nothing is left.

    ``cover`` trims a side only where it spans the whole box across (a corner or a hole leaves the bounding
    box as it was), so the result always holds the uncovered part.
    """
    b = np.array(box, dtype=np.float64)
    c = np.asarray(cover, dtype=np.float64)
    if c[0] >= b[2] or c[2] <= b[0] or c[1] >= b[3] or c[3] <= b[1]:
        return b
    spans_x, spans_y = c[0] <= b[0] and c[2] >= b[2], c[1] <= b[1] and c[3] >= b[3]
    if spans_x and spans_y:
        return None
    for lo, hi, spans in ((0, 2, spans_y), (1, 3, spans_x)):  # trim x when the cover spans y, and y when it spans x
        if spans:
            if c[lo] <= b[lo]:
                b[lo] = c[hi]
            elif c[hi] >= b[hi]:
                b[hi] = c[lo]
    return b


def grid_cells(n: int, size: int, rng: np.random.Generator, *, jitter: float = CELL_JITTER) -> list[tuple[int, int, int, int]]:
    """``n`` cells ``(x0, y0, x1, y1)`` (integer canvas pixels, half-open) covering a ``size`` canvas:
    ``ceil(sqrt(n))`` columns, as many rows as needed, the last row's cells wider; split lines moved by
    ``uniform(-jitter, jitter)`` of a cell."""
    if n < 1:
        raise ValueError(f"grid_cells: expected at least 1 cell, got {n}")
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)

    def splits(parts: int) -> list[int]:
        inner = [(k + rng.uniform(-jitter, jitter)) * size / parts for k in range(1, parts)]
        return [0] + [int(round(v)) for v in inner] + [size]

    ys = splits(rows)
    cells = []
    for r in range(rows):
        xs = splits(min(cols, n - r * cols))
        cells += [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for c in range(len(xs) - 1)]
    return cells


def _face_boxes(tile: Tile) -> np.ndarray:
    """The tile's faces as boxes ``(F + G, 4)``: labelled faces' landmark boxes, then its ignore boxes."""
    boxes = [Box.from_points(f[np.isfinite(f).all(axis=1)]).as_array() for f in tile.faces if np.isfinite(f).all(axis=1).sum() >= 2]
    return np.concatenate([np.reshape(boxes, (-1, 4)), tile.ignore.reshape(-1, 4)])


def draw_placements(
    tiles: Sequence[Tile], *, size: int, rng: np.random.Generator, face_size: tuple[float, float] = FACE_SIZE,
    overlap: float = OVERLAP,
) -> list[Placement]:
    """The random layout of ``tiles`` on a ``size`` canvas (module docstring: cell, scale, position, window).

    Raises ``ValueError`` for a tile without any face (labelled or ignored): there is nothing to scale it by.
    """
    cells = grid_cells(len(tiles), size, rng)
    out = []
    for n, (tile, (cx0, cy0, cx1, cy1)) in enumerate(zip(tiles, cells)):
        boxes = _face_boxes(tile)
        if not len(boxes):
            raise ValueError(f"draw_placements: tile {n} has no face (labelled or ignored) to scale it by")
        side = float(np.median(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))
        target = size * math.exp(rng.uniform(math.log(face_size[0]), math.log(face_size[1])))
        scale = target / max(side, 1.0)
        anchor = boxes[int(rng.integers(len(boxes)))]
        ax, ay = 0.5 * (anchor[0] + anchor[2]), 0.5 * (anchor[1] + anchor[3])
        px, py = rng.uniform(cx0 - 0.5, cx1 - 0.5), rng.uniform(cy0 - 0.5, cy1 - 0.5)
        tx, ty = px - scale * ax, py - scale * ay
        grow = rng.uniform(0, overlap, 4) * [cx1 - cx0, cy1 - cy0, cx1 - cx0, cy1 - cy0]
        x0, y0 = max(0, int(round(cx0 - grow[0]))), max(0, int(round(cy0 - grow[1])))
        x1, y1 = min(size, int(round(cx1 + grow[2]))), min(size, int(round(cy1 + grow[3])))
        out.append(Placement(scale, tx, ty, (x0, y0, x1, y1)))
    return out


def _resize_step(shape: tuple[int, ...], scale: float) -> tuple[int, int, np.ndarray] | None:
    """For a shrinking ``scale``, the ``cv2.INTER_AREA`` resize done before the warp: its size ``(w', h')``
    and map ``x -> s x + (s / 2 - 1/2)`` (:func:`facealign.bottomup.letterbox`); None when ``scale >= 1``."""
    if scale >= 1:
        return None
    h, w = shape[:2]
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    sx, sy = nw / w, nh / h
    return nw, nh, np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])


def _warped(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """``rgb`` warped by ``matrix`` (a scale-and-shift) onto a ``size`` canvas; a shrinking map first resizes
    (:func:`_resize_step`) and warps by what remains, so the pixels land where ``matrix`` puts them without aliasing."""
    step = _resize_step(rgb.shape, matrix[0, 0])
    if step is None:
        return warp(rgb, matrix, size)
    nw, nh, resize = step
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return warp(small, compose_affine(matrix, invert_affine(resize)), size)


def _shown(place: Placement, shape: tuple[int, ...], size: int) -> tuple[int, int, int, int]:
    """``place.window`` less the canvas pixels whose centre falls outside the outermost pixel centres of the
    warped image (where bilinear sampling would blend in the border), as ``(x0, y0, x1, y1)``."""
    h, w = shape[:2]
    step = _resize_step(shape, place.scale)
    if step is None:
        first, last = np.zeros(2), np.array([w - 1.0, h - 1.0])
    else:  # the resized image's first and last pixel centres, in the photo's pixels
        nw, nh, resize = step
        first = apply_affine(invert_affine(resize), np.zeros(2))
        last = apply_affine(invert_affine(resize), np.array([nw - 1.0, nh - 1.0]))
    lo, hi = apply_affine(place.matrix, first), apply_affine(place.matrix, last)
    x0, y0, x1, y1 = place.window
    x0, y0 = max(x0, 0, math.ceil(lo[0] - 1e-9)), max(y0, 0, math.ceil(lo[1] - 1e-9))
    x1, y1 = min(x1, size, math.floor(hi[0] + 1e-9) + 1), min(y1, size, math.floor(hi[1] + 1e-9) + 1)
    return x0, y0, max(x0, x1), max(y0, y1)


def compose_mosaic(
    tiles: Sequence[Tile], placements: Sequence[Placement], *, size: int, fill: Sequence[float] = IMAGENET_MEAN,
    background: np.ndarray | None = None,
) -> Mosaic:
    """Paste ``tiles`` at ``placements`` (:func:`draw_placements`, or chosen by hand) onto a ``size`` canvas
    of colour ``fill`` or the ``(size, size, 3)`` uint8 ``background`` (e.g.
    :func:`~facealign.data.multiface.background_patch`, no face on it), in order; labels, visibility and
    ignore boxes by the rules of the module docstring.

    Shape: tiles' ``(H, W, 3)`` uint8, ``(F, K, 2)``, ``(G, 4)`` -> ``(size, size, 3)`` uint8, per face
    ``(K, 2)`` / ``(K,)``, ``(G', 4)``.
    """
    if len(placements) != len(tiles):
        raise ValueError(f"compose_mosaic: {len(tiles)} tiles but {len(placements)} placements")
    if background is None:
        canvas = np.empty((size, size, 3), dtype=np.uint8)
        canvas[:] = np.round(np.asarray(fill)).astype(np.uint8)
    elif background.shape != (size, size, 3) or background.dtype != np.uint8:
        raise ValueError(f"compose_mosaic: background must be ({size}, {size}, 3) uint8, got {background.shape} {background.dtype}")
    else:
        canvas = background.copy()
    for n, tile in enumerate(tiles):
        if tile.image.ndim != 3 or tile.image.shape[2] != 3:
            raise ValueError(f"compose_mosaic: tile {n} image must be (H, W, 3), got {tile.image.shape}")
    placements = [p._replace(window=_shown(p, t.image.shape, size)) for p, t in zip(placements, tiles)]
    extents = [p.extent() for p in placements]
    points, visible, ignore = [], [], []

    def uncovered(box: np.ndarray, n: int) -> np.ndarray | None:
        """``box`` clipped to tile ``n``'s window, less the later windows."""
        own = extents[n]
        b: np.ndarray | None = np.concatenate([np.maximum(box[:2], own[:2]), np.minimum(box[2:], own[2:])])
        if b[2] <= b[0] or b[3] <= b[1]:
            return None
        for later in extents[n + 1 :]:
            b = uncovered_box(b, later)
            if b is None:
                return None
        return b

    for n, (tile, place) in enumerate(zip(tiles, placements)):
        m = place.matrix
        x0, y0, x1, y1 = place.window
        if x1 > x0 and y1 > y0:
            canvas[y0:y1, x0:x1] = _warped(tile.image, m, size)[y0:y1, x0:x1]
        for face in tile.faces:
            pts = apply_affine(m, face)
            vis = _inside(pts, extents[n])
            for later in extents[n + 1 :]:
                vis &= ~_inside(pts, later)
            if vis.sum() >= MIN_VISIBLE * len(pts):
                points.append(pts)
                visible.append(vis)
            elif np.isfinite(pts).all(axis=1).sum() >= 2:
                box = uncovered(Box.from_points(pts[np.isfinite(pts).all(axis=1)]).as_array(), n)
                if box is not None:
                    ignore.append(box)
        for box in tile.ignore.reshape(-1, 4):
            corners = apply_affine(m, box.reshape(2, 2)).reshape(4)
            kept = uncovered(corners, n)
            if kept is not None:
                ignore.append(kept)
    return Mosaic(canvas, points, visible, np.reshape(ignore, (-1, 4)).astype(np.float64))


class MosaicDataset(EpochItems):
    """Mosaic canvases of real photos with FoxNet targets (module docstring).

    Args:
        groups: pseudo-labelled group photos (:class:`~facealign.data.group_photos.GroupPhoto`) and
            ``group_root``, the folder their paths are relative to; photos with no face at all are skipped.
        samples: single-face :class:`~facealign.types.Sample` s of ``scheme`` (``faces/train68.txt``); each
            photo is one tile, all its labelled faces on it.
        group_share: the chance a tile is a group photo (when both kinds are given).
        tiles: ``(lo, hi)`` inclusive range of tiles per canvas.
        face_size, overlap: :func:`draw_placements`.
        max_faces: ``points`` / ``visible`` padding (the targets keep every face).
        scheme, size, codec, length, flip_prob (per tile), augment, mean, std, seed: as
            :class:`~facealign.data.multiface.MultiFaceDataset`.

    Item: the keys of :class:`~facealign.data.multiface.MultiFaceDataset` with ``ignore (h, w)`` the cells
    of the ignore regions.
    """

    def __init__(
        self,
        *,
        groups: Sequence[GroupPhoto] = (),
        group_root: str | Path = "",
        samples: Sequence[Sample] = (),
        scheme: str | LandmarkScheme,
        size: int,
        codec: BottomUpCodec,
        length: int,
        max_faces: int,
        group_share: float = 0.5,
        tiles: tuple[int, int] = (2, 4),
        face_size: tuple[float, float] = FACE_SIZE,
        overlap: float = OVERLAP,
        flip_prob: float = 0.5,
        augment: AugmentConfig | None = None,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        seed: int = 0,
    ) -> None:
        self.scheme = get_scheme(scheme)
        k = self.scheme.num_points
        if codec.input_size != size or codec.num_points != k:
            raise ValueError(f"MosaicDataset: codec {codec!r} does not fit size {size} / scheme {self.scheme.name}")
        self.groups = [g for g in groups if len(g.faces) or len(g.ignore)]
        bad = [g.image for g in self.groups if g.faces.shape[1:] != (k, 2)] + [
            s.source or str(s.image_path) for s in samples if s.num_points != k
        ]
        if bad:
            raise ValueError(f"MosaicDataset: scheme {self.scheme.name} has {k} points; {bad[:3]} do not")
        by_photo: dict[Path, list[np.ndarray]] = {}
        for s in samples:
            by_photo.setdefault(Path(s.image_path), []).append(np.asarray(s.points, dtype=np.float64))
        self.photos = list(by_photo.items())
        if not self.groups and not self.photos:
            raise ValueError("MosaicDataset: expected group photos or face samples to tile, got neither")
        if not 1 <= tiles[0] <= tiles[1]:
            raise ValueError(f"MosaicDataset: tiles must be 1 <= lo <= hi, got {tiles}")
        super().__init__(
            codec=codec, length=length, max_faces=max_faces, flip_prob=flip_prob, augment=augment, mean=mean, std=std, seed=seed,
        )
        self.group_root = Path(group_root)
        self.size = int(size)
        self.group_share = float(group_share) if self.groups and self.photos else float(bool(self.groups))
        self.tiles = (int(tiles[0]), int(tiles[1]))
        self.face_size = (float(face_size[0]), float(face_size[1]))
        self.overlap = float(overlap)

    def tile(self, rng: np.random.Generator) -> Tile:
        """A random tile: a group photo (chance ``group_share``) or a face photo, mirrored with ``flip_prob``."""
        if rng.random() < self.group_share:
            g = self.groups[int(rng.integers(len(self.groups)))]
            rgb, faces, ignore = read_image(self.group_root / g.image), g.faces, g.ignore
        else:
            path, pts = self.photos[int(rng.integers(len(self.photos)))]
            rgb, faces, ignore = read_image(path), np.stack(pts), np.zeros((0, 4))
        if rng.random() < self.flip_prob:
            w = rgb.shape[1]
            rgb = np.ascontiguousarray(rgb[:, ::-1])
            faces = np.stack([self.scheme.flip(f, w) for f in faces]) if len(faces) else faces
            ignore = flip_boxes(ignore, w)
        return Tile(rgb, faces, ignore)

    def mosaic(self, index: int) -> Mosaic:
        """Item ``index``'s mosaic at the current epoch (before photometric augmentation)."""
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        tiles = [self.tile(rng) for _ in range(int(rng.integers(self.tiles[0], self.tiles[1] + 1)))]
        placements = draw_placements(tiles, size=self.size, rng=rng, face_size=self.face_size, overlap=self.overlap)
        background = None
        if self.photos:  # what no tile covers: a face photo's strip away from its face, as MultiFaceDataset's canvases
            path, pts = self.photos[int(rng.integers(len(self.photos)))]
            background = background_patch(read_image(path), np.concatenate(pts), size=self.size, rng=rng)
        return compose_mosaic(tiles, placements, size=self.size, fill=self.mean, background=background)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        mosaic = self.mosaic(index)
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 1])
        image = photometric(mosaic.image, rng, self.augment)
        shown = [np.where(v[:, None], p, np.nan) for p, v in zip(mosaic.points, mosaic.visible)]
        return self.item(
            image, self.codec.encode(shown), mosaic.points, mosaic.visible, index=index, ignore=self.codec.ignore_cells(mosaic.ignore),
        )
