"""The training record: a :class:`~facealign.types.Sample` in the model's scheme with what training adds (its
human 5 points, the points its crop is aligned on, its label source and that source's loss weight); joining a
photo's labels of several lists into one record, and a record moved onto a downscaled copy of its photo (the
small-face protocol).

One record type, derived from the reader's: a training face *is* an annotated face (photo, points, embedded
pixels, the ``file:line`` it came from), so it is a ``Sample`` and goes wherever one goes; it only adds the
three things no single annotation file knows: a second list's human 5 points of the same photo, a
detector's alignment points and the weight of its label source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..geometry import align_matrix
from ..imageio import read_image
from ..landmarks import LandmarkScheme, get_scheme
from ..types import Box, Sample

__all__ = ["FaceRecord", "align_points", "downscaled_record", "merge_records"]


def _five_or_none(points: np.ndarray | None, name: str, source: str) -> np.ndarray | None:
    if points is None:
        return None
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (5, 2):
        raise ValueError(f"{source}: {name} must be (5, 2), got {pts.shape}")
    return pts


@dataclass
class FaceRecord(Sample):
    """One training face: a :class:`~facealign.types.Sample` whose ``points`` are in the model's ``scheme``
    (NaN where its label source defines none), plus ``five``: the human 5 points ``(5, 2)`` of the same face
    (or None), ``align``: the ``(5, 2)`` points to align the crop on (a detector's; None: ``five``, else the
    scheme's 5-point subset, :func:`align_points`), ``label_source``: the source it was labelled by
    (:data:`facealign.data.sources.SOURCES`) and ``weight``: that source's weight on its loss.
    ``source`` stays the reader's ``file:line``.
    """

    five: np.ndarray | None = None
    align: np.ndarray | None = None
    label_source: str = ""
    weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.five = _five_or_none(self.five, "five", self.source)
        self.align = _five_or_none(self.align, "align", self.source)

    @classmethod
    def from_sample(cls, sample: Sample, scheme: str | LandmarkScheme, **changes: object) -> FaceRecord:
        """``sample`` as a training face in ``scheme``: its fields kept but for ``changes``, which replace
        them (``points`` in ``scheme``, ``box``) or set the ones training adds (``five``, ``align``,
        ``label_source``, ``weight``); new points of another count drop the per-point ``visible`` flags."""
        fields = {f.name: getattr(sample, f.name) for f in dataclasses.fields(Sample)}
        fields.update(scheme=get_scheme(scheme).name, **changes)
        if fields["visible"] is not None and len(fields["visible"]) != len(fields["points"]):
            fields["visible"] = None
        return cls(**fields)


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
        if d is None:
            out.append(FaceRecord.from_sample(s, sch, points=nan.copy(), five=s.points))
        else:
            out.append(FaceRecord.from_sample(d, sch, five=s.points))
        seen.add(key)
    for key, d in by_path.items():
        if key not in seen:
            out.append(FaceRecord.from_sample(d, sch))
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

    box = None if rec.box is None else Box(*scale(rec.box.as_array().reshape(2, 2)).ravel())
    return replace(rec, points=scale(rec.points), five=scale(rec.five), align=scale(align), box=box, image=small)
