"""Dataset readers: one module per native annotation format, each returning :class:`~facealign.types.Sample`.

:func:`read_annotations` looks at a path and calls the right reader:

=================================================  ===========================================
path                                               reader
=================================================  ===========================================
``*.pts`` file, or a folder of them                :mod:`.pts` (iBUG, 1-based -> 0-based)
folder with ``annot/*.pts`` (+ ``imgs/``), or a     :mod:`.vw300` (300-VW clips, frame order)
folder of such clips
``list_98pt_rect_attr_*.txt`` / 207-field rows      :mod:`.wflw` (98 points, box, 6 flags)
``*.mat``                                          :mod:`.cofw` (29 points, v5 or v7.3)
folder with ``picture/`` + ``landmark/`` (or a      :mod:`.jd106` (106 points)
folder of such folders), or one landmark ``.txt``
``*.xml``, or a folder of them                      :mod:`.imglab` (dlib, several faces/image)
``PATH x1 y1 ...`` ``.txt`` list                    :mod:`.faces_list` (5 / 68 / ... points)
``*.jsonl`` / ``*.json``                           :func:`read_predictions_jsonl`
=================================================  ===========================================

Every malformed input raises :class:`AnnotationError` (a ``ValueError``) naming ``file:line``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ...types import Box, Sample
from .cofw import read_cofw_mat
from .errors import AnnotationError, read_text_lines, scheme_for_count, where
from .faces_list import is_points_list_row, read_excluded_paths, read_points_list, write_points_list
from .imglab import read_imglab_xml
from .jd106 import JD_LAYOUTS, is_jd106_folder, read_jd106_file, read_jd106_folder
from .pts import read_pts, read_pts_folder
from .vw300 import is_300vw_clip, is_300vw_root, read_300vw, read_300vw_frame
from .wflw import is_wflw_row, read_wflw_list

__all__ = [
    "read_excluded_paths",
    "AnnotationError",
    "read_300vw",
    "read_annotations",
    "read_cofw_mat",
    "read_imglab_xml",
    "read_jd106_file",
    "read_jd106_folder",
    "read_points_list",
    "read_predictions_jsonl",
    "read_pts",
    "read_pts_folder",
    "read_wflw_list",
    "write_points_list",
]

_FORMATS = (
    "a .pts file or folder, a 300-VW clip folder (annot/ + imgs/), a WFLW list, a COFW .mat, "
    "a JD-106 folder (picture/ + landmark/) or landmark .txt, an imglab .xml, "
    "a 'PATH x1 y1 ...' list .txt, or detect --json output (.jsonl)"
)


def _read_txt(p: Path, check_images: bool) -> list[Sample]:
    """Tell a WFLW list, a JD landmark file and a points list apart by name and first row."""
    if p.name.startswith("list_98pt"):
        return read_wflw_list(p, check_images=check_images)
    lines = read_text_lines(p)
    first = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if first is None:
        raise AnnotationError(f"{where(p, 1)}: expected annotations, got only comments")
    row = lines[first]
    tokens = row.split()
    in_landmark_dir = p.parent.name in {lm for _, lm in JD_LAYOUTS}
    if p.name.lower().endswith((".jpg.txt", ".png.txt")) or in_landmark_dir or (
        len(tokens) == 1 and tokens[0].isascii() and tokens[0].isdigit() and first == 0
    ):
        return [read_jd106_file(p, check_images=check_images)]
    if is_wflw_row(row):
        return read_wflw_list(p, check_images=check_images)
    if is_points_list_row(row):
        return read_points_list(p, check_images=check_images)
    raise AnnotationError(
        f"{where(p, first + 1)}: cannot tell the annotation format: expected a 'PATH x1 y1 ...' row, a WFLW row "
        f"(207 fields) or a JD point count, got {len(tokens)} field(s) starting {tokens[0][:40]!r}"
    )


def _read_folder(p: Path, check_images: bool) -> list[Sample]:
    if is_jd106_folder(p):
        return read_jd106_folder(p, check_images=check_images)
    if is_300vw_clip(p) or is_300vw_root(p):
        return read_300vw(p, check_images=check_images)
    subfolders = sorted(d for d in p.iterdir() if d.is_dir())
    jd = [d for d in subfolders if is_jd106_folder(d)]
    if jd:
        return [s for d in jd for s in read_jd106_folder(d, check_images=check_images)]
    if next(p.rglob("*.pts"), None) is not None:
        return read_pts_folder(p, check_images=check_images)
    xmls = sorted(p.glob("*.xml"))
    if xmls:
        return [s for x in xmls for s in read_imglab_xml(x, check_images=check_images)]
    raise AnnotationError(f"{p}: cannot tell the annotation format of this folder; expected {_FORMATS}")


def read_annotations(path: str | os.PathLike[str], *, check_images: bool = True) -> list[Sample]:
    """Read any supported annotation file or folder (see the module table) as a list of samples.

    ``check_images``: verify that every referenced image file exists (COFW embeds its pixels).
    Raises ``FileNotFoundError`` for a missing path and :class:`AnnotationError` for a format it
    cannot tell or a malformed file.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"annotation path not found: {p}")
    if p.is_dir():
        return _read_folder(p, check_images)
    suffix = p.suffix.lower()
    if suffix == ".pts":
        if p.parent.name == "annot" and (p.parent.parent / "imgs").is_dir():
            return [read_300vw_frame(p, check_images=check_images)]
        return [read_pts(p, check_images=check_images)]
    if suffix == ".mat":
        return read_cofw_mat(p)
    if suffix == ".xml":
        return read_imglab_xml(p, check_images=check_images)
    if suffix in (".jsonl", ".json"):
        return read_predictions_jsonl(p)
    if suffix == ".txt":
        return _read_txt(p, check_images)
    raise AnnotationError(
        f"{where(p, 1)}: cannot tell the annotation format from the suffix {p.suffix!r}; expected {_FORMATS}"
    )


# ----------------------------------------------------------------------------- predictions


def _json_number(value: Any, at: str, what: str, *, allow_null: bool = False) -> float:
    if value is None and allow_null:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnnotationError(f"{at}: expected {what} to be a number, got {json.dumps(value)[:40]}")
    try:
        out = float(value)
    except OverflowError:
        raise AnnotationError(f"{at}: expected {what} to be a finite number, got an integer too large") from None
    if math.isinf(out) or (math.isnan(out) and not allow_null):
        raise AnnotationError(f"{at}: expected {what} to be a finite number, got {out}")
    return out


def _prediction_faces(row: Any, at: str) -> list[Sample]:
    if not isinstance(row, dict) or not isinstance(row.get("image"), str) or not isinstance(row.get("faces"), list):
        raise AnnotationError(
            f"{at}: expected an object with \"image\" (a path) and \"faces\" (a list), got {json.dumps(row)[:60]}"
        )
    attributes = {}
    if "frame" in row and row["frame"] is not None:
        frame = row["frame"]
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise AnnotationError(f"{at}: expected \"frame\" to be an integer, got {json.dumps(frame)[:40]}")
        attributes["frame"] = frame
    out = []
    for n, face in enumerate(row["faces"]):
        what = f"face {n + 1}"
        if not isinstance(face, dict) or not isinstance(face.get("points"), list) or not face["points"]:
            raise AnnotationError(
                f"{at}: expected {what} to be an object with a non-empty \"points\" list, got {json.dumps(face)[:60]}"
            )
        pts = []
        for j, xy in enumerate(face["points"]):
            if not isinstance(xy, list) or len(xy) != 2:
                raise AnnotationError(f"{at}: expected point {j + 1} of {what} to be [x, y], got {json.dumps(xy)[:40]}")
            x, y = (_json_number(v, at, f"{c} of point {j + 1} of {what}", allow_null=True) for c, v in zip("xy", xy))
            pts.append([x, y])
        scheme = face.get("scheme")
        count_scheme = scheme_for_count(len(pts), at, f"the point count of {what}")
        if scheme is None:
            scheme = count_scheme
        elif str(scheme) != count_scheme:
            raise AnnotationError(
                f"{at}: expected {what} with scheme {scheme!r} to have a matching point count, got {len(pts)} points"
            )
        box = None
        if face.get("box") is not None:
            b = face["box"]
            if not isinstance(b, list) or len(b) != 4:
                raise AnnotationError(
                    f"{at}: expected the box of {what} to be [x1, y1, x2, y2], got {json.dumps(b)[:60]}"
                )
            vals = [_json_number(v, at, f"box value {i + 1} of {what}") for i, v in enumerate(b)]
            try:
                box = Box(*vals)
            except ValueError:
                raise AnnotationError(
                    f"{at}: expected the box of {what} to have x2 > x1 and y2 > y1, got {vals}"
                ) from None
        out.append(
            Sample(
                image_path=Path(row["image"]),
                points=np.asarray(pts, dtype=np.float64),
                scheme=str(scheme),
                box=box,
                attributes=dict(attributes),
                source=at,
            )
        )
    return out


def read_predictions_jsonl(path: str | os.PathLike[str]) -> list[Sample]:
    """Read ``facealign detect --json`` output: one :class:`Sample` per detected face, box set.

    Each line: ``{"image": PATH, "frame": n, "faces": [{"box": [x1, y1, x2, y2], "score": s,
    "points": [[x, y], ...], "scheme": "68"}, ...]}`` (``frame`` only for video frames; it goes to
    ``attributes["frame"]``). ``image_path`` is ``PATH`` as written. An image with no face gives no
    sample. A file holding one JSON array of such rows is read too. ``null`` points are NaN.
    """
    p = Path(path)
    lines = read_text_lines(p)
    text = "\n".join(lines).strip()
    rows: list[tuple[str, Any]] = []
    if text.startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError) as e:
            line = e.lineno if isinstance(e, json.JSONDecodeError) else 1
            raise AnnotationError(
                f"{where(p, line)}: expected a JSON array of detection rows, got invalid JSON ({e})"
            ) from None
        if not isinstance(items, list):
            raise AnnotationError(f"{where(p, 1)}: expected a JSON array of detection rows")
        rows = [(f"{where(p, 1)} (row {i + 1})", item) for i, item in enumerate(items)]
    else:
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            at = where(p, i + 1)
            try:
                rows.append((at, json.loads(line)))
            except (ValueError, RecursionError) as e:
                raise AnnotationError(f"{at}: expected one JSON object a line, got invalid JSON ({e})") from None
    return [s for at, row in rows for s in _prediction_faces(row, at)]
