"""iBUG ``.pts`` files (300-W, 300-VW, menpo): one face per file, image beside it.

Layout::

    version: 1
    n_points:  68
    {
    x1 y1
    ...
    xK yK
    }

The coordinates are 1-based MATLAB pixels (the pixel centre of the top-left pixel is ``(1, 1)``);
the reader subtracts 1 from every coordinate to reach facealign's 0-based convention
(:mod:`facealign.types`): ``x = x_pts - 1``, ``y = y_pts - 1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...types import Sample
from .errors import (
    IMAGE_SUFFIXES,
    AnnotationError,
    find_image,
    parse_int,
    parse_number,
    read_text_lines,
    scheme_for_count,
    where,
)

__all__ = ["PTS_ORIGIN", "parse_pts", "read_pts", "read_pts_folder"]

#: ``.pts`` coordinates are 1-based: subtract this to reach the 0-based pixel convention.
PTS_ORIGIN = 1.0


def _header_value(line: str, key: str, at: str) -> str:
    """The text after ``key:`` on a header line (``"n_points:  68"`` -> ``"68"``)."""
    name, sep, value = line.partition(":")
    if not sep or name.strip().lower() != key:
        raise AnnotationError(f"{at}: expected '{key}: <number>', got {line.strip()[:60]!r}")
    return value.strip()


def parse_pts(lines: list[str], path: str | os.PathLike[str]) -> np.ndarray:
    """The ``(K, 2)`` points of a ``.pts`` file's lines **as written** (1-based, no shift).

    ``lines[0]`` is line 1; messages name ``path``. Blank lines after ``}`` are allowed; anything
    else out of place raises :class:`AnnotationError`.
    """
    # Drop trailing blank lines so that "end of file" points at the line after the last text.
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1

    def line(i: int, expected: str) -> str:  # i is 0-based; past the end is a truncated file
        if i >= end:
            raise AnnotationError(f"{where(path, i + 1)}: expected {expected}, got end of file (truncated)")
        return lines[i]

    _header_value(line(0, "'version: 1'"), "version", where(path, 1))
    count_text = _header_value(line(1, "'n_points: <count>'"), "n_points", where(path, 2))
    count = parse_int(count_text, where(path, 2), "n_points")
    scheme_for_count(count, where(path, 2), "n_points")
    opening = line(2, "'{'").strip()
    if opening != "{":
        raise AnnotationError(f"{where(path, 3)}: expected '{{', got {opening[:60]!r}")
    points = np.empty((count, 2), dtype=np.float64)
    for k in range(count):
        at = where(path, k + 4)
        tokens = line(k + 3, f"point {k + 1} of {count} ('x y')").split()
        if len(tokens) != 2:
            got = "'}'" if tokens == ["}"] else f"{len(tokens)} fields"
            raise AnnotationError(f"{at}: expected point {k + 1} of {count} as 2 numbers 'x y', got {got}")
        points[k, 0] = parse_number(tokens[0], at, f"x of point {k + 1}")
        points[k, 1] = parse_number(tokens[1], at, f"y of point {k + 1}")
    closing = line(count + 3, f"'}}' after {count} points").strip()
    if closing != "}":
        raise AnnotationError(
            f"{where(path, count + 4)}: expected '}}' after {count} points (n_points), got {closing[:60]!r}"
        )
    if end > count + 4:
        raise AnnotationError(
            f"{where(path, count + 5)}: expected nothing after '}}', got {lines[count + 4].strip()[:60]!r}"
        )
    return points


def read_pts(
    path: str | os.PathLike[str],
    *,
    image_path: str | os.PathLike[str] | None = None,
    check_images: bool = True,
    attributes: dict[str, int] | None = None,
) -> Sample:
    """Read one ``.pts`` file as a :class:`Sample` in the 0-based pixel convention.

    ``image_path``: the image the points belong to; by default the file beside the ``.pts`` with
    the same stem and an image suffix (``.jpg``, ``.png``, ... see ``IMAGE_SUFFIXES``). With
    ``check_images`` a missing image raises :class:`AnnotationError`; without it the default is
    ``STEM.jpg``. ``points``: ``(K, 2)`` = file values - 1; ``scheme``: ``str(K)``; no box.
    """
    p = Path(path)
    raw = parse_pts(read_text_lines(p), p)
    if image_path is None:
        found = find_image(p.with_suffix(""))
        if found is None and check_images:
            tried = "/".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
            raise AnnotationError(
                f"{where(p, 1)}: expected an image beside it named {p.stem}.{{{tried}}}, found none"
            )
        img = found if found is not None else p.with_suffix(".jpg")
    else:
        img = Path(image_path)
        if check_images and not img.is_file():
            raise AnnotationError(f"{where(p, 1)}: expected its image at {img}, but that file does not exist")
    return Sample(
        image_path=img,
        points=raw - PTS_ORIGIN,
        scheme=str(len(raw)),
        attributes=dict(attributes or {}),
        source=where(p, 1),
    )


def read_pts_folder(
    folder: str | os.PathLike[str], *, recursive: bool = True, check_images: bool = True
) -> list[Sample]:
    """Every ``*.pts`` under ``folder`` (sorted by path; sub-folders too when ``recursive``)."""
    root = Path(folder)
    files = sorted(root.rglob("*.pts") if recursive else root.glob("*.pts"))
    if not files:
        raise AnnotationError(f"{root}: expected .pts files in this folder, found none")
    return [read_pts(f, check_images=check_images) for f in files]
