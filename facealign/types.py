"""Result and sample types, and THE pixel-coordinate convention of facealign.

Pixel convention (written once, used by readers, crops, codecs, flips and metrics)
--------------------------------------------------------------------------------
* Coordinates are ``(x, y)`` floats in pixels of the image as displayed, x to the right, y down: for a
  file with an EXIF orientation (a phone photo stored sideways), the upright frame after applying it
  (:func:`facealign.imageio.read_image`); for an array, the array as given.
* **Pixel centres sit at integer coordinates**: pixel ``(col, row)`` covers
  ``[col - 0.5, col + 0.5) x [row - 0.5, row + 0.5)``. An image of width ``W`` spans
  ``x in [-0.5, W - 0.5]``. This is OpenCV's ``warpAffine`` convention, so an affine matrix
  fitted on point coordinates warps pixels consistently with no half-pixel correction.
* 1-based annotation files (iBUG ``.pts``, MATLAB) are converted to this 0-based convention in
  their reader, nowhere else.
* A horizontal flip of an image of width ``W`` maps ``x -> (W - 1) - x`` (:func:`flip_points_x`).
* A heatmap (or any feature map) of stride ``s`` over an input places its cell ``(i, j)`` centre at
  input coordinate ``(i + 0.5) * s - 0.5`` (:func:`heatmap_to_input`). Stride 1 is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Box",
    "FaceLandmarks",
    "Sample",
    "flip_points_x",
    "heatmap_to_input",
    "input_to_heatmap",
]


def flip_points_x(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror x coordinates for an image of ``width`` pixels: ``x -> (W - 1) - x``.

    Only the coordinates move; reordering the points (left eye <-> right eye) is the scheme's
    ``flip_index`` job. Shape: ``(..., 2) -> (..., 2)``.
    """
    out = np.array(points, dtype=np.float64, copy=True)
    out[..., 0] = (width - 1.0) - out[..., 0]
    return out


def heatmap_to_input(coords: Any, stride: float) -> Any:
    """Map heatmap-cell coordinates to input-image pixels: ``u -> (u + 0.5) * stride - 0.5``.

    Works on numpy arrays and torch tensors alike. Shape: ``(..., 2) -> (..., 2)``.
    """
    return (coords + 0.5) * stride - 0.5


def input_to_heatmap(coords: Any, stride: float) -> Any:
    """Inverse of :func:`heatmap_to_input`: ``x -> (x + 0.5) / stride - 0.5``."""
    return (coords + 0.5) / stride - 0.5


@dataclass(frozen=True)
class Box:
    """Axis-aligned box ``[x1, y1, x2, y2]`` in pixel coordinates (x2 > x1, y2 > y1)."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        vals = (self.x1, self.y1, self.x2, self.y2)
        if not all(np.isfinite(v) for v in vals):
            raise ValueError(f"Box coordinates must be finite, got {vals}")
        if self.x2 <= self.x1 or self.y2 <= self.y1:
            raise ValueError(f"Box must have x2 > x1 and y2 > y1, got {vals}")

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    def as_array(self) -> np.ndarray:
        return np.array([self.x1, self.y1, self.x2, self.y2], dtype=np.float64)

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> "Box":
        return cls(float(x), float(y), float(x + w), float(y + h))

    @classmethod
    def from_points(cls, points: np.ndarray) -> "Box":
        """Tight box around the finite points ``(K, 2)``."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts) < 2:
            raise ValueError(f"Need at least 2 finite points for a box, got {len(pts)}")
        (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
        return cls(float(x1), float(y1), float(max(x2, x1 + 1e-6)), float(max(y2, y1 + 1e-6)))


@dataclass
class Sample:
    """One annotated face, as every reader returns it.

    ``points`` are ``(K, 2)`` float64 in the pixel convention above (0-based); a point that the
    annotation leaves out is NaN. ``visible`` is ``(K,)`` bool (``False`` where annotated as
    occluded). ``source`` names the annotation file and line (``"file.txt:12"``) for messages.
    """

    image_path: Path
    points: np.ndarray
    scheme: str
    box: Box | None = None
    visible: np.ndarray | None = None
    attributes: dict[str, int] = field(default_factory=dict)
    source: str = ""
    image: np.ndarray | None = None  # only for formats that embed pixels (COFW .mat); RGB uint8

    def __post_init__(self) -> None:
        self.image_path = Path(self.image_path)
        self.points = np.asarray(self.points, dtype=np.float64)
        if self.points.ndim != 2 or self.points.shape[1] != 2:
            raise ValueError(f"{self.source}: points must be (K, 2), got {self.points.shape}")
        if self.visible is not None:
            self.visible = np.asarray(self.visible, dtype=bool)
            if self.visible.shape != (len(self.points),):
                raise ValueError(
                    f"{self.source}: visible must be ({len(self.points)},), got {self.visible.shape}"
                )

    @property
    def num_points(self) -> int:
        return int(self.points.shape[0])


@dataclass
class FaceLandmarks:
    """One detected face. Shapes never change with options.

    points: ``(K, 2)`` float32, original-image pixels; box: the face box used; detector_score: the
    detector's face probability (1.0 for user boxes / points); align_points: ``(5, 2)`` float32, the 5
    points the crop was aligned with (the detector's, else the model's own); scheme: scheme name;
    image_size: ``(width, height)`` of the image the points are in (``None`` when not known).

    scores: ``(K,)`` float32 in [0, 1], one per point: for heatmap models the height of the point's
    heatmap peak (training targets peak at 1; clipped to [0, 1]); for regression models (SCC) always 1.
    A score says how sharply the network placed the point on this crop; it is **not** a visibility or
    occlusion flag: with the lower face covered in grey, its points still score 0.79 on average
    against 0.88 uncovered and 0.86 for the points left visible (8 faces of the 300-W samples,
    ``benchmarks/occluded_scores.py``), because the network still finds a plausible place for them.
    Use it to rank points or to drop a failed crop, not to find hidden points.
    """

    points: np.ndarray
    scores: np.ndarray
    box: Box
    detector_score: float
    align_points: np.ndarray
    scheme: str
    image_size: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"box": [x1, y1, x2, y2], "score": s, "points": [[x, y], ...], ...}``."""
        return {
            "box": [round(float(v), 2) for v in self.box.as_array()],
            "score": round(float(self.detector_score), 4),
            "points": [[round(float(x), 2), round(float(y), 2)] for x, y in self.points],
            "point_scores": [round(float(s), 4) for s in self.scores],
            "scheme": self.scheme,
        }

    def head_pose(self, image_size: tuple[int, int] | None = None) -> Any:
        """Yaw, pitch and roll in degrees (:class:`facealign.headpose.HeadPose`; axes and signs in
        :mod:`facealign.headpose`) from the 68 points; ``image_size`` ``(width, height)`` defaults to
        the image's. Needs a 68-point model."""
        from .headpose import head_pose

        size = image_size if image_size is not None else self.image_size
        if size is None:
            raise ValueError("head_pose needs the image size: pass image_size=(width, height)")
        if self.scheme != "68":
            raise ValueError(f"head pose needs the 68-point scheme; this face has scheme {self.scheme!r}")
        return head_pose(self.points, size)

    def aligned_crop(self, image: np.ndarray, size: int = 112, *, template: str = "arcface") -> np.ndarray:
        """The face-recognition crop (``size x size``) of ``image``, the array the points refer to:
        InsightFace's ``norm_crop`` on :attr:`align_points` (:func:`facealign.arcface.norm_crop`); the
        crop keeps the channel order of ``image``."""
        from .arcface import norm_crop

        return norm_crop(image, self.align_points, size, template=template)
