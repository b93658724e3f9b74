"""SCC's occlusion claim on real occlusion: the held-out ``300w_human`` faces where hair, hands, objects or other
people really hide points (``configs/occluded_300w_human.tsv``, picked by eye; issue 24).

:func:`read_hidden_points` reads that list: one row per face and kind of occluder, tab-separated
``FACE_ID  KIND  INDICES  WORDS`` (``#`` comments), ``INDICES`` 0-based points as ``a-b`` ranges and single
indices joined by commas (``0-3,16``). Every row is checked: a known kind (:data:`KINDS`), indices inside the
scheme, none listed twice for a face (in one row or two), one row per face and kind, and, given the holdout
list, a face id it names; a bad row raises :class:`~facealign.data.readers.AnnotationError` with the file and line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from facealign.data.readers import AnnotationError, read_excluded_paths
from facealign.data.readers.errors import parse_int, read_text_lines, where

#: Something in front of the face (the occlusion SCC's claim is about).
OCCLUDERS = ("hair", "hand", "object", "person", "headwear", "sunglasses", "tongue")
#: ``self``: the far side of a turned head (the jaw contour labelled on the cheek's silhouette);
#: ``frame``: points at the photo's edge (the face runs off the photo).
KINDS = (*OCCLUDERS, "self", "frame")
#: Fields of a row: face id, kind, indices, words.
FIELDS = 4


@dataclass(frozen=True)
class HiddenPoints:
    """One row of an occlusion list: the points of ``face`` that ``kind`` hides, in the file's words."""

    face: str
    kind: str
    indices: tuple[int, ...]
    note: str
    source: str


def parse_indices(text: str, at: str, num_points: int) -> tuple[int, ...]:
    """``"0-3,16"`` -> ``(0, 1, 2, 3, 16)``: comma-separated single indices and inclusive ``a-b`` ranges, each in
    ``0 .. num_points - 1`` and none twice. Raises :class:`AnnotationError` at ``at``."""
    out: list[int] = []
    for part in text.split(","):
        lo_text, dash, hi_text = part.strip().partition("-")
        lo = parse_int(lo_text, at, f"a point index in {text!r}")
        hi = parse_int(hi_text, at, f"the end of range {part.strip()!r}") if dash else lo
        if not 0 <= lo <= hi < num_points:
            raise AnnotationError(f"{at}: expected point indices 0..{num_points - 1} (ranges a-b with a <= b), got {part.strip()!r}")
        for k in range(lo, hi + 1):
            if k in out:
                raise AnnotationError(f"{at}: expected each point index once, got {k} twice in {text!r}")
            out.append(k)
    return tuple(out)


def read_hidden_points(
    path: str | os.PathLike[str], *, holdout: str | os.PathLike[str] | None = None, num_points: int = 68
) -> list[HiddenPoints]:
    """The rows of an occlusion list, in file order (see the module docstring for the format and the checks)."""
    p = Path(path)
    faces = read_excluded_paths(holdout) if holdout is not None else None
    rows: list[HiddenPoints] = []
    seen: dict[str, dict[int, int]] = {}  # face -> point -> the line that listed it
    kinds_seen: dict[tuple[str, str], int] = {}
    for n, line in enumerate(read_text_lines(p), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        at = where(p, n)
        fields = line.split("\t")
        if len(fields) != FIELDS or not all(f.strip() for f in fields):
            raise AnnotationError(f"{at}: expected {FIELDS} tab-separated fields (face id, kind, indices, words), got {len(fields)}: {line[:60]!r}")
        face, kind, indices, note = (f.strip() for f in fields)
        if kind not in KINDS:
            raise AnnotationError(f"{at}: expected a kind among {', '.join(KINDS)}, got {kind!r}")
        if faces is not None and face not in faces:
            raise AnnotationError(f"{at}: expected a face id of {holdout}, got {face!r}")
        if (face, kind) in kinds_seen:
            raise AnnotationError(f"{at}: expected one {kind!r} row for {face}, got another (line {kinds_seen[face, kind]})")
        kinds_seen[face, kind] = n
        points = parse_indices(indices, at, num_points)
        listed = seen.setdefault(face, {})
        for k in points:
            if k in listed:
                raise AnnotationError(f"{at}: expected each point of {face} in one row, got {k} again (line {listed[k]})")
            listed[k] = n
        rows.append(HiddenPoints(face, kind, points, note, at))
    return rows
