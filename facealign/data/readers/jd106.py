"""JD-landmark 106-point files: ``picture/NAME.jpg`` with ``landmark/NAME.jpg.txt``.

A landmark file holds the point count on its first line (106), then one ``x y`` pair a line::

    106
    406.000 644.000
    ...

LaPa, which uses the same scheme, names the pair ``images/NAME.jpg`` + ``landmarks/NAME.txt``; the
folder reader takes both layouts.

Pixel convention: JD-106 coordinates are read as 0-based, **unshifted**. The JD-landmark challenge
(ICME 2019) and LaPa document no 1-based origin (unlike the MATLAB-made 300-W and COFW files), and
the values are whole numbers (``406.000``) that read as 0-based pixel indices, i.e. pixel centres in
facealign's convention. The two sample photos agree: every point lies inside ``[0, W - 1] x
[0, H - 1]`` and, drawn at that pixel, on the facial feature; a one-pixel shift is below what two
faces can settle, so none is applied.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...types import Sample
from .errors import AnnotationError, find_image, parse_int, parse_number, read_text_lines, scheme_for_count, where

__all__ = ["JD_LAYOUTS", "is_jd106_folder", "read_jd106_file", "read_jd106_folder"]

#: (image folder, landmark folder) pairs: the JD-landmark release and LaPa.
JD_LAYOUTS = (("picture", "landmark"), ("images", "landmarks"))


def _layout(folder: Path) -> tuple[Path, Path] | None:
    for pictures, landmarks in JD_LAYOUTS:
        if (folder / pictures).is_dir() and (folder / landmarks).is_dir():
            return folder / pictures, folder / landmarks
    return None


def is_jd106_folder(folder: str | os.PathLike[str]) -> bool:
    """True for a folder holding ``picture/`` and ``landmark/`` (or LaPa's ``images/`` + ``landmarks/``)."""
    return _layout(Path(folder)) is not None


def _image_for(txt: Path, pictures: Path) -> Path:
    """``NAME.jpg.txt`` -> ``pictures/NAME.jpg``; ``NAME.txt`` -> ``pictures/NAME.<image suffix>``."""
    stem = txt.name[: -len(".txt")] if txt.name.lower().endswith(".txt") else txt.name
    direct = pictures / stem
    if Path(stem).suffix and direct.is_file():
        return direct
    found = find_image(pictures / stem)
    if found is not None:
        return found
    return direct if Path(stem).suffix else pictures / (stem + ".jpg")


def read_jd106_file(
    path: str | os.PathLike[str],
    *,
    image_path: str | os.PathLike[str] | None = None,
    check_images: bool = True,
) -> Sample:
    """Read one landmark ``.txt`` (count line, then ``x y`` lines) as a :class:`Sample`.

    ``image_path``: default ``../picture/NAME.jpg`` when the file sits in a ``landmark`` (or
    ``landmarks``) folder, else ``NAME.jpg`` beside it. With ``check_images`` a missing image raises
    :class:`AnnotationError`. Shape: ``points (K, 2)``, K from the first line (106 for JD).
    """
    p = Path(path)
    lines = read_text_lines(p)
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    count = parse_int(lines[0], where(p, 1), "the point count on line 1")
    scheme = scheme_for_count(count, where(p, 1), "the point count on line 1")
    got = end - 1
    if got < count:
        raise AnnotationError(
            f"{where(p, got + 2)}: expected {count} point lines (line 1 says {count}), got end of file after {got}"
        )
    if got > count:
        raise AnnotationError(f"{where(p, count + 2)}: expected {count} point lines (line 1 says {count}), got {got}")
    points = np.empty((count, 2), dtype=np.float64)
    for k in range(count):
        at = where(p, k + 2)
        tokens = lines[k + 1].split()
        if len(tokens) != 2:
            raise AnnotationError(f"{at}: expected point {k + 1} as 2 numbers 'x y', got {len(tokens)} fields")
        points[k, 0] = parse_number(tokens[0], at, f"x of point {k + 1}")
        points[k, 1] = parse_number(tokens[1], at, f"y of point {k + 1}")
    if image_path is None:
        folder = p.parent
        for pictures, landmarks in JD_LAYOUTS:
            if folder.name == landmarks and (folder.parent / pictures).is_dir():
                image = _image_for(p, folder.parent / pictures)
                break
        else:
            image = _image_for(p, folder)
    else:
        image = Path(image_path)
    if check_images and not image.is_file():
        raise AnnotationError(f"{where(p, 1)}: expected its image at {image}, but that file does not exist")
    return Sample(image_path=image, points=points, scheme=scheme, source=where(p, 1))


def read_jd106_folder(folder: str | os.PathLike[str], *, check_images: bool = True) -> list[Sample]:
    """Every landmark file of a ``picture/`` + ``landmark/`` folder, sorted by name."""
    root = Path(folder)
    layout = _layout(root)
    if layout is None:
        raise AnnotationError(f"{root}: expected sub-folders picture/ and landmark/ (JD-106), found neither pair")
    pictures, landmarks = layout
    files = sorted(f for f in landmarks.iterdir() if f.is_file() and f.suffix.lower() == ".txt")
    if not files:
        raise AnnotationError(f"{landmarks}: expected landmark .txt files, found none")
    return [read_jd106_file(f, image_path=_image_for(f, pictures), check_images=check_images) for f in files]
