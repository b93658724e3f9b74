"""CFP (Celebrities in Frontal-Profile, Sengupta et al., WACV 2016) fiducial files: ``ID/NN.txt`` beside
``ID/NN.jpg``, 30 lines ``x,y`` in the release's own 30-point scheme (profile faces: the visible side only).

The release's ``Readme.txt`` says nothing of the pixel origin; the values are used as written (0-based
assumed: a half-pixel at most, under 1 % of these faces' size). The scheme of the 30 points and its
correspondence to the 68-point iBUG scheme are in :mod:`facealign.data.profile`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...types import Sample
from .errors import AnnotationError, find_image, parse_number, read_text_lines, where

__all__ = ["CFP_POINTS", "read_cfp", "read_cfp_folder"]

#: Points of a CFP fiducial file.
CFP_POINTS = 30


def read_cfp(path: str | os.PathLike[str]) -> Sample:
    """One CFP fiducial file as a :class:`Sample` with ``(30, 2)`` points and ``scheme = "cfp30"``.

    Raises :class:`AnnotationError` (file and line) for a line that is not ``x,y``, a count other than
    30, or a missing image beside the file.
    """
    p = Path(path)
    lines = [(i + 1, ln) for i, ln in enumerate(read_text_lines(p)) if ln.strip()]
    if len(lines) != CFP_POINTS:
        raise AnnotationError(f"{where(p, 1)}: expected {CFP_POINTS} lines 'x,y' (CFP fiducials), got {len(lines)}")
    points = np.empty((CFP_POINTS, 2), dtype=np.float64)
    for k, (no, ln) in enumerate(lines):
        fields = ln.split(",")
        if len(fields) != 2:
            raise AnnotationError(f"{where(p, no)}: expected point {k + 1} as 'x,y', got {ln.strip()[:60]!r}")
        points[k] = [parse_number(f.strip(), where(p, no), f"{axis} of point {k + 1}") for f, axis in zip(fields, "xy")]
    image = find_image(p.with_suffix(""))
    if image is None:
        raise AnnotationError(f"{where(p, 1)}: expected an image beside it named {p.stem}.jpg, found none")
    return Sample(image_path=image, points=points, scheme="cfp30", source=where(p, 1))


def read_cfp_folder(folder: str | os.PathLike[str]) -> list[Sample]:
    """Every ``ID/NN.txt`` fiducial file under ``folder`` (sorted by path; ``Readme.txt`` skipped)."""
    root = Path(folder)
    files = sorted(f for f in root.glob("*/*.txt"))
    if not files:
        raise AnnotationError(f"{root}: expected CFP fiducial files ID/NN.txt in this folder, found none")
    return [read_cfp(f) for f in files]
