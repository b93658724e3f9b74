"""The training record: one face with its points in the model's scheme, its human 5 points, the points its
crop is aligned on and its label source's weight; joining a photo's labels of several lists into one record,
and a record moved onto a downscaled copy of its photo (the small-face protocol)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..geometry import align_matrix
from ..imageio import read_image
from ..landmarks import LandmarkScheme, get_scheme
from ..types import Sample

__all__ = ["FaceRecord", "align_points", "downscaled_record", "merge_records"]


@dataclass
class FaceRecord:
    """One training face: model-scheme points (NaN where unlabelled) and the human 5 points.

    ``points`` is ``(K, 2)`` in image pixels; ``five`` is ``(5, 2)`` or None; ``align`` is ``(5, 2)``
    points to align the crop with (defaults to ``five``, else the scheme's 5-point subset);
    ``weight`` scales the face's per-point loss weights (its label source's weight,
    :mod:`facealign.data.sources`); ``source`` names that source.
    """

    image_path: Path
    points: np.ndarray
    five: np.ndarray | None
    align: np.ndarray | None = None
    image: np.ndarray | None = None  # embedded pixels (COFW)
    weight: float = 1.0
    source: str = ""


def align_points(rec: FaceRecord, scheme: str | LandmarkScheme) -> np.ndarray:
    """The 5 points ``rec``'s crop is aligned on: its ``align`` points (a detector's), else its human ``five``,
    else the 5-point subset of its points in ``scheme``. Shape: ``(5, 2)``."""
    if rec.align is not None:
        return np.asarray(rec.align, dtype=np.float64)
    if rec.five is not None:
        return np.asarray(rec.five, dtype=np.float64)
    return get_scheme(scheme).to_five(rec.points)


def merge_records(
    scheme: str | LandmarkScheme,
    *,
    dense: list[Sample] = (),
    five: list[Sample] = (),
) -> list[FaceRecord]:
    """Join dense (e.g. 68-point teacher) samples and human 5-point samples of the same photos.

    Faces present in ``five`` only get NaN dense points (their loss is on the 5 points alone);
    faces in ``dense`` only get ``five = None``. Order: ``five``'s order, then dense-only faces.
    """
    sch = get_scheme(scheme)
    nan = np.full((sch.num_points, 2), np.nan)
    by_path = {}
    for s in dense:
        if s.num_points != sch.num_points:
            raise ValueError(f"{s.source}: expected {sch.num_points} points for scheme {sch.name}, got {s.num_points}")
        by_path[str(s.image_path)] = s
    out = []
    seen = set()
    for s in five:
        if s.num_points != 5:
            raise ValueError(f"{s.source}: expected 5 points, got {s.num_points}")
        key = str(s.image_path)
        d = by_path.get(key)
        out.append(FaceRecord(s.image_path, d.points if d is not None else nan.copy(), s.points))
        seen.add(key)
    for key, d in by_path.items():
        if key not in seen:
            out.append(FaceRecord(d.image_path, d.points, None, image=d.image))
    return out


def downscaled_record(rec: FaceRecord, align: np.ndarray, *, input_size: int, crop_px: float) -> FaceRecord:
    """``rec`` on its photo downscaled so that the crop aligned on ``align`` spans ``crop_px`` photo pixels
    (the small-face protocol): the pixels embedded, every point mapped by ``p' = (p + 0.5) s - 0.5`` with the
    per-axis scale ``s`` of the rounded new size (pixel centres, :mod:`facealign.types`). A face whose crop
    is already that small is returned as is."""
    m = align_matrix(align, input_size)
    span = input_size / float(np.sqrt(abs(np.linalg.det(m[:, :2]))))  # photo pixels across the crop
    factor = crop_px / span
    if factor >= 1.0:
        return rec
    image = rec.image if rec.image is not None else read_image(rec.image_path)
    h, w = image.shape[:2]
    nw, nh = max(1, round(w * factor)), max(1, round(h * factor))
    s = np.array([nw / w, nh / h])
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)

    def scale(p: np.ndarray | None) -> np.ndarray | None:
        return None if p is None else (np.asarray(p, dtype=np.float64) + 0.5) * s - 0.5

    return replace(rec, points=scale(rec.points), five=scale(rec.five), align=scale(align), image=small)
