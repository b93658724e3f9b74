"""facealign points lists (``shared/data/faces/train5.txt``, ``val68.txt``): one face a line.

Layout: ``PATH x1 y1 x2 y2 ... xK yK``, whitespace-separated, PATH relative to the list's folder
(or absolute) and free of whitespace. ``K`` comes from the first row's count (``2K`` numbers, ``K``
a known scheme size: 5, 29, 68, 98, 106) and every row must match it. Coordinates are in
facealign's 0-based pixel convention, used unshifted. ``nan`` marks a point that is not there.
Blank lines and lines starting with ``#`` are skipped. :func:`write_points_list` writes the same
format (atomically), e.g. to save predictions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...atomic import atomic_write_text
from ...types import Sample
from .errors import AnnotationError, parse_number, read_text_lines, scheme_for_count, where

__all__ = ["read_excluded_paths", "read_points_list", "write_points_list", "is_points_list_row"]


def read_excluded_paths(path: str | Path) -> set[str]:
    """The first field of every line of a list of faces to leave out (a config's ``data.exclude``:
    ``PATH ...`` lines, PATH relative to the face lists' folder; blank lines and ``#`` comments skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {ln.split()[0] for ln in lines if ln.strip() and not ln.lstrip().startswith("#")}


def is_points_list_row(line: str) -> bool:
    """True when ``line`` looks like ``PATH x1 y1 ...``: a non-numeric first field, then an even count."""
    tokens = line.split()
    if len(tokens) < 3 or (len(tokens) - 1) % 2:
        return False
    try:
        float(tokens[0])
    except ValueError:
        return True
    return False


def read_points_list(path: str | os.PathLike[str], *, check_images: bool = True) -> list[Sample]:
    """Read a points list: one :class:`Sample` per row, ``image_path = list folder / PATH``.

    ``scheme`` is ``str(K)``; no box. With ``check_images`` every row's image must exist.
    Shape: ``points (K, 2)``.
    """
    p = Path(path)
    lines = read_text_lines(p)
    folder = p.parent
    out = []
    k: int | None = None
    scheme = ""
    for i, line in enumerate(lines):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        at = where(p, i + 1)
        if k is None:
            numbers = len(tokens) - 1
            if numbers < 2 or numbers % 2:
                raise AnnotationError(
                    f"{at}: expected PATH followed by x y pairs (an even count of numbers), "
                    f"got {numbers} value(s) after the path"
                )
            k = numbers // 2
            scheme = scheme_for_count(k, at, "the number of x,y pairs")
        if len(tokens) != 2 * k + 1:
            raise AnnotationError(f"{at}: expected {2 * k + 1} fields (path + {k} x,y pairs), got {len(tokens)}")
        values = [
            parse_number(t, at, f"{'xy'[j % 2]} of point {j // 2 + 1}", allow_nan=True)
            for j, t in enumerate(tokens[1:])
        ]
        image = folder / tokens[0]
        if check_images and not image.is_file():
            raise AnnotationError(f"{at}: expected the image {image}, but that file does not exist")
        out.append(
            Sample(
                image_path=image,
                points=np.asarray(values, dtype=np.float64).reshape(k, 2),
                scheme=scheme,
                source=at,
            )
        )
    if not out:
        raise AnnotationError(f"{where(p, 1)}: expected at least one 'PATH x1 y1 ...' row, got only comments")
    return out


def _list_path(image_path: Path, folder: Path) -> str:
    """``image_path`` as written in a list in ``folder``: relative when it can be, else absolute."""
    absolute = os.path.abspath(image_path)
    try:
        rel = os.path.relpath(absolute, os.path.abspath(folder))
    except ValueError:  # another drive on Windows
        rel = absolute
    return Path(rel).as_posix()


def _format(value: float, decimals: int) -> str:
    return "nan" if math.isnan(value) else f"{value:.{decimals}f}"


def write_points_list(
    path: str | os.PathLike[str], samples: Iterable[Sample], *, decimals: int = 3
) -> Path:
    """Write ``samples`` as a points list at ``path`` (temp file + ``os.replace``), return ``path``.

    Image paths are written relative to ``path``'s folder (absolute when that is impossible), so
    :func:`read_points_list` gives back the same images; coordinates with ``decimals`` digits,
    ``nan`` for a missing point. All samples must have the same ``K``; paths must hold no whitespace.
    """
    out_path = Path(path)
    folder = out_path.parent
    rows = []
    k: int | None = None
    for n, s in enumerate(samples):
        if k is None:
            k = s.num_points
        if s.num_points != k:
            raise ValueError(
                f"sample {n} ({s.source or s.image_path}): expected {k} points like sample 0, got {s.num_points}"
            )
        if np.isinf(s.points).any():
            raise ValueError(f"sample {n} ({s.source or s.image_path}): expected finite points or NaN, got inf")
        rel = _list_path(s.image_path, folder)
        if any(c.isspace() for c in rel):
            raise ValueError(f"sample {n}: image path {rel!r} holds whitespace, which a points list cannot store")
        rows.append(" ".join([rel] + [_format(float(v), decimals) for v in s.points.reshape(-1)]))
    if not rows:
        raise ValueError("expected at least one sample to write, got none")
    atomic_write_text(out_path, "\n".join(rows) + "\n")
    return out_path
