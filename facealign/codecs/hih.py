"""The HIH codec: integer + decimal heatmaps (Lan et al., "HIH: Towards More Accurate Face Alignment via
Heatmap in Heatmap", 2022, Sec. III-B, Eq. 1-4).

Mapping the paper's coordinates to facealign's pixel convention (:mod:`facealign.types`)
---------------------------------------------------------------------------------------
The paper writes a landmark on the integer-heatmap grid as ``u / n`` (``n`` the downsampling factor),
with cell ``j`` covering ``[j, j + 1)`` and ``floor(u / n)`` the cell that contains it (its code scales
coordinates normalised to ``[0, 1]`` by the heatmap side). In facealign, cell ``j`` of a stride-``s``
map is centred at input ``x = (j + 0.5) s - 0.5`` and covers input ``[j s - 0.5, (j + 1) s - 0.5)``.
So the paper's ``u / n`` is, for an input-pixel coordinate ``x``,

    ``t = (x + 0.5) / s``  (= ``input_to_heatmap(x, s) + 0.5``), cell ``c_I = floor(t)``,
    fraction ``f = t - c_I`` in ``[0, 1)``.

Eq. 1: integer heatmap = Gaussian (``sigma``, peak 1) centred on cell ``c_I``, zero beyond ``3 sigma``.
Eq. 2: decimal cell ``c_D = floor(f * h_d)`` (per axis, ``w_d`` for x).
Eq. 3: decimal heatmap = Gaussian (``decimal_sigma``) centred on cell ``c_D``, zero beyond ``3 sigma``.
Eq. 4: ``P = c_I / w + c_D / (w w_d)`` (normalised). We take the **centre** of the decimal cell
(``c_D + 0.5``), the same pixel-centre convention applied one level down, so that the decoded point
is the middle of the interval the two argmaxes leave open:

    ``x = (c_I + (c_D + 0.5) / w_d) s - 0.5``.

(Eq. 4 literally, ``c_D / w_d``, returns the interval's lower edge: a bias of half a decimal cell.)

Proposition III.1: one decimal cell is ``s / w_d`` input pixels (the representation precision), so the
round trip ``decode(encode(x))`` is exact to ``s / (2 w_d)`` pixels per axis for every point inside
the map: 0.25 px for 256 px / 64 / 8 (the paper's setting), 0.5 px for 128 px / 32 / 4.

Points whose ``t`` lies outside ``[0, w)`` are clamped to the nearest representable position (the
border cell, fraction clamped into ``[0, 1)``); they keep weight 1 unless more than
:data:`~facealign.codecs.heatmap.FAR_OUTSIDE_SIGMAS` sigmas outside, invisible or non-finite (then
weight 0 and all-zero maps), as in :class:`~facealign.codecs.HeatmapCodec`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .heatmap import FAR_OUTSIDE_SIGMAS, gaussian_heatmaps

__all__ = ["GAUSSIAN_CUTOFF_SIGMAS", "HIHCodec", "HIHTargets"]

#: Eq. 1 / 3: target values are zero farther than this many sigmas from the Gaussian's centre.
GAUSSIAN_CUTOFF_SIGMAS = 3.0
#: Largest fraction below 1 kept after clamping (float32 ``1 - eps`` would round back to 1 * h_d).
_FRACTION_CEIL = 1.0 - 1e-6


class HIHTargets(NamedTuple):
    """integer ``(B, K, h, w)``, decimal ``(B, K, h_d, w_d)``, weights ``(B, K)`` (all float32)."""

    integer: torch.Tensor
    decimal: torch.Tensor
    weights: torch.Tensor


def _truncated_gaussians(centers: torch.Tensor, *, size: int, sigma: float) -> torch.Tensor:
    """Eq. 1 / 3: ``exp(-d^2 / 2 sigma^2)`` for ``d <= 3 sigma`` from ``centers`` (cells), else 0."""
    maps = gaussian_heatmaps(centers, width=size, height=size, sigma=sigma)
    cutoff = float(np.exp(-(GAUSSIAN_CUTOFF_SIGMAS**2) / 2.0))
    # d <= 3 sigma  <=>  exp(-d^2 / 2 sigma^2) >= exp(-9 / 2); a relative guard keeps d = 3 sigma inside.
    return torch.where(maps >= cutoff * (1.0 - 1e-6), maps, torch.zeros_like(maps))


class HIHCodec:
    """Matched encode / decode pair for HIH's integer + decimal heatmaps (see the module docstring).

    Args:
        input_size: side of the square network input (pixels).
        heatmap_size: side of the integer heatmaps ``h = w``; ``stride = input_size / heatmap_size``.
        decimal_size: side of the decimal heatmaps ``h_d = w_d`` (paper: 8).
        sigma: Gaussian sigma of the integer heatmaps in cells (paper: 1.5; 1.0 on 300W).
        decimal_sigma: Gaussian sigma of the decimal heatmaps in decimal cells (paper: 1.0).
    """

    def __init__(
        self, input_size: int, heatmap_size: int, decimal_size: int, sigma: float, decimal_sigma: float
    ) -> None:
        for name, v in (("input_size", input_size), ("heatmap_size", heatmap_size), ("decimal_size", decimal_size)):
            if int(v) != v or v < 1:
                raise ValueError(f"HIHCodec: {name} must be a positive integer, got {v}")
        for name, v in (("sigma", sigma), ("decimal_sigma", decimal_sigma)):
            if not v > 0:
                raise ValueError(f"HIHCodec: {name} must be positive, got {v}")
        self.input_size = int(input_size)
        self.heatmap_size = int(heatmap_size)
        self.decimal_size = int(decimal_size)
        self.sigma = float(sigma)
        self.decimal_sigma = float(decimal_sigma)

    @property
    def stride(self) -> float:
        """Input pixels per integer-heatmap cell."""
        return self.input_size / self.heatmap_size

    @property
    def precision(self) -> float:
        """Proposition III.1: input pixels per decimal cell, ``stride / decimal_size``; the round trip is
        exact to half of it."""
        return self.stride / self.decimal_size

    def __repr__(self) -> str:
        return (
            f"HIHCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
            f"decimal_size={self.decimal_size}, sigma={self.sigma}, decimal_sigma={self.decimal_sigma})"
        )

    # ------------------------------------------------------------------------------------ encode
    def cells(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Integer cell ``c_I`` (long), decimal cell ``c_D`` (long), and whether each point is kept.

        Shape: ``(B, K, 2)`` input pixels ``(x, y)`` -> ``c_I (B, K, 2)``, ``c_D (B, K, 2)``, ``keep (B, K)``.
        ``keep`` is False for non-finite points and points more than :data:`FAR_OUTSIDE_SIGMAS` sigmas
        outside the map (their cells are 0).
        """
        t = (points.to(torch.float64) + 0.5) / self.stride  # the paper's u / n
        size = self.heatmap_size
        margin = FAR_OUTSIDE_SIGMAS * self.sigma
        finite = torch.isfinite(t).all(dim=-1)
        near = ((t >= -margin) & (t <= size + margin)).all(dim=-1)
        keep = finite & near
        t = torch.where(keep.unsqueeze(-1), t, torch.zeros_like(t))
        c_int = torch.floor(t).clamp(0, size - 1)
        frac = (t - c_int).clamp(0.0, _FRACTION_CEIL)  # clamped points: nearest representable position
        c_dec = torch.floor(frac * self.decimal_size).clamp(0, self.decimal_size - 1)  # Eq. 2
        return c_int.long(), c_dec.long(), keep

    def encode_batch(self, points: torch.Tensor, visible: torch.Tensor | None = None) -> HIHTargets:
        """Eq. 1-3 for a batch (torch, any device; use it on the fly in a training step).

        Shape: ``points (B, K, 2)`` input pixels ``(x, y)``, ``visible (B, K)`` bool or None ->
        :class:`HIHTargets` (integer ``(B, K, h, w)``, decimal ``(B, K, h_d, w_d)``, weights ``(B, K)``).
        """
        if not isinstance(points, torch.Tensor) or points.ndim != 3 or points.shape[-1] != 2:
            shape = tuple(points.shape) if hasattr(points, "shape") else type(points).__name__
            raise ValueError(f"HIHCodec: points must be a tensor of shape (B, K, 2), got {shape}")
        if visible is not None and tuple(visible.shape) != tuple(points.shape[:2]):
            raise ValueError(
                f"HIHCodec: visible must have shape {tuple(points.shape[:2])}, got {tuple(visible.shape)}"
            )
        c_int, c_dec, keep = self.cells(points)
        if visible is not None:
            keep = keep & visible.to(device=keep.device, dtype=torch.bool)
        w = keep[..., None, None].to(torch.float32)
        integer = _truncated_gaussians(c_int.to(torch.float32), size=self.heatmap_size, sigma=self.sigma) * w
        decimal = _truncated_gaussians(c_dec.to(torch.float32), size=self.decimal_size, sigma=self.decimal_sigma) * w
        return HIHTargets(integer, decimal, keep.to(torch.float32))

    def encode(self, points: np.ndarray, visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One face (numpy, for data loaders). Shape: ``points (K, 2)``, ``visible (K,)`` or None ->
        ``integer (K, h, w)``, ``decimal (K, h_d, w_d)``, ``weights (K,)``, float32."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"HIHCodec: points must have shape (K, 2), got {pts.shape}")
        vis = None
        if visible is not None:
            vis_arr = np.asarray(visible)
            if vis_arr.shape != (len(pts),):
                raise ValueError(f"HIHCodec: visible must have shape ({len(pts)},), got {vis_arr.shape}")
            vis = torch.from_numpy(vis_arr.astype(bool))[None]
        t = self.encode_batch(torch.from_numpy(pts)[None], vis)
        return t.integer[0].numpy(), t.decimal[0].numpy(), t.weights[0].numpy()

    # ------------------------------------------------------------------------------------ decode
    def decode(self, integer: torch.Tensor, decimal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 4: integer argmax + (decimal argmax + 0.5) / h_d, mapped to input pixels.

        Shape: ``integer (B, K, h, w)`` (the last stack's maps), ``decimal (B, K, h_d, w_d)`` (any scale:
        maps or logits) -> ``coords (B, K, 2)`` input pixels ``(x, y)``, ``scores (B, K)`` (the integer
        map's maximum clipped to [0, 1]).
        """
        for name, t, size in (("integer", integer, self.heatmap_size), ("decimal", decimal, self.decimal_size)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"HIHCodec.decode: {name} must be a torch.Tensor, got {type(t).__name__}")
            if t.ndim != 4 or tuple(t.shape[-2:]) != (size, size):
                raise ValueError(f"HIHCodec.decode: {name} must have shape (B, K, {size}, {size}), got {tuple(t.shape)}")
        if integer.shape[:2] != decimal.shape[:2]:
            raise ValueError(
                f"HIHCodec.decode: integer and decimal must agree on (B, K), got {tuple(integer.shape[:2])} "
                f"and {tuple(decimal.shape[:2])}"
            )
        c_int, values = _argmax_xy(integer)
        c_dec, _ = _argmax_xy(decimal)
        t = c_int + (c_dec + 0.5) / self.decimal_size
        coords = t * self.stride - 0.5
        return coords.to(torch.promote_types(integer.dtype, torch.float32)), values.clamp(0.0, 1.0)


def _argmax_xy(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, K, h, w)`` -> argmax cell ``(x, y)`` as float64 ``(B, K, 2)`` and the maximum ``(B, K)``."""
    width = maps.shape[-1]
    values, idx = maps.flatten(2).max(dim=-1)
    xy = torch.stack([idx % width, torch.div(idx, width, rounding_mode="floor")], dim=-1)
    return xy.to(torch.float64), values.to(torch.promote_types(maps.dtype, torch.float32))
