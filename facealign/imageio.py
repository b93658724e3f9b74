"""Turning whatever a user passes (path, numpy array, PIL image) into an RGB uint8 array."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = ["ImageInput", "to_rgb_uint8", "read_image"]

ImageInput = Any  # str | Path | np.ndarray | PIL.Image.Image


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB (any depth, alpha dropped, gray expanded).

    Raises ``FileNotFoundError`` when missing and ``ValueError`` when the file is not a decodable image.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    data = np.fromfile(str(p), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ValueError(f"cannot decode {p}: not an image or truncated")
    return to_rgb_uint8(img, bgr=img.ndim == 3)


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


def to_rgb_uint8(image: ImageInput, *, bgr: bool = False) -> np.ndarray:
    """Normalise an image to ``(H, W, 3)`` uint8 RGB.

    Accepts a path, a PIL image, or a numpy array ``(H, W)`` gray, ``(H, W, 1)``, ``(H, W, 3)``
    RGB (BGR when ``bgr=True``, as from ``cv2.imread``) or ``(H, W, 4)`` RGBA / BGRA; uint8, uint16
    (scaled by 1/257) or float (in [0, 1], or [0, 255] when larger values occur).
    """
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
    arr = _to_uint8(arr)
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if bgr:
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)
