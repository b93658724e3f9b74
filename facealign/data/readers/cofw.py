"""COFW ``.mat`` files (``COFW_test_color.mat``, ``COFW_train_color.mat``): images embedded.

Variables (test names; the training file uses ``IsTr`` / ``phisTr`` / ``bboxesTr``):

* ``IsT``: ``N x 1`` cell of images, ``H x W x 3`` RGB uint8 (``H x W`` grayscale possible);
* ``phisT``: ``N x 87`` double: 29 x, then 29 y, then 29 occlusion flags (1 = occluded);
* ``bboxesT``: ``N x 4`` double: ``x y w h``.

Both MATLAB v5 files (``scipy.io.loadmat``) and v7.3 files (HDF5, read with ``h5py``: variables
transposed, cells as object references into ``#refs#``) are read. Coordinates are 1-based MATLAB
pixels; the reader subtracts 1 from the points and from the box corner (``x - 1``, ``y - 1``, size
unchanged) to reach the 0-based convention. Each face becomes a :class:`Sample` with its pixels in
``Sample.image`` (RGB uint8), ``image_path = "<matfile>#<n>"`` and ``source = "<matfile>:<n>"``,
``n`` the 1-based MATLAB row, ``visible = flag == 0``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.io

from ...imageio import to_rgb_uint8
from ...types import Box, Sample
from .errors import AnnotationError, where

__all__ = ["COFW_POINTS", "COFW_SPLITS", "MAT_ORIGIN", "load_mat_variables", "read_cofw_mat"]

COFW_POINTS = 29
#: split -> (images, shapes, boxes) variable names.
COFW_SPLITS = {"test": ("IsT", "phisT", "bboxesT"), "train": ("IsTr", "phisTr", "bboxesTr")}
#: MATLAB pixel coordinates are 1-based: subtract this to reach the 0-based pixel convention.
MAT_ORIGIN = 1.0


def _h5_value(f: Any, obj: Any) -> Any:
    """A v7.3 dataset in MATLAB orientation: numeric arrays transposed, cells as object arrays."""
    if obj.attrs.get("MATLAB_empty", 0):
        return np.zeros((0, 0))
    data = obj[()]
    if h5py.check_dtype(ref=obj.dtype) is not None:
        cell = np.empty(data.shape, dtype=object)
        for idx in np.ndindex(data.shape):
            cell[idx] = _h5_value(f, f[data[idx]])
        return cell.T
    return np.asarray(data).T


def load_mat_variables(path: str | os.PathLike[str], names: tuple[str, ...]) -> dict[str, Any]:
    """The variables ``names`` present in a ``.mat`` file (v5 or v7.3), in MATLAB orientation.

    Numeric arrays come as numpy arrays of MATLAB's shape (``N x 87`` stays ``(N, 87)``); cells
    come as object arrays of numpy arrays. Missing names are left out of the dict.
    """
    p = Path(path)
    if h5py.is_hdf5(p):
        try:
            with h5py.File(p, "r") as f:
                return {n: _h5_value(f, f[n]) for n in names if n in f and isinstance(f[n], h5py.Dataset)}
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise AnnotationError(
                f"{where(p, 1)}: expected a readable MATLAB v7.3 (HDF5) file, got {type(e).__name__}: {e}"
            ) from None
    try:
        mat = scipy.io.loadmat(p, variable_names=list(names))
    except Exception as e:  # scipy raises ValueError / TypeError / MatReadError for broken files
        raise AnnotationError(
            f"{where(p, 1)}: expected a MATLAB .mat file (v5 or v7.3), got {type(e).__name__}: {e}"
        ) from None
    return {n: mat[n] for n in names if n in mat}


def _pick_split(found: dict[str, Any], split: str | None, p: Path) -> tuple[str, str, str]:
    present = [s for s, names in COFW_SPLITS.items() if names[0] in found or names[1] in found]
    if split is not None:
        if split not in COFW_SPLITS:
            raise ValueError(f"split must be one of {sorted(COFW_SPLITS)} or None, got {split!r}")
        names = COFW_SPLITS[split]
    elif len(present) == 1:
        names = COFW_SPLITS[present[0]]
    elif not present:
        expected = " or ".join("/".join(v) for v in COFW_SPLITS.values())
        raise AnnotationError(f"{where(p, 1)}: expected COFW variables {expected}, found none")
    else:
        raise AnnotationError(f"{where(p, 1)}: holds both the train and test variables; pass split='train' or 'test'")
    missing = [n for n in names if n not in found]
    if missing:
        raise AnnotationError(f"{where(p, 1)}: expected variables {', '.join(names)}, missing {', '.join(missing)}")
    return names


def read_cofw_mat(path: str | os.PathLike[str], *, split: str | None = None) -> list[Sample]:
    """Read a COFW ``.mat`` file: one :class:`Sample` per face, pixels embedded.

    ``split``: ``"test"`` (``IsT``...) or ``"train"`` (``IsTr``...); None takes whichever the file
    holds. Shape: ``points (29, 2)`` 0-based, ``visible (29,)``, ``image (H, W, 3)`` uint8 RGB.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"COFW file not found: {p}")
    names = tuple(n for v in COFW_SPLITS.values() for n in v)
    found = load_mat_variables(p, names)
    images_name, phis_name, boxes_name = _pick_split(found, split, p)
    images = np.asarray(found[images_name], dtype=object).reshape(-1)
    phis = np.asarray(found[phis_name])
    boxes = np.asarray(found[boxes_name])
    n = len(images)
    if phis.ndim != 2 or phis.shape != (n, 3 * COFW_POINTS) or not np.issubdtype(phis.dtype, np.number):
        raise AnnotationError(
            f"{where(p, 1)}: expected {phis_name} of shape ({n}, {3 * COFW_POINTS}) (29 x, 29 y, 29 occlusion flags "
            f"for the {n} images of {images_name}), got {phis.shape} {phis.dtype}"
        )
    if boxes.shape != (n, 4) or not np.issubdtype(boxes.dtype, np.number):
        raise AnnotationError(
            f"{where(p, 1)}: expected {boxes_name} of shape ({n}, 4) (x y w h), got {boxes.shape} {boxes.dtype}"
        )
    out = []
    for i in range(n):
        at = where(p, i + 1)
        row = phis[i].astype(np.float64)
        xy = np.stack([row[:COFW_POINTS], row[COFW_POINTS : 2 * COFW_POINTS]], axis=1)
        flags = row[2 * COFW_POINTS :]
        if not np.isfinite(xy).all():
            raise AnnotationError(f"{at}: expected finite coordinates in {phis_name} row {i + 1}, got NaN or inf")
        if not np.isin(flags, (0.0, 1.0)).all():
            bad = flags[~np.isin(flags, (0.0, 1.0))][0]
            raise AnnotationError(f"{at}: expected occlusion flags 0 or 1 in {phis_name} row {i + 1}, got {bad}")
        x, y, w, h = (float(v) for v in boxes[i])
        try:
            box = Box.from_xywh(x - MAT_ORIGIN, y - MAT_ORIGIN, w, h)
        except ValueError:
            raise AnnotationError(
                f"{at}: expected {boxes_name} row {i + 1} to be x y w h with w, h > 0, got {[x, y, w, h]}"
            ) from None
        pixels = np.asarray(images[i])
        if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 3, 4)) or pixels.size == 0:
            raise AnnotationError(
                f"{at}: expected {images_name}{{{i + 1}}} to be an H x W (x 3) image, got shape {pixels.shape}"
            )
        try:
            rgb = to_rgb_uint8(pixels, color="rgb")  # MATLAB stores RGB
        except (TypeError, ValueError) as e:
            raise AnnotationError(f"{at}: expected {images_name}{{{i + 1}}} to be an image, got {e}") from None
        out.append(
            Sample(
                image_path=Path(f"{p}#{i + 1}"),
                points=xy - MAT_ORIGIN,
                scheme=str(COFW_POINTS),
                box=box,
                visible=flags == 0,
                source=at,
                image=np.ascontiguousarray(rgb),
            )
        )
    return out
