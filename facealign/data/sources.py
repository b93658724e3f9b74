"""Training faces from several label sources, each in the model's scheme with a per-point mask and a weight.

Sources (``SOURCES``): ``teacher68`` (``faces/train68.txt``, dlib's 68 points: a model's labels),
``human5`` (``faces/train5.txt``, people's 5 points), ``human68`` (``300w_human/``, people's 68 points,
iBUG ``.pts``) and ``profile`` (``cfp_profile/``, CFP's 30 points through :mod:`facealign.data.profile`).
A point a source does not define is NaN: the dataset gives it weight 0 in the loss (the mask), so each
face trains only the points its source defines. A face's ``weight`` (its source's, from the config)
scales its whole loss.

People's labels win over the teacher's: :func:`human_five_override` moves the teacher's points of each
5-point group so that the group's mean lands on the human point of the same face (the teacher's eyes,
nose tip and mouth corners put where people put them; the rest of its shape kept).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..landmarks import LandmarkScheme, get_scheme
from ..types import Box, Sample
from .records import FaceRecord
from .profile import cfp_to_68, cfp_to_five
from .readers import read_excluded_paths

__all__ = [
    "PEOPLE",
    "PHOTO_SCALES",
    "SOURCES",
    "check_label_offsets",
    "holdout_key",
    "human_five_override",
    "read_photo_scales",
    "remove_label_offsets",
    "source_records",
    "source_weight",
    "split_holdout",
]

#: The label sources a training config can weight (``[data.source_weights]``).
SOURCES = ("teacher68", "human5", "human68", "profile")
#: The sources whose points people placed (a record's ``five`` is always people's).
PEOPLE = ("human5", "human68", "profile")


def source_weight(weights: Mapping[str, float], source: str) -> float:
    """The loss weight of ``source`` (1.0 when the config names none). Raises ValueError for an unknown name."""
    unknown = sorted(set(weights) - set(SOURCES))
    if unknown:
        raise ValueError(f"source_weights: unknown source(s) {unknown}; expected some of {list(SOURCES)}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {list(SOURCES)}")
    w = float(weights.get(source, 1.0))
    if not np.isfinite(w) or w < 0:
        raise ValueError(f"source_weights.{source} must be a finite number >= 0, got {w}")
    return w


def holdout_key(image_path: str | Path, root: str | Path) -> str:
    """A face's name in holdout files: its image path relative to ``root``, without suffix (``afw/134212_1``)."""
    return Path(image_path).resolve().relative_to(Path(root).resolve()).with_suffix("").as_posix()


def split_holdout(samples: Iterable[Sample], root: str | Path, holdout: str | Path) -> tuple[list[Sample], list[Sample]]:
    """``(train, held out)``: the samples whose image path relative to ``root`` (without suffix) starts
    with a line of the ``holdout`` file (``read_excluded_paths``: first field, ``#`` comments) go to the
    second list. A line names one face (``afw/123_1``) or a folder of faces (``017``: a CFP person)."""
    keys = read_excluded_paths(holdout)
    train, held = [], []
    for s in samples:
        parts = holdout_key(s.image_path, root).split("/")
        prefixes = {"/".join(parts[: i + 1]) for i in range(len(parts))}
        (held if prefixes & keys else train).append(s)
    return train, held


def human_five_override(points: np.ndarray, five: np.ndarray, scheme: str | LandmarkScheme) -> np.ndarray:
    """The teacher's ``points`` with each 5-point group moved rigidly so that its mean is the human point.

    Group ``g`` of ``scheme.five_point`` (68 points: the eye contours 36-41 / 42-47, the nose tip 30,
    the mouth corners 48 / 54) gets ``points[g] += five[g] - mean(points[g])``; groups whose human point
    is NaN are left as they are. Shape: ``(K, 2), (5, 2) -> (K, 2)``.
    """
    sch = get_scheme(scheme)
    out = np.array(points, dtype=np.float64, copy=True)
    h = np.asarray(five, dtype=np.float64)
    if out.shape != (sch.num_points, 2) or h.shape != (5, 2):
        raise ValueError(f"expected points ({sch.num_points}, 2) and five (5, 2), got {out.shape} and {h.shape}")
    for group, target in zip(sch.five_point, h):
        idx = list(group)
        if np.isfinite(target).all() and np.isfinite(out[idx]).all():
            out[idx] += target - out[idx].mean(axis=0)
    return out


def check_label_offsets(offsets: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """``data.label_offsets`` as ``{prefix: (dx, dy)}`` arrays. Raises ValueError naming the entry that is not a
    non-empty path prefix with two finite numbers."""
    out = {}
    for prefix, value in offsets.items():
        d = np.asarray(value, dtype=np.float64) if isinstance(value, (list, tuple)) else np.array([])
        if not str(prefix).strip() or d.shape != (2,) or not np.isfinite(d).all():
            raise ValueError(
                f"data.label_offsets: expected a photo folder prefix = [dx, dy] (two finite pixel offsets), "
                f"got {prefix!r} = {value!r}"
            )
        out[str(prefix)] = d
    return out


#: The file beside a data root's lists that says which photos were resized from the originals, and by how much
#: (``scripts/pack_faces.py`` writes it into its pack): ``{key: [sx, sy]}``, keys as the lists write the paths.
PHOTO_SCALES = "photo_scales.json"


def read_photo_scales(root: str | Path) -> dict[str, np.ndarray]:
    """The ``(sx, sy)`` scale of every resized photo under data root ``root`` (its :data:`PHOTO_SCALES` file);
    ``{}`` when there is none (photos as stored). Raises ValueError naming the file and the entry that is not
    two finite positive numbers."""
    path = Path(root) / PHOTO_SCALES
    if not path.is_file():
        return {}
    out = {}
    for key, value in json.loads(path.read_text()).items():
        s = np.asarray(value, dtype=np.float64) if isinstance(value, list) else np.array([])
        if s.shape != (2,) or not (np.isfinite(s).all() and (s > 0).all()):
            raise ValueError(f"{path}: expected photo path: [sx, sy] (two finite positive scales), got {key!r}: {value!r}")
        out[str(key)] = s
    return out


def remove_label_offsets(
    records: Iterable[FaceRecord],
    offsets: Mapping[str, Sequence[float]],
    key: Callable[[Path], str],
    *,
    scales: Mapping[str, np.ndarray] | None = None,
) -> int:
    """Put people's points of ``records`` back on the mirror-symmetric point: subtract the offset of the
    longest prefix of ``offsets`` that the photo's ``key`` (its path as the lists write it) starts with from
    ``points`` when the record's source is people's (:data:`PEOPLE`) and from its human ``five`` (a teacher's
    points stay). Why: a model trained with mirrored crops learns a flip-symmetric point, so a labelling
    convention that sits ``dx`` to the right in every photo becomes ``+dx`` on a crop and ``-dx`` on its
    mirror (label noise) unless it is taken out first; ``benchmarks/label_convention.py`` measures it.
    The offsets are in the original photos' pixels: a photo that ``scales`` (:func:`read_photo_scales`) names
    was resized by ``(sx, sy)``, and its offset with it. Returns how many records moved."""
    table = check_label_offsets(offsets)
    scales = scales or {}
    moved = 0
    for rec in records:
        k = key(rec.image_path)
        hits = [p for p in table if k.startswith(p)]
        if not hits:
            continue
        d = table[max(hits, key=len)] * scales.get(k, 1.0)
        if rec.label_source in PEOPLE:
            rec.points = rec.points - d
        if rec.five is not None:
            rec.five = rec.five - d
        moved += 1
    return moved


def _in_scheme(sample: Sample, sch: LandmarkScheme) -> np.ndarray:
    """A sample's points in ``sch`` (68 or 5 points): 68 -> 68 as is, 68 -> 5 by the scheme's 5-point
    groups, CFP 30 -> 68 / 5 by :mod:`facealign.data.profile`."""
    n = sample.points.shape[0]
    if sample.scheme == "cfp30":
        if sch.num_points == 68:
            return cfp_to_68(sample.points)
        if sch.num_points == 5:
            return cfp_to_five(sample.points)
    elif n == sch.num_points:
        return sample.points
    elif n == 68 and sch.num_points == 5:
        return get_scheme("68").to_five(sample.points)
    raise ValueError(f"{sample.source}: cannot put {sample.scheme} ({n}) points into scheme {sch.name}")


def source_records(samples: Iterable[Sample], scheme: str | LandmarkScheme, *, weight: float, source: str) -> list[FaceRecord]:
    """One :class:`FaceRecord` per sample of a human-68 or profile source, its points in ``scheme``
    (NaN where the source defines none), its face ``box`` that of the annotation (its own, else the box of
    all its points: a profile's 30 CFP points, which the profile protocol normalises by, though only 5 of
    them have a 68-point counterpart), no separate 5-point label, label source ``source`` with loss weight
    ``weight``."""
    sch = get_scheme(scheme)
    return [
        FaceRecord.from_sample(
            s, sch, points=_in_scheme(s, sch), box=s.box if s.box is not None else Box.from_points(s.points), label_source=source, weight=weight
        )
        for s in samples
    ]
