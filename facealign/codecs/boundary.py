"""Boundary heatmaps: the ground truth of PropagationNet's boundary branch (Huang et al., "PropagationNet:
Propagate Points to Curve to Learn Structure Information", CVPR 2020, Sec. 3.1; after LAB, Wu et al. 2018).

Each facial boundary of a :class:`~facealign.landmarks.LandmarkScheme` (a chain of landmark indices,
:class:`~facealign.landmarks.Boundary`) is drawn as the straight-line polyline through its points
("we simply link landmarks together with straight lines and apply Gaussian blurring filter"). We
compute the Gaussian of the exact Euclidean distance ``d`` from every cell centre to the polyline::

    z(p) = exp(-d(p)^2 / (2 sigma^2))   if d(p) <= 3 sigma, else 0        (peak 1 on the line)

which is what LAB's "distance transform of the drawn line, then Gaussian" computes, without drawing
the line into pixels first (cv2.line rounds the end points to whole cells; here the segments keep
their sub-pixel positions). Points are placed with the pixel convention of :mod:`facealign.types`:
cell ``(i, j)`` of a stride-``s`` map is centred at input ``((j + 0.5) s - 0.5, (i + 0.5) s - 0.5)``.

A boundary of one point is drawn as that point (a Gaussian blob); ``closed`` boundaries also join the
last point to the first. A segment with an invisible or non-finite end point is left out; a boundary
with nothing left to draw gets an all-zero map and weight 0 (the target is unknown there).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..landmarks.scheme import Boundary, LandmarkScheme
from ..types import input_to_heatmap
from .hih import GAUSSIAN_CUTOFF_SIGMAS

__all__ = ["BoundaryCodec", "boundary_flip_index", "boundary_heatmaps", "boundary_segments"]

#: Lower bound on a segment's squared length when projecting onto it (a zero-length segment is a point).
_MIN_LENGTH2 = 1e-12


def boundary_segments(boundaries: Sequence[Boundary]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The straight segments of ``boundaries``: start indices, end indices and owner boundary, each ``(S,)``
    int64. A chain ``(a, b, c)`` gives segments ``a-b, b-c`` (and ``c-a`` when closed); a one-point
    boundary ``(a,)`` gives the zero-length segment ``a-a``."""
    starts: list[int] = []
    ends: list[int] = []
    owner: list[int] = []
    for m, b in enumerate(boundaries):
        idx = list(b.indices)
        if not idx:
            raise ValueError(f"boundary {b.name!r} has no points")
        pairs = list(zip(idx[:-1], idx[1:])) if len(idx) > 1 else [(idx[0], idx[0])]
        if b.closed and len(idx) > 2:
            pairs.append((idx[-1], idx[0]))
        for i, j in pairs:
            starts.append(i)
            ends.append(j)
            owner.append(m)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), np.array(owner, dtype=np.int64)


def boundary_heatmaps(
    points: torch.Tensor,
    boundaries: Sequence[Boundary],
    *,
    width: int,
    height: int,
    sigma: float,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Boundary heatmaps ``exp(-d^2 / (2 sigma^2))`` (0 beyond ``3 sigma``) of the polylines joining each
    boundary's points (PropagationNet Sec. 3.1; module docstring).

    ``points`` are ``(x, y)`` in heatmap cells (cell ``(i, j)`` centred at ``(j, i)``), not rounded;
    ``valid`` marks the points that may be drawn (a segment needs both ends valid and finite).
    Vectorised over batch dims and segments: the distance from each cell centre ``p`` to segment ``ab``
    is ``|p - a - t (b - a)|`` with ``t = clamp((p - a).(b - a) / |b - a|^2, 0, 1)``.
    Shape: ``points (..., K, 2)``, ``valid (..., K)`` bool or None -> ``(..., M, height, width)``,
    ``M = len(boundaries)``, dtype of ``points``.
    """
    if not isinstance(points, torch.Tensor) or points.ndim < 2 or points.shape[-1] != 2:
        shape = tuple(points.shape) if hasattr(points, "shape") else type(points).__name__
        raise ValueError(f"boundary_heatmaps: points must be a tensor of shape (..., K, 2), got {shape}")
    if not sigma > 0:
        raise ValueError(f"boundary_heatmaps: sigma must be positive, got {sigma}")
    if width < 1 or height < 1:
        raise ValueError(f"boundary_heatmaps: width and height must be >= 1, got {width} x {height}")
    k = points.shape[-2]
    if valid is not None and tuple(valid.shape) != tuple(points.shape[:-1]):
        raise ValueError(f"boundary_heatmaps: valid must have shape {tuple(points.shape[:-1])}, got {tuple(valid.shape)}")
    starts, ends, owner = boundary_segments(boundaries)
    batch = tuple(points.shape[:-2])
    m = len(boundaries)
    if m == 0:
        return points.new_zeros(batch + (0, height, width))
    if int(max(starts.max(), ends.max())) >= k:
        raise ValueError(f"boundary_heatmaps: boundaries use point index {int(max(starts.max(), ends.max()))}, got K = {k}")
    dev = points.device
    a = points[..., torch.from_numpy(starts).to(dev), :]  # (..., S, 2)
    b = points[..., torch.from_numpy(ends).to(dev), :]
    ok = torch.isfinite(a).all(-1) & torch.isfinite(b).all(-1)  # (..., S)
    if valid is not None:
        v = valid.to(device=dev, dtype=torch.bool)
        ok = ok & v[..., torch.from_numpy(starts).to(dev)] & v[..., torch.from_numpy(ends).to(dev)]
    a = torch.where(ok.unsqueeze(-1), a, torch.zeros_like(a))
    b = torch.where(ok.unsqueeze(-1), b, torch.zeros_like(b))
    ab = b - a
    len2 = (ab**2).sum(-1).clamp_min(_MIN_LENGTH2)[..., None, None]  # (..., S, 1, 1)
    xs = torch.arange(width, dtype=points.dtype, device=dev)[None, :]  # (1, w)
    ys = torch.arange(height, dtype=points.dtype, device=dev)[:, None]  # (h, 1)
    ax, ay = a[..., 0, None, None], a[..., 1, None, None]  # (..., S, 1, 1)
    abx, aby = ab[..., 0, None, None], ab[..., 1, None, None]
    t = (((xs - ax) * abx + (ys - ay) * aby) / len2).clamp(0.0, 1.0)  # (..., S, h, w)
    d2 = (xs - ax - t * abx) ** 2 + (ys - ay - t * aby) ** 2
    d2 = torch.where(ok[..., None, None], d2, torch.full_like(d2, float("inf")))
    index = torch.from_numpy(owner).to(dev).reshape((1,) * len(batch) + (-1, 1, 1)).expand_as(d2)
    nearest = torch.full(batch + (m, height, width), float("inf"), dtype=points.dtype, device=dev)
    nearest = nearest.scatter_reduce(-3, index, d2, reduce="amin")  # (..., M, h, w)
    inside = nearest <= (GAUSSIAN_CUTOFF_SIGMAS * sigma) ** 2
    maps = torch.exp(-nearest / (2.0 * sigma**2))  # exp(-inf) = 0 where nothing is drawn
    return torch.where(inside, maps, torch.zeros_like(maps))


def boundary_flip_index(scheme: LandmarkScheme) -> tuple[int, ...]:
    """0-based flip map of ``scheme``'s boundaries: after mirroring an image, boundary ``m`` of the
    mirrored face is boundary ``flip[m]`` of the original (its segments, re-indexed by the scheme's
    ``flip_index``, are the same set of segments). An involution.

    Raises ``ValueError`` when a boundary has no mirror image among the scheme's boundaries.
    """

    def segment_set(b: Boundary, remap: Sequence[int]) -> frozenset[frozenset[int]]:
        s, e, _ = boundary_segments([b])
        return frozenset(frozenset((remap[i], remap[j])) for i, j in zip(s.tolist(), e.tolist()))

    ident = list(range(scheme.num_points))
    own = [segment_set(b, ident) for b in scheme.boundaries]
    flip = []
    for b in scheme.boundaries:
        mirrored = segment_set(b, scheme.flip_index)
        if mirrored not in own:
            raise ValueError(f"scheme {scheme.name}: boundary {b.name!r} has no mirror image among its boundaries")
        flip.append(own.index(mirrored))
    return tuple(flip)


class BoundaryCodec:
    """Ground-truth boundary heatmaps for a scheme's ``M`` boundaries (encode only: nothing decodes them).

    Args:
        scheme: the landmark scheme; its ``boundaries`` are drawn (``M = len(scheme.boundaries)``).
        input_size: side of the square network input (pixels).
        heatmap_size: side of the square heatmap (cells); ``stride = input_size / heatmap_size``.
        sigma: Gaussian standard deviation in heatmap cells.

    ``encode`` works on numpy (data loaders), ``encode_batch`` on torch (any device); both give the
    same maps. Attribute ``flip_index``: :func:`boundary_flip_index` of the scheme.
    """

    def __init__(self, scheme: LandmarkScheme, input_size: int, heatmap_size: int, sigma: float) -> None:
        if int(input_size) != input_size or input_size < 1:
            raise ValueError(f"BoundaryCodec: input_size must be a positive integer, got {input_size}")
        if int(heatmap_size) != heatmap_size or heatmap_size < 1:
            raise ValueError(f"BoundaryCodec: heatmap_size must be a positive integer, got {heatmap_size}")
        if not sigma > 0:
            raise ValueError(f"BoundaryCodec: sigma must be positive, got {sigma}")
        if not scheme.boundaries:
            raise ValueError(f"BoundaryCodec: scheme {scheme.name} has no boundaries")
        self.scheme = scheme
        self.input_size = int(input_size)
        self.heatmap_size = int(heatmap_size)
        self.sigma = float(sigma)
        self.flip_index = boundary_flip_index(scheme)

    @property
    def stride(self) -> float:
        """Input pixels per heatmap cell."""
        return self.input_size / self.heatmap_size

    @property
    def num_boundaries(self) -> int:
        """M, the number of boundary heatmaps."""
        return len(self.scheme.boundaries)

    def __repr__(self) -> str:
        return (
            f"BoundaryCodec(scheme={self.scheme.name!r}, input_size={self.input_size}, "
            f"heatmap_size={self.heatmap_size}, sigma={self.sigma})"
        )

    def encode_batch(
        self, points: torch.Tensor, visible: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boundary targets for a batch of points in input pixels.

        Shape: ``points (B, K, 2)``, ``visible (B, K)`` bool or None -> ``targets (B, M, h, w)`` and
        ``weights (B, M)``, float32 on ``points``' device. A boundary's weight is 0 when none of its
        segments can be drawn (all have an invisible or non-finite end), else 1.
        """
        k = self.scheme.num_points
        if not isinstance(points, torch.Tensor) or points.ndim != 3 or tuple(points.shape[1:]) != (k, 2):
            shape = tuple(points.shape) if hasattr(points, "shape") else type(points).__name__
            raise ValueError(f"BoundaryCodec: points must be a tensor of shape (B, {k}, 2), got {shape}")
        if visible is not None and tuple(visible.shape) != tuple(points.shape[:2]):
            raise ValueError(f"BoundaryCodec: visible must have shape {tuple(points.shape[:2])}, got {tuple(visible.shape)}")
        pts = input_to_heatmap(points.to(torch.promote_types(points.dtype, torch.float32)), self.stride)
        keep = torch.isfinite(pts).all(-1)
        if visible is not None:
            keep = keep & visible.to(device=keep.device, dtype=torch.bool)
        size = self.heatmap_size
        maps = boundary_heatmaps(pts, self.scheme.boundaries, width=size, height=size, sigma=self.sigma, valid=keep)
        starts, ends, owner = boundary_segments(self.scheme.boundaries)
        drawable = (keep[:, starts] & keep[:, ends]).to(torch.float32)  # (B, S)
        index = torch.from_numpy(owner).to(points.device).expand_as(drawable)
        weights = drawable.new_zeros(points.shape[0], self.num_boundaries).scatter_reduce(1, index, drawable, "amax")
        return maps.to(torch.float32), weights

    def encode(self, points: np.ndarray, visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Boundary targets for one face's points in input pixels (numpy; see :meth:`encode_batch`).

        Shape: ``points (K, 2)``, ``visible (K,)`` bool or None -> ``targets (M, h, w)`` float32,
        ``weights (M,)`` float32.
        """
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"BoundaryCodec: points must have shape (K, 2), got {pts.shape}")
        vis = None
        if visible is not None:
            vis_arr = np.asarray(visible)
            if vis_arr.shape != (len(pts),):
                raise ValueError(f"BoundaryCodec: visible must have shape ({len(pts)},), got {vis_arr.shape}")
            vis = torch.from_numpy(vis_arr.astype(bool))[None]
        maps, weights = self.encode_batch(torch.from_numpy(pts)[None], vis)
        return maps[0].numpy(), weights[0].numpy()
