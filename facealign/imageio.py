"""Turning whatever a user passes (path, numpy array, PIL image) into an RGB uint8 array.

The colour-order contract: a numpy array carries no channel order, and a BGR array (``cv2.imread``,
``cv2.VideoCapture``) read as RGB runs silently and is wrong by 3-7 % of the inter-ocular distance.
So a colour numpy image must come with ``color="rgb"`` or ``color="bgr"`` (:data:`COLOR_ORDERS`);
without it :func:`to_rgb_uint8` raises a ``ValueError`` naming both. Paths, PIL images and gray
arrays need nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .image_header import apply_orientation, exif_orientation, header_size, image_format

__all__ = ["COLOR_ORDERS", "DEFAULT_MAX_PIXELS", "MAX_PIXELS", "ImageInput", "to_rgb_uint8", "read_image"]

#: The channel orders a numpy image can state.
COLOR_ORDERS = ("rgb", "bgr")

ImageInput = Any  # str | Path | np.ndarray | PIL.Image.Image


def _env_max_pixels() -> int:
    text = os.environ.get("FACEALIGN_MAX_PIXELS", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise ValueError(f"FACEALIGN_MAX_PIXELS must be a number of pixels, got {text!r}") from None
    if value < 1:
        raise ValueError(f"FACEALIGN_MAX_PIXELS must be >= 1, got {text!r}")
    return value


DEFAULT_MAX_PIXELS = 250_000_000
"""250 megapixels: a 200 MP phone photo (16320 x 12240) passes, at about 600 MB as RGB uint8."""

MAX_PIXELS: int = _env_max_pixels()
"""The largest image :func:`read_image` decodes, in pixels (width x height as the file's header
declares it). Set it here, with the ``FACEALIGN_MAX_PIXELS`` environment variable (read at import) or
with ``facealign detect --max-pixels``. Files above it are refused before their pixels are decoded."""


_ORIENTED_BY_OPENCV = {"tiff"}
"""Formats whose EXIF orientation OpenCV applies itself, even with ``IMREAD_UNCHANGED`` (its TIFF
decoder does; its JPEG, PNG and WebP decoders do not)."""


def read_image(path: str | Path, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB (any depth, alpha dropped, gray expanded), in
    its displayed frame: the EXIF orientation of JPEG / PNG / TIFF / WebP files is applied, so
    ``(x, y)`` pixels of the result are those of the upright photo a viewer shows.

    Files whose header declares more than ``max_pixels`` (default :data:`MAX_PIXELS`) pixels are refused
    before decoding (a pixel bomb). Raises ``FileNotFoundError`` when missing and ``ValueError`` when
    the file is too large or not a decodable image.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    limit = MAX_PIXELS if max_pixels is None else int(max_pixels)
    data = np.fromfile(str(p), dtype=np.uint8)
    raw = data.tobytes()
    size = header_size(raw)
    if size is not None and size[0] * size[1] > limit:
        w, h = size
        raise ValueError(
            f"{p}: {w} x {h} = {w * h:,} pixels is above the limit of {limit:,} "
            "(raise facealign.imageio.MAX_PIXELS, FACEALIGN_MAX_PIXELS or --max-pixels to read it)"
        )
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ValueError(f"cannot decode {p}: not an image or truncated")
    if img.shape[0] * img.shape[1] > limit:  # a format whose header this module does not read
        raise ValueError(f"{p}: {img.shape[1]} x {img.shape[0]} = {img.shape[0] * img.shape[1]:,} pixels is above the limit of {limit:,}")
    if image_format(raw) not in _ORIENTED_BY_OPENCV:
        img = apply_orientation(img, exif_orientation(raw))
    return to_rgb_uint8(img, color="bgr")  # OpenCV decodes to BGR / BGRA (or gray)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        a = arr.astype(np.float32)
        if not np.isfinite(a).all():
            raise ValueError("float image contains NaN or inf")
        scale = 255.0 if a.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(a * scale + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported image dtype {arr.dtype}; expected uint8, uint16 or float")


def to_rgb_uint8(image: ImageInput, *, color: str | None = None, bgr: object = None) -> np.ndarray:
    """Normalise an image to ``(H, W, 3)`` uint8 RGB.

    Accepts a path, a PIL image, or a numpy array ``(H, W)`` gray, ``(H, W, 1)``, ``(H, W, 3)`` or
    ``(H, W, 4)`` with alpha; uint8, uint16 (scaled by 1/257) or float (in [0, 1], or [0, 255] when
    larger values occur). A colour array must state its channel order: ``color="rgb"`` or
    ``color="bgr"`` (``cv2.imread``); ``ValueError`` when it does not. ``bgr=`` (the old flag) is
    refused with a ``TypeError`` that names its replacement.
    """
    if bgr is not None:
        raise TypeError(f"bgr={bgr!r} is no longer accepted: pass color='bgr' (cv2.imread) or color='rgb' instead")
    if color is not None and color not in COLOR_ORDERS:
        raise ValueError(f"color must be 'rgb' or 'bgr', got {color!r}")
    if isinstance(image, (str, Path)):
        return read_image(image)
    if not isinstance(image, np.ndarray):
        if hasattr(image, "convert") and hasattr(image, "mode"):  # PIL.Image without importing PIL
            return np.asarray(image.convert("RGB"))
        raise TypeError(f"expected a path, numpy array or PIL image, got {type(image).__name__}")
    arr = image
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return cv2.cvtColor(_to_uint8(arr), cv2.COLOR_GRAY2RGB)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"empty image of shape {arr.shape}")
    if color is None:
        raise ValueError(
            f"a numpy colour image {arr.shape} must state its channel order: color='rgb' (PIL, imageio, "
            "matplotlib, facealign.imageio.read_image) or color='bgr' (cv2.imread, cv2.VideoCapture)"
        )
    arr = _to_uint8(arr)
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if color == "bgr":
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)
