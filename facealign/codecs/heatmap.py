"""The Gaussian heatmap codec: one object makes training targets and decodes predictions.

Encoding places an unnormalised Gaussian ``exp(-d^2 / (2 sigma^2))`` (peak 1) at each point's exact
sub-pixel heatmap position (DARK's "unbiased encoding", Zhang et al. CVPR 2020 Sec. 3.2: no rounding
to the nearest cell, which would cost up to half a cell before any decoder runs). Decoding is one of
the functions of :mod:`facealign.codecs.decoders`. Input pixels map to heatmap cells by the pixel
convention of :mod:`facealign.types`: cell ``i`` of a stride-``s`` map is centred at input
``(i + 0.5) s - 0.5``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..types import heatmap_to_input, input_to_heatmap
from .decoders import argmax_decode, dark_decode, quarter_offset_decode, soft_argmax_decode

__all__ = ["DECODER_NAMES", "FAR_OUTSIDE_SIGMAS", "HeatmapCodec", "gaussian_heatmaps"]

#: A point whose heatmap position lies more than this many sigmas outside the map edge gets an
#: all-zero target and weight 0 (its Gaussian would put under 1.1% of its peak on the map).
FAR_OUTSIDE_SIGMAS = 3.0
#: Names accepted by ``HeatmapCodec(decoder=...)`` and ``HeatmapCodec.decode(method=...)``.
DECODER_NAMES = ("argmax", "quarter", "dark", "softargmax")


def gaussian_heatmaps(centers: torch.Tensor, *, width: int, height: int, sigma: float) -> torch.Tensor:
    """Unnormalised Gaussians ``exp(-((j - x)^2 + (i - y)^2) / (2 sigma^2))`` on a ``height x width`` grid.

    ``centers`` are ``(x, y)`` in heatmap cells (cell ``(i, j)`` centred at ``(j, i)``), not rounded.
    Shape: ``(..., 2) -> (..., height, width)``, dtype of ``centers``. Non-finite centres give NaN maps.
    """
    if centers.shape[-1] != 2:
        raise ValueError(f"centers must have shape (..., 2), got {tuple(centers.shape)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    xs = torch.arange(width, dtype=centers.dtype, device=centers.device)
    ys = torch.arange(height, dtype=centers.dtype, device=centers.device)
    gx = torch.exp(-((xs - centers[..., 0:1]) ** 2) / (2.0 * sigma**2))  # (..., w)
    gy = torch.exp(-((ys - centers[..., 1:2]) ** 2) / (2.0 * sigma**2))  # (..., h)
    return gy.unsqueeze(-1) * gx.unsqueeze(-2)


class HeatmapCodec:
    """Matched encode / decode pair for square Gaussian heatmaps (mmpose ``codecs`` style).

    Args:
        input_size: side of the square network input (pixels).
        heatmap_size: side of the square heatmap (cells); ``stride = input_size / heatmap_size``.
        sigma: Gaussian standard deviation in heatmap cells.
        decoder: default decoder, one of :data:`DECODER_NAMES`.
        dark_kernel: odd size of DARK's smoothing kernel; default ``2 * ceil(3 * sigma) + 1``.
        softargmax_beta: inverse temperature of :func:`~facealign.codecs.decoders.soft_argmax_decode`
            (which runs in a window of ``ceil(3 * sigma)`` cells around the argmax).

    ``encode`` works on numpy (data loaders), ``encode_batch`` on torch (on-the-fly, any device);
    both give the same maps. ``decode`` takes torch heatmaps and returns input-pixel coordinates.
    """

    def __init__(
        self,
        input_size: int,
        heatmap_size: int,
        sigma: float,
        *,
        decoder: str = "dark",
        dark_kernel: int | None = None,
        softargmax_beta: float = 2.0,
    ) -> None:
        if int(input_size) != input_size or input_size < 1:
            raise ValueError(f"input_size must be a positive integer, got {input_size}")
        if int(heatmap_size) != heatmap_size or heatmap_size < 1:
            raise ValueError(f"heatmap_size must be a positive integer, got {heatmap_size}")
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        if decoder not in DECODER_NAMES:
            raise ValueError(f"unknown decoder {decoder!r}; expected one of {DECODER_NAMES}")
        if dark_kernel is None:
            dark_kernel = 2 * math.ceil(3.0 * sigma) + 1
        if dark_kernel < 1 or dark_kernel % 2 == 0:
            raise ValueError(f"dark_kernel must be a positive odd integer, got {dark_kernel}")
        if not softargmax_beta > 0:
            raise ValueError(f"softargmax_beta must be positive, got {softargmax_beta}")
        self.input_size = int(input_size)
        self.heatmap_size = int(heatmap_size)
        self.sigma = float(sigma)
        self.decoder = decoder
        self.dark_kernel = int(dark_kernel)
        self.softargmax_beta = float(softargmax_beta)
        self.softargmax_radius = math.ceil(3.0 * self.sigma)

    @property
    def stride(self) -> float:
        """Input pixels per heatmap cell."""
        return self.input_size / self.heatmap_size

    def __repr__(self) -> str:
        return (
            f"HeatmapCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
            f"sigma={self.sigma}, decoder={self.decoder!r}, dark_kernel={self.dark_kernel})"
        )

    # ------------------------------------------------------------------------------------ encode
    def encode_batch(
        self, points: torch.Tensor, visible: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Targets for a batch of points in input pixels.

        Shape: ``points (B, K, 2)``, ``visible (B, K)`` bool or None ->
        ``targets (B, K, h, w)``, ``weights (B, K)``, both float32 on ``points``' device.
        A point gets weight 0 and an all-zero map when it is invisible, non-finite, or more than
        :data:`FAR_OUTSIDE_SIGMAS` sigmas outside the heatmap.
        """
        if not isinstance(points, torch.Tensor) or points.ndim != 3 or points.shape[-1] != 2:
            shape = tuple(points.shape) if hasattr(points, "shape") else type(points).__name__
            raise ValueError(f"points must be a tensor of shape (B, K, 2), got {shape}")
        if visible is not None and tuple(visible.shape) != tuple(points.shape[:2]):
            raise ValueError(f"visible must have shape {tuple(points.shape[:2])}, got {tuple(visible.shape)}")
        pts = points.to(torch.promote_types(points.dtype, torch.float32))
        centers = input_to_heatmap(pts, self.stride)
        size = self.heatmap_size
        margin = FAR_OUTSIDE_SIGMAS * self.sigma
        finite = torch.isfinite(centers).all(dim=-1)
        near = ((centers >= -0.5 - margin) & (centers <= size - 0.5 + margin)).all(dim=-1)
        keep = finite & near
        if visible is not None:
            keep = keep & visible.to(device=keep.device, dtype=torch.bool)
        safe = torch.where(keep.unsqueeze(-1), centers, torch.zeros_like(centers))
        maps = gaussian_heatmaps(safe, width=size, height=size, sigma=self.sigma)
        maps = maps * keep[..., None, None].to(maps.dtype)
        return maps.to(torch.float32), keep.to(torch.float32)

    def encode(self, points: np.ndarray, visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Targets for one face's points in input pixels (numpy; see :meth:`encode_batch`).

        Shape: ``points (K, 2)``, ``visible (K,)`` bool or None -> ``targets (K, h, w)`` float32,
        ``weights (K,)`` float32.
        """
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must have shape (K, 2), got {pts.shape}")
        vis = None
        if visible is not None:
            vis_arr = np.asarray(visible)
            if vis_arr.shape != (len(pts),):
                raise ValueError(f"visible must have shape ({len(pts)},), got {vis_arr.shape}")
            vis = torch.from_numpy(vis_arr.astype(bool))[None]
        maps, weights = self.encode_batch(torch.from_numpy(pts)[None], vis)
        return maps[0].numpy(), weights[0].numpy()

    # ------------------------------------------------------------------------------------ decode
    def decoder_fn(self, method: str | None = None) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """The heatmap-cell decoder ``(B, K, h, w) -> (coords (B, K, 2), scores (B, K))`` for ``method``."""
        name = self.decoder if method is None else method
        if name == "argmax":
            return argmax_decode
        if name == "quarter":
            return quarter_offset_decode
        if name == "dark":
            return lambda hm: dark_decode(hm, sigma=self.sigma, kernel_size=self.dark_kernel)
        if name == "softargmax":
            return lambda hm: soft_argmax_decode(hm, beta=self.softargmax_beta, radius=self.softargmax_radius)
        raise ValueError(f"unknown decoder {name!r}; expected one of {DECODER_NAMES}")

    def decode(self, heatmaps: torch.Tensor, method: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Landmarks in input pixels from heatmaps.

        Shape: ``(B, K, h, w) -> coords (B, K, 2)`` input pixels ``(x, y)``, ``scores (B, K)`` in [0, 1].
        ``method`` overrides the codec's default decoder (one of :data:`DECODER_NAMES`).
        """
        if not isinstance(heatmaps, torch.Tensor):
            raise TypeError(f"heatmaps must be a torch.Tensor of shape (B, K, h, w), got {type(heatmaps).__name__}")
        size = self.heatmap_size
        if heatmaps.ndim != 4 or tuple(heatmaps.shape[-2:]) != (size, size):
            raise ValueError(f"heatmaps must have shape (B, K, {size}, {size}), got {tuple(heatmaps.shape)}")
        coords, scores = self.decoder_fn(method)(heatmaps)
        return heatmap_to_input(coords, self.stride), scores
