"""Synthetic clips with known motion, made by warping a real photo: ground truth for video tests and
the video benchmark (``benchmarks/jitter.py``).

Frame ``t`` of a clip is the photo warped by the ``(2, 3)`` affine ``mats[t]`` (frame-0 pixels ->
frame-t pixels, the pixel convention of :mod:`facealign.types`), plus fresh Gaussian sensor noise and
a JPEG round trip, so that any motion of the landmarks beyond ``mats`` is error. A point ``p`` found
on frame 0 is truly at ``apply_affine(mats[t], p)`` on frame ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import warp

__all__ = ["MotionClip", "motion_matrices", "render_clip"]

#: The motions :func:`motion_matrices` knows.
MOTIONS = ("still", "translation", "rotation", "zoom", "stop")


@dataclass
class MotionClip:
    """Frames (RGB uint8, ``(H, W, 3)`` each) and their known motion ``mats`` (``(T, 2, 3)``)."""

    frames: list[np.ndarray]
    mats: np.ndarray
    fps: float

    @property
    def timestamps_ms(self) -> np.ndarray:
        """``1000 t / fps`` for frame ``t``."""
        return 1000.0 * np.arange(len(self.frames)) / self.fps


def motion_matrices(
    kind: str,
    frames: int,
    centre: tuple[float, float],
    *,
    px_per_frame: float = 3.0,
    deg_per_frame: float = 0.5,
    zoom_per_frame: float = 0.005,
) -> np.ndarray:
    """``(T, 2, 3)`` affines of a constant-speed motion starting at the identity.

    ``translation``: ``px_per_frame`` to the right; ``stop``: the same for the first half of the
    clip, then still (a sudden stop); ``rotation``: ``deg_per_frame`` clockwise on
    screen about ``centre``; ``zoom``: the scale grows by ``zoom_per_frame`` a frame about ``centre``;
    ``still``: the identity on every frame.
    """
    if kind not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}, got {kind!r}")
    out = np.zeros((frames, 2, 3))
    for t in range(frames):
        if kind == "translation":
            out[t] = [[1, 0, px_per_frame * t], [0, 1, 0]]
        elif kind == "stop":
            out[t] = [[1, 0, px_per_frame * min(t, frames // 2)], [0, 1, 0]]
        elif kind == "rotation":
            out[t] = cv2.getRotationMatrix2D(centre, -deg_per_frame * t, 1.0)
        elif kind == "zoom":
            out[t] = cv2.getRotationMatrix2D(centre, 0.0, 1.0 + zoom_per_frame * t)
        else:
            out[t] = [[1, 0, 0], [0, 1, 0]]
    return out


def render_clip(
    rgb: np.ndarray,
    mats: np.ndarray,
    *,
    size: tuple[int, int] | None = None,
    fps: float = 30.0,
    noise_sigma: float = 4.0,
    jpeg_quality: int = 85,
    seed: int = 0,
) -> MotionClip:
    """Warp ``rgb`` by each of ``mats`` onto a ``size = (W, H)`` canvas (default: the photo's size;
    outside the photo is black), add Gaussian noise of ``noise_sigma`` grey levels and JPEG-encode at
    ``jpeg_quality``."""
    rng = np.random.default_rng(seed)
    w, h = size if size is not None else (rgb.shape[1], rgb.shape[0])
    frames = []
    for m in mats:
        f = warp(rgb, m, (w, h)).astype(np.float32)
        f = np.clip(f + rng.normal(0.0, noise_sigma, f.shape), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        frames.append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
    return MotionClip(frames, np.asarray(mats, dtype=np.float64), fps)

