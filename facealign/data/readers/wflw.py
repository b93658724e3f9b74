"""WFLW lists (``list_98pt_rect_attr_{train,test}.txt``): one face per line, 98 points.

A row holds 207 whitespace-separated fields::

    x0 y0 ... x97 y97  x_min y_min x_max y_max  pose expression illumination make-up occlusion blur  PATH

``PATH`` (e.g. ``7--Cheering/7_Cheering_Cheering_7_16.jpg``) is relative to the ``WFLW_images``
folder. In the WFLW release that folder sits two levels above the list
(``WFLW_annotations/list_98pt_rect_attr_train_test/list_...txt`` beside ``WFLW_images/``); in
``shared/data/samples/wflw`` it sits beside the list. The reader looks in both places (and one level
higher, and the list's own folder), or takes ``images_root`` when given.

Pixel convention: WFLW coordinates are read as 0-based, **unshifted**. The WFLW release documents
no origin (unlike the 1-based MATLAB files of 300-W and COFW), and common loaders such as mmpose's
``wflw2coco`` converter take the values as written. The sample agrees as far as 4 faces can tell:
all 392 points fall inside ``[-0.5, W - 0.5] x [-0.5, H - 0.5]`` and, drawn at those pixels, lie on
the eyes, brows, nose and lips; a half- or one-pixel shift is too small to settle from 4 faces, so
no shift is applied. The box (integers) is read as ``Box(x_min, y_min, x_max, y_max)``; it need not
contain every point (the third sample face's chin lies below its box). The six flags go to
``Sample.attributes`` under :data:`WFLW_ATTRIBUTES`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...types import Box, Sample
from .errors import AnnotationError, parse_int, parse_number, read_text_lines, where

__all__ = ["WFLW_ATTRIBUTES", "WFLW_FIELDS", "read_wflw_list", "is_wflw_row"]

WFLW_POINTS = 98
#: The six 0/1 flags of a row, in file order (also the names of the WFLW test subsets).
WFLW_ATTRIBUTES = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
#: Fields per row: 196 coordinates + 4 box values + 6 flags + the image path.
WFLW_FIELDS = 2 * WFLW_POINTS + 4 + len(WFLW_ATTRIBUTES) + 1
IMAGES_DIR = "WFLW_images"


def is_wflw_row(line: str) -> bool:
    """True when ``line`` has WFLW's 207 fields with a number first (a cheap format sniff)."""
    tokens = line.split()
    if len(tokens) != WFLW_FIELDS:
        return False
    try:
        float(tokens[0])
    except ValueError:
        return False
    return True


def _images_root(list_path: Path, first_rel: str | None) -> Path | None:
    """The first candidate folder that holds the first row's image (None when none does)."""
    here = list_path.parent
    candidates = [here / IMAGES_DIR, here.parent / IMAGES_DIR, here.parent.parent / IMAGES_DIR, here]
    for c in candidates:
        if first_rel is not None and (c / first_rel).is_file():
            return c
    return None


def read_wflw_list(
    path: str | os.PathLike[str],
    *,
    images_root: str | os.PathLike[str] | None = None,
    check_images: bool = True,
) -> list[Sample]:
    """Read a WFLW list: one :class:`Sample` per row (``scheme="98"``, box, six attributes).

    ``images_root``: the ``WFLW_images`` folder (found next to the list when None, see the module
    docstring). With ``check_images`` every row's image must exist. Blank lines are skipped.
    Shape: ``points (98, 2)``, 0-based pixels, unshifted.
    """
    p = Path(path)
    lines = read_text_lines(p)
    rows = [(i + 1, ln.split()) for i, ln in enumerate(lines) if ln.strip()]
    if images_root is not None:
        root = Path(images_root)
    else:
        first_rel = rows[0][1][-1] if len(rows[0][1]) == WFLW_FIELDS else None
        found = _images_root(p, first_rel)
        if found is None and check_images and first_rel is not None:
            raise AnnotationError(
                f"{where(p, rows[0][0])}: expected the image {first_rel} under a {IMAGES_DIR} folder beside the "
                f"list or up to two levels above it, found none (pass images_root=)"
            )
        root = found if found is not None else p.parent / IMAGES_DIR
    out = []
    checked: set[Path] = set()
    for lineno, tokens in rows:
        at = where(p, lineno)
        if len(tokens) != WFLW_FIELDS:
            raise AnnotationError(
                f"{at}: expected {WFLW_FIELDS} fields (196 coordinates, 4 box values, 6 flags, image path), "
                f"got {len(tokens)}"
            )
        coords = [parse_number(t, at, f"coordinate {j + 1}") for j, t in enumerate(tokens[: 2 * WFLW_POINTS])]
        box_vals = [parse_number(t, at, name) for t, name in zip(tokens[196:200], ("x_min", "y_min", "x_max", "y_max"))]
        try:
            box = Box(*box_vals)
        except ValueError:
            raise AnnotationError(
                f"{at}: expected a box with x_max > x_min and y_max > y_min, got {box_vals}"
            ) from None
        attributes = {}
        for name, t in zip(WFLW_ATTRIBUTES, tokens[200:206]):
            flag = parse_int(t, at, f"the {name} flag")
            if flag not in (0, 1):
                raise AnnotationError(f"{at}: expected the {name} flag to be 0 or 1, got {flag}")
            attributes[name] = flag
        image = root / tokens[206]
        if check_images and image not in checked:
            if not image.is_file():
                raise AnnotationError(f"{at}: expected the image {image}, but that file does not exist")
            checked.add(image)
        out.append(
            Sample(
                image_path=image,
                points=np.asarray(coords, dtype=np.float64).reshape(WFLW_POINTS, 2),
                scheme=str(WFLW_POINTS),
                box=box,
                attributes=attributes,
                source=at,
            )
        )
    return out
