"""Real group photos with teacher landmarks, for bottom-up (FoxNet) training and validation.

``../shared/data/groups`` holds 1,500 group photos with hand-drawn face boxes (``boxes.csv``,
``image,x1,y1,x2,y2``) and no landmarks. ``scripts/pseudo_label_groups.py`` runs the top-down teacher on
them and writes a JSON file of :class:`GroupPhoto` s: the teacher's 68 points of each face whose box
matched a hand-drawn box (labels), and the boxes no label covers (ignore regions: a face is there, but
its landmarks are unknown, so the losses neither reward nor punish a detection there).

:class:`GroupPhotoDataset` turns them into training items of :class:`~facealign.data.multiface.MultiFaceDataset`'s
form: a random crop of the photo at a random scale (from the inference letterbox to :data:`ZOOM` x
larger) on the square input canvas, an optional mirror, the photometric augmentation, the
:class:`~facealign.codecs.BottomUpCodec` targets and the ``ignore`` cells.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..codecs.bottomup import BottomUpCodec
from ..imageio import read_image
from ..landmarks import LandmarkScheme, get_scheme
from ..card import IMAGENET_MEAN, IMAGENET_STD
from ..types import flip_points_x
from .multiface import EpochItems
from .transforms import AugmentConfig, photometric

__all__ = [
    "BOX_COLUMNS",
    "GroupPhoto",
    "GroupPhotoDataset",
    "ZOOM",
    "flip_boxes",
    "pseudo_labels_json",
    "read_group_boxes",
    "read_photo_list",
    "read_pseudo_labels",
]

#: The header of ``boxes.csv``.
BOX_COLUMNS = ("image", "x1", "y1", "x2", "y2")
#: Training crops scale a photo from its letterbox size (1) up to this factor (log-uniform).
ZOOM = (1.0, 2.5)
#: Format tag of the pseudo-label file.
FORMAT = "facealign-group-pseudo-labels/1"


@dataclass
class GroupPhoto:
    """One group photo: ``image`` relative to the groups folder; ``faces`` ``(F, K, 2)`` teacher points
    in its pixels; ``boxes`` ``(F, 4)`` the hand-drawn box each face matched; ``ignore`` ``(G, 4)``
    regions ``[x1, y1, x2, y2]`` that hold a face without labels."""

    image: str
    faces: np.ndarray
    boxes: np.ndarray
    ignore: np.ndarray


def flip_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """Boxes ``[x1, y1, x2, y2]`` of the horizontally mirrored image of ``width`` pixels: the mirrored
    right edge is the new left edge (:func:`~facealign.types.flip_points_x`). Shape: ``(G, 4) -> (G, 4)``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(b):
        return b.copy()
    x1 = flip_points_x(b[:, [2, 1]], width)[:, 0]
    x2 = flip_points_x(b[:, [0, 1]], width)[:, 0]
    return np.stack([x1, b[:, 1], x2, b[:, 3]], axis=1)


def read_group_boxes(path: str | Path) -> dict[str, np.ndarray]:
    """``boxes.csv`` -> ``{image: (N, 4) float64 [x1, y1, x2, y2]}`` in file order.

    Raises ``ValueError`` naming the file and line of a bad header, row or box (``x2 <= x1``).
    """
    p = Path(path)
    out: dict[str, list[list[float]]] = {}
    with p.open(newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or tuple(h.strip() for h in header) != BOX_COLUMNS:
            raise ValueError(f"{p}:1: expected the header {','.join(BOX_COLUMNS)}, got {header}")
        for line, row in enumerate(rows, start=2):
            if len(row) != len(BOX_COLUMNS):
                raise ValueError(f"{p}:{line}: expected {len(BOX_COLUMNS)} fields (image,x1,y1,x2,y2), got {len(row)}: {row}")
            try:
                box = [float(v) for v in row[1:]]
            except ValueError:
                raise ValueError(f"{p}:{line}: expected numbers for x1,y1,x2,y2, got {row[1:]}") from None
            if not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError(f"{p}:{line}: expected a finite box with x2 > x1 and y2 > y1, got {box}")
            out.setdefault(row[0], []).append(box)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def read_photo_list(path: str | Path) -> list[str]:
    """A list of photos, one relative path a line (blank lines and ``#`` comments skipped)."""
    lines = Path(path).read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def _boxes(value: object, where: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1, 4) if len(value) else np.zeros((0, 4))  # type: ignore[arg-type]
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: expected finite boxes [x1, y1, x2, y2]")
    return arr


def read_pseudo_labels(path: str | Path, *, num_points: int | None = None) -> list[GroupPhoto]:
    """The file :func:`pseudo_labels_json` wrote; ``ValueError`` naming the file and photo when a
    photo's entry is not of that form (or its faces do not have ``num_points`` points)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{p}: not a JSON file ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{p}: expected a pseudo-label file of format {FORMAT!r}, got {type(doc).__name__} without it")
    photos = []
    for i, entry in enumerate(doc.get("photos", [])):
        name = entry.get("image", "?") if isinstance(entry, dict) else repr(entry)
        where = f"{p}: photo {i} ({name})"
        try:
            faces = np.asarray(entry["faces"], dtype=np.float64)
            k = num_points or (faces.shape[1] if faces.ndim == 3 else 0)
            faces = faces.reshape(-1, k, 2) if faces.size else np.zeros((0, k, 2))
            photo = GroupPhoto(str(entry["image"]), faces, _boxes(entry["boxes"], where), _boxes(entry["ignore"], where))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: expected image, faces (F, K, 2), boxes (F, 4), ignore (G, 4): {err}") from None
        if len(photo.boxes) != len(photo.faces):
            raise ValueError(f"{where}: {len(photo.faces)} faces but {len(photo.boxes)} boxes")
        photos.append(photo)
    return photos


def pseudo_labels_json(photos: Sequence[GroupPhoto], *, teacher: str) -> str:
    """The JSON text of ``photos`` (points rounded to 0.01 px)."""

    def r(a: np.ndarray) -> list:
        return np.round(a, 2).tolist()

    doc = {
        "format": FORMAT,
        "teacher": teacher,
        "photos": [{"image": ph.image, "faces": r(ph.faces), "boxes": r(ph.boxes), "ignore": r(ph.ignore)} for ph in photos],
    }
    return json.dumps(doc, separators=(",", ":"))


class GroupPhotoDataset(EpochItems):
    """Random crops of real group photos with FoxNet targets (module docstring).

    Args:
        photos: :class:`GroupPhoto` s; root: the folder their ``image`` paths are relative to.
        scheme, size, codec, mean, std, seed: as :class:`~facealign.data.multiface.MultiFaceDataset`.
        max_faces: ``points`` / ``visible`` are padded to this many faces (faces beyond it are dropped
            from those two keys only, never from the targets).
        zoom: ``(lo, hi)`` of the log-uniform scale over the letterbox scale ``size / max(H, W)``;
            ``(1, 1)`` with ``flip_prob = 0`` and no augmentation is exactly the inference letterbox.
        length: items per epoch (default ``len(photos)``; item ``i`` shows photo ``i % len(photos)``).

    Item: the keys of :class:`~facealign.data.multiface.MultiFaceDataset` plus ``ignore (h, w)`` bool,
    the output cells inside an ignore region.
    """

    def __init__(
        self,
        photos: Sequence[GroupPhoto],
        *,
        root: str | Path,
        scheme: str | LandmarkScheme,
        size: int,
        codec: BottomUpCodec,
        max_faces: int,
        zoom: tuple[float, float] = ZOOM,
        length: int | None = None,
        flip_prob: float = 0.5,
        augment: AugmentConfig | None = None,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        seed: int = 0,
    ) -> None:
        if not photos:
            raise ValueError("GroupPhotoDataset: expected at least one photo, got none")
        self.scheme = get_scheme(scheme)
        if codec.input_size != size or codec.num_points != self.scheme.num_points:
            raise ValueError(f"GroupPhotoDataset: codec {codec!r} does not fit size {size} / scheme {self.scheme.name}")
        if not 0 < zoom[0] <= zoom[1]:
            raise ValueError(f"GroupPhotoDataset: zoom must be 0 < lo <= hi, got {zoom}")
        bad = [ph.image for ph in photos if ph.faces.shape[1:] != (self.scheme.num_points, 2)]
        if bad:
            raise ValueError(f"GroupPhotoDataset: faces of {bad[:3]} do not have {self.scheme.num_points} points")
        super().__init__(
            codec=codec, length=len(photos) if length is None else int(length), max_faces=max_faces, flip_prob=flip_prob,
            augment=augment, mean=mean, std=std, seed=seed,
        )
        self.photos = list(photos)
        self.root = Path(root)
        self.size = int(size)
        self.zoom = (float(zoom[0]), float(zoom[1]))

    def crop(self, index: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Item ``index``'s canvas ``(S, S, 3)`` uint8, its faces' points (NaN off the canvas) and ignore
        boxes, in canvas pixels (before photometric augmentation)."""
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        photo = self.photos[int(index) % len(self.photos)]
        rgb = read_image(self.root / photo.image)
        h, w = rgb.shape[:2]
        s = self.size / max(h, w) * math.exp(rng.uniform(math.log(self.zoom[0]), math.log(self.zoom[1])))
        # As the inference letterbox (cv2.resize to whole pixels, then an integer offset): the scaled photo
        # is centred where it is smaller than the canvas, else a random window of it is shown.
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        scaled = cv2.resize(rgb, (nw, nh), interpolation=interp)
        span = np.array([nw, nh])
        room = self.size - span
        offset = np.where(room >= 0, room // 2, -np.floor(rng.uniform(0, 1, 2) * (1 - room)).astype(np.int64))
        canvas = np.empty((self.size, self.size, 3), dtype=np.uint8)
        canvas[:] = np.round(self.mean).astype(np.uint8)
        (ox, oy), (sx0, sy0) = np.maximum(offset, 0), np.maximum(-offset, 0)
        cw, chh = min(self.size - ox, nw - sx0), min(self.size - oy, nh - sy0)
        canvas[oy : oy + chh, ox : ox + cw] = scaled[sy0 : sy0 + chh, sx0 : sx0 + cw]
        # x' = s_x x + (s_x / 2 - 1/2 + o_x), cv2.resize's half-pixel convention (see bottomup.letterbox)
        scale = span / np.array([w, h], dtype=np.float64)
        t = 0.5 * scale - 0.5 + offset
        points = [p * scale + t for p in photo.faces]
        ignore = photo.ignore * np.concatenate([scale, scale]) + np.concatenate([offset, offset])
        if rng.random() < self.flip_prob:
            canvas = np.ascontiguousarray(canvas[:, ::-1])
            points = [self.scheme.flip(p, self.size) for p in points]
            ignore = flip_boxes(ignore, self.size)
        edge = self.size - 0.5
        points = [np.where(((p >= -0.5) & (p <= edge)).all(axis=1, keepdims=True), p, np.nan) for p in points]
        return canvas, points, ignore

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        canvas, points, ignore = self.crop(index)
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 1])
        image = photometric(canvas, rng, self.augment)
        shown = [p for p in points if np.isfinite(p).all(axis=1).any()]
        visible = [np.isfinite(p).all(axis=1) for p in shown]
        return self.item(image, self.codec.encode(points), shown, visible, index=index, ignore=self.codec.ignore_cells(ignore))
