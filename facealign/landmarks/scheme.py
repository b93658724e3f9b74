"""The :class:`LandmarkScheme` type: what a set of K landmark indices means."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LandmarkScheme", "Boundary"]


@dataclass(frozen=True)
class Boundary:
    """A named facial boundary: a chain of 0-based point indices joined by straight lines.

    ``closed`` chains (eyes, lips) also join the last point back to the first.
    """

    name: str
    indices: tuple[int, ...]
    closed: bool = False


@dataclass(frozen=True)
class LandmarkScheme:
    """A landmark annotation scheme.

    Attributes:
        name: short id, e.g. ``"68"``.
        names: one name per point (``len(names) == K``).
        flip_index: 0-based horizontal flip map: after mirroring an image, point ``i`` of the
            mirrored face is point ``flip_index[i]`` of the original. An involution.
        interocular: ``(i, j)`` outer eye corners (inter-ocular normaliser).
        left_eye, right_eye: indices averaged to get each eye centre (inter-pupil normaliser and
            the 5-point subset). "left" is the viewer's left, as in the 5-point data.
        five_point: five index groups, each averaged: left eye centre, right eye centre, nose tip,
            left mouth corner, right mouth corner.
        boundaries: facial boundaries (PropagationNet); may be empty.
    """

    name: str
    names: tuple[str, ...]
    flip_index: tuple[int, ...]
    interocular: tuple[int, int]
    left_eye: tuple[int, ...]
    right_eye: tuple[int, ...]
    five_point: tuple[tuple[int, ...], ...]
    boundaries: tuple[Boundary, ...] = ()

    def __post_init__(self) -> None:
        k = len(self.names)
        if len(self.flip_index) != k:
            raise ValueError(f"scheme {self.name}: flip_index has {len(self.flip_index)} entries, expected {k}")
        if sorted(self.flip_index) != list(range(k)):
            raise ValueError(f"scheme {self.name}: flip_index is not a permutation of 0..{k - 1}")
        if any(self.flip_index[self.flip_index[i]] != i for i in range(k)):
            raise ValueError(f"scheme {self.name}: flip_index is not an involution")
        if len(self.five_point) != 5:
            raise ValueError(f"scheme {self.name}: five_point needs 5 groups, got {len(self.five_point)}")
        used = [*self.interocular, *self.left_eye, *self.right_eye]
        used += [i for g in self.five_point for i in g] + [i for b in self.boundaries for i in b.indices]
        bad = [i for i in used if not 0 <= i < k]
        if bad:
            raise ValueError(f"scheme {self.name}: indices out of range 0..{k - 1}: {bad}")

    @property
    def num_points(self) -> int:
        return len(self.names)

    def _check(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if pts.shape[-2:] != (self.num_points, 2):
            raise ValueError(
                f"scheme {self.name} expects points of shape (..., {self.num_points}, 2), got {pts.shape}"
            )
        return pts

    def to_five(self, points: np.ndarray) -> np.ndarray:
        """The 5 points (eye centres, nose tip, mouth corners). Shape: ``(..., K, 2) -> (..., 5, 2)``."""
        pts = self._check(points)
        return np.stack([pts[..., list(g), :].mean(axis=-2) for g in self.five_point], axis=-2)

    def eye_centres(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Left and right eye centres. Shape: ``(..., K, 2) -> 2 x (..., 2)``."""
        pts = self._check(points)
        return pts[..., list(self.left_eye), :].mean(axis=-2), pts[..., list(self.right_eye), :].mean(axis=-2)

    def flip(self, points: np.ndarray, width: float) -> np.ndarray:
        """Points of the horizontally mirrored image (coordinates mirrored, indices swapped)."""
        from ..types import flip_points_x

        pts = self._check(points)
        return flip_points_x(pts, width)[..., list(self.flip_index), :]
