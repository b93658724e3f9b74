"""dlib imglab XML (``training_with_face_landmarks.xml``): several faces per image.

Layout::

    <dataset><images>
      <image file='2007_007763.jpg' width='500' height='375'>
        <box top='90' left='194' width='37' height='37'>
          <part name='00' x='201' y='107'/>
          ...
        </box>
      </image>
    </images></dataset>

``file`` is relative to the XML's folder. A part's ``name`` is its 0-based point index; a part the
XML leaves out is NaN. ``K`` is the smallest known scheme size that holds
the largest index in the file (68 for dlib's 300-W model). dlib's coordinates are 0-based pixel
indices, used **unshifted**. The box is read as ``Box(left, top, left + width, top + height)``.
A box marked ``ignore='1'`` is not a labelled face and is skipped unless ``include_ignored``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import numpy as np

from ...landmarks import SCHEMES
from ...types import Box, Sample
from .errors import AnnotationError, parse_number, where

__all__ = ["read_imglab_xml"]

#: dlib writes OBJECT_PART_NOT_PRESENT as this coordinate for a part it does not know.
DLIB_PART_NOT_PRESENT = 0x7FFFFFFF
#: A part name longer than this is not a point index of any scheme.
MAX_INDEX_DIGITS = 6


@dataclass
class _Face:
    image: Path
    box: Box
    line: int
    parts: dict[int, tuple[float, float]] = field(default_factory=dict)


def _attr(attrs: dict[str, str], key: str, at: str, tag: str) -> str:
    if key not in attrs:
        raise AnnotationError(f"{at}: expected <{tag}> to have a {key}= attribute, got {sorted(attrs)}")
    return attrs[key]


def _parse(path: Path, include_ignored: bool) -> list[_Face]:
    faces: list[_Face] = []
    stack: list[str] = []
    state: dict[str, object] = {"image": None, "face": None}
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        at = where(path, parser.CurrentLineNumber)
        parent = stack[-1] if stack else None
        stack.append(tag)
        if tag == "image" and parent == "images":
            state["image"] = path.parent / _attr(attrs, "file", at, tag)
        elif tag == "box" and parent == "image":
            vals = [parse_number(_attr(attrs, k, at, tag), at, f"box {k}") for k in ("left", "top", "width", "height")]
            if vals[2] <= 0 or vals[3] <= 0:
                raise AnnotationError(f"{at}: expected a box with width > 0 and height > 0, got {vals[2]} x {vals[3]}")
            state["face"] = None
            if not include_ignored and attrs.get("ignore", "0").strip() in ("1", "true"):
                return
            try:
                box = Box.from_xywh(*vals)
            except ValueError:
                raise AnnotationError(
                    f"{at}: expected a box of finite size, got left, top, width, height {vals}"
                ) from None
            face = _Face(state["image"], box, parser.CurrentLineNumber)
            faces.append(face)
            state["face"] = face
        elif tag == "part" and parent == "box":
            face = state["face"]
            if face is None:  # part of an ignored box
                return
            name = _attr(attrs, "name", at, tag).strip()
            if not (name.isascii() and name.isdigit() and len(name) <= MAX_INDEX_DIGITS):
                raise AnnotationError(f"{at}: expected a part name that is a point index (e.g. '00'), got {name!r}")
            index = int(name)
            if index in face.parts:
                raise AnnotationError(f"{at}: expected each part once per box, got part {name!r} again")
            x = parse_number(_attr(attrs, "x", at, tag), at, f"x of part {name}")
            y = parse_number(_attr(attrs, "y", at, tag), at, f"y of part {name}")
            if abs(x) != DLIB_PART_NOT_PRESENT and abs(y) != DLIB_PART_NOT_PRESENT:
                face.parts[index] = (x, y)

    def end(tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    data = path.read_bytes()
    if not data.strip():
        raise AnnotationError(f"{where(path, 1)}: expected imglab XML, got an empty file")
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise AnnotationError(
            f"{where(path, e.lineno)}: expected well-formed XML, got {expat.errors.messages[e.code]}"
        ) from None
    return faces


def _num_points(faces: list[_Face], path: Path) -> tuple[int, str]:
    largest = max((max(f.parts) for f in faces if f.parts), default=-1)
    if largest < 0:
        raise AnnotationError(f"{where(path, 1)}: expected <part> landmarks inside the <box> elements, found none")
    for name, scheme in sorted(SCHEMES.items(), key=lambda kv: kv[1].num_points):
        if scheme.num_points > largest:
            return scheme.num_points, name
    line = next(f.line for f in faces if f.parts and max(f.parts) == largest)
    known = max(s.num_points for s in SCHEMES.values())
    raise AnnotationError(f"{where(path, line)}: expected part indices below {known} (a known scheme), got {largest}")


def read_imglab_xml(
    path: str | os.PathLike[str], *, check_images: bool = True, include_ignored: bool = False
) -> list[Sample]:
    """Read an imglab XML: one :class:`Sample` per ``<box>``, in file order.

    ``points``: ``(K, 2)``, NaN for parts the box leaves out (the format has no visibility, so
    ``visible`` is None); ``box`` from the XML; ``source``: the ``<box>`` line. With
    ``check_images`` every image must exist.
    """
    p = Path(path)
    faces = _parse(p, include_ignored)
    if not faces:
        raise AnnotationError(f"{where(p, 1)}: expected <image><box> elements, found no face")
    k, scheme = _num_points(faces, p)
    out = []
    checked: set[Path] = set()
    for f in faces:
        if check_images and f.image not in checked:
            if not f.image.is_file():
                raise AnnotationError(f"{where(p, f.line)}: expected the image {f.image}, but that file does not exist")
            checked.add(f.image)
        points = np.full((k, 2), math.nan)
        for i, xy in f.parts.items():
            points[i] = xy
        out.append(
            Sample(
                image_path=f.image,
                points=points,
                scheme=scheme,
                box=f.box,
                source=where(p, f.line),
            )
        )
    return out
