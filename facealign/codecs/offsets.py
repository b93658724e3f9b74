"""Integer heatmaps + sub-cell offsets: the "with offset value" (WOV) and "with offset map" (WOM)
representations HIH is compared with (Lan et al., "HIH: Towards More Accurate Face Alignment via
Heatmap in Heatmap", 2022, Appendix B-C, Eq. 8-9, Table V).

Both split a landmark into the integer cell of a heatmap and the point's offset inside that cell:

* the integer heatmaps are HIH's (:class:`~facealign.codecs.HIHCodec`, Eq. 1: a truncated Gaussian
  centred on the cell ``c = floor(t)``), so WOV, WOM and HIH differ only in how the sub-cell part is
  represented;
* the offset is the fraction ``p = t - floor(t)`` in ``[0, 1)`` per axis, with
  ``t = (x + 0.5) / s`` for an input-pixel coordinate ``x`` and stride ``s`` (the mapping of the
  paper's ``x_k / n`` to facealign's pixel convention, see :mod:`facealign.codecs.hih`);
* decoding (Eq. 8 / 9) adds the offset to the predicted heatmap's argmax cell:
  ``x = (c + p) s - 0.5``. With perfect outputs this is exact (float precision).

WOV regresses ``p`` directly, ``(B, K, 2)``. WOM predicts offset maps at the heatmap's resolution,
``(B, G, 2, h, w)``, holding ``p`` at the landmark's cell (and 0 elsewhere in the ground truth), and
reads them at the argmax cell. The paper uses two maps for all landmarks (``G = 1``: "we use two
offset maps with size h x w ... O^x and O^y"); ``G = K`` gives each landmark its own pair (G-RMI).
With shared maps, landmarks that fall in one cell compete for one value (the paper's Fig. 5
"spatial location conflicts"): :meth:`OffsetCodec.encode_batch` gives them the mean of their
fractions (the minimiser of a squared loss), so their round trip is off by less than one cell.

Flip (mirrored input, ``x -> S - 1 - x``): ``t -> w - t``, so the cell ``c -> w - 1 - c`` and the
fraction ``p_x -> 1 - p_x`` (``p_y`` unchanged); :func:`mirror_offsets` / :func:`mirror_offset_maps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from .hih import _FRACTION_CEIL, HIHCodec

__all__ = ["OffsetCodec", "OffsetTargets", "mirror_offset_maps", "mirror_offsets"]


class OffsetTargets(NamedTuple):
    """integer ``(B, K, h, w)`` float32, cells ``(B, K, 2)`` long ``(x, y)``, offsets ``(B, K, 2)``
    float32 (the value the offset output should hold for each point), weights ``(B, K)`` float32."""

    integer: torch.Tensor
    cells: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor


class OffsetCodec:
    """Matched encode / decode pair for integer heatmaps + sub-cell offsets (module docstring).

    Args:
        input_size: side of the square network input (pixels).
        heatmap_size: side of the integer heatmaps; ``stride = input_size / heatmap_size``.
        sigma: Gaussian sigma of the integer heatmaps in cells.
        shared_maps: WOM with one pair of offset maps for all points (the paper's ``G = 1``): points in
            one cell get the mean of their fractions as target. False for WOV and per-point maps.
    """

    def __init__(self, input_size: int, heatmap_size: int, sigma: float, *, shared_maps: bool = False) -> None:
        # HIH's codec makes the integer maps and cells; its decimal part (side 1) is unused here.
        self._hih = HIHCodec(input_size, heatmap_size, 1, sigma, 1.0)
        self.input_size, self.heatmap_size, self.sigma = self._hih.input_size, self._hih.heatmap_size, self._hih.sigma
        self.shared_maps = bool(shared_maps)

    @property
    def stride(self) -> float:
        """Input pixels per heatmap cell."""
        return self._hih.stride

    def __repr__(self) -> str:
        return (
            f"OffsetCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, sigma={self.sigma}, "
            f"shared_maps={self.shared_maps})"
        )

    # ------------------------------------------------------------------------------------ encode
    def encode_batch(self, points: torch.Tensor, visible: torch.Tensor | None = None) -> OffsetTargets:
        """Integer heatmaps (HIH Eq. 1), cells and fractions (Appendix B: ``p_k = x_k / n - floor(x_k / n)``).

        Shape: ``points (B, K, 2)`` input pixels ``(x, y)``, ``visible (B, K)`` bool or None ->
        :class:`OffsetTargets`. Points outside the map are clamped to the border cell with the fraction
        clamped into ``[0, 1)``, as in :class:`~facealign.codecs.HIHCodec`; dropped points (weight 0) get
        cell 0 and offset 0.
        """
        integer, _, weights = self._hih.encode_batch(points, visible)
        cells, _, _ = self._hih.cells(points)
        keep = weights > 0
        t = (points.to(torch.float64) + 0.5) / self.stride
        frac = (t - cells).clamp(0.0, _FRACTION_CEIL)
        frac = torch.where(keep.unsqueeze(-1), frac, torch.zeros_like(frac))
        cells = torch.where(keep.unsqueeze(-1), cells, torch.zeros_like(cells))
        if self.shared_maps:  # the value one shared map can hold at each point's cell
            frac = self.read_maps(self.offset_maps(cells, frac, weights, groups=1), cells)
        return OffsetTargets(integer, cells, frac.to(torch.float32), weights)

    def encode(
        self, points: np.ndarray, visible: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One face (numpy, for data loaders). Shape: ``points (K, 2)``, ``visible (K,)`` or None ->
        ``integer (K, h, w)`` float32, ``cells (K, 2)`` int64, ``offsets (K, 2)`` float32, ``weights (K,)``."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"OffsetCodec: points must have shape (K, 2), got {pts.shape}")
        vis = None if visible is None else torch.from_numpy(np.asarray(visible).astype(bool)).reshape(1, -1)
        t = self.encode_batch(torch.from_numpy(pts)[None], vis)
        return t.integer[0].numpy(), t.cells[0].numpy(), t.offsets[0].numpy(), t.weights[0].numpy()

    def offset_maps(
        self, cells: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor, *, groups: int
    ) -> torch.Tensor:
        """WOM's ground-truth maps (Appendix B: ``O^x_{q_k} = p_kx`` and 0 otherwise): each weighted
        point's offset written at its cell, in its own pair of maps (``groups = K``) or in one shared
        pair (``groups = 1``, points sharing a cell averaged).

        Shape: ``cells (B, K, 2)`` long, ``offsets (B, K, 2)``, ``weights (B, K)`` ->
        ``(B, groups, 2, h, w)`` in ``offsets``' dtype.
        """
        b, k, _ = cells.shape
        if groups not in (1, k):
            raise ValueError(f"OffsetCodec.offset_maps: groups must be 1 or K = {k}, got {groups}")
        size = self.heatmap_size
        w = (weights > 0).to(offsets.dtype)
        flat = (cells[..., 1] * size + cells[..., 0]).clamp(0, size * size - 1)  # (B, K)
        channel = torch.arange(k, device=cells.device).expand(b, k) if groups == k else torch.zeros_like(flat)
        index = (channel * size * size + flat).unsqueeze(-1).expand(b, k, 2)
        sums = offsets.new_zeros(b, groups * size * size, 2).scatter_add_(1, index, offsets * w[..., None])
        counts = offsets.new_zeros(b, groups * size * size, 2).scatter_add_(1, index, w[..., None].expand(b, k, 2))
        maps = sums / counts.clamp(min=1.0)
        return maps.reshape(b, groups, size, size, 2).permute(0, 1, 4, 2, 3)

    # ------------------------------------------------------------------------------------ decode
    def read_maps(self, maps: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        """The offset maps' values at each point's cell (point ``k`` reads pair ``k``, or the one shared pair).

        Shape: ``maps (B, G, 2, h, w)`` with ``G`` 1 or K, ``cells (B, K, 2)`` long ``(x, y)`` -> ``(B, K, 2)``.
        """
        b, k, _ = cells.shape
        g = maps.shape[1]
        if maps.ndim != 5 or maps.shape[2] != 2 or g not in (1, k):
            raise ValueError(f"OffsetCodec: offset maps must have shape (B, 1 or {k}, 2, h, w), got {tuple(maps.shape)}")
        h, w = maps.shape[-2:]
        flat = maps.reshape(b, g, 2, h * w).expand(b, k, 2, h * w)
        idx = (cells[..., 1].clamp(0, h - 1) * w + cells[..., 0].clamp(0, w - 1)).reshape(b, k, 1, 1).expand(b, k, 2, 1)
        return torch.gather(flat, 3, idx).squeeze(-1)

    def decode(self, integer: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """WOV, Eq. 9: the integer map's argmax cell plus the predicted offset (clamped into ``[0, 1]``).

        Shape: ``integer (B, K, h, w)`` (the last stack's maps), ``offsets (B, K, 2)`` ``(x, y)`` ->
        ``coords (B, K, 2)`` input pixels, ``scores (B, K)`` (the map's maximum clipped to [0, 1]).
        """
        cells, values = self._argmax(integer)
        if tuple(offsets.shape) != tuple(cells.shape):
            raise ValueError(f"OffsetCodec.decode: offsets must have shape {tuple(cells.shape)}, got {tuple(offsets.shape)}")
        t = cells.to(torch.float64) + offsets.to(torch.float64).clamp(0.0, 1.0)
        coords = t * self.stride - 0.5
        return coords.to(torch.promote_types(integer.dtype, torch.float32)), values.clamp(0.0, 1.0)

    def decode_maps(self, integer: torch.Tensor, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """WOM, Eq. 8: the offset maps read at the integer map's argmax cell, then :meth:`decode`.

        Shape: ``integer (B, K, h, w)``, ``maps (B, G, 2, h, w)`` -> ``coords (B, K, 2)``, ``scores (B, K)``.
        """
        cells, _ = self._argmax(integer)
        return self.decode(integer, self.read_maps(maps, cells))

    def _argmax(self, integer: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        size = self.heatmap_size
        if not isinstance(integer, torch.Tensor) or integer.ndim != 4 or tuple(integer.shape[-2:]) != (size, size):
            shape = tuple(integer.shape) if isinstance(integer, torch.Tensor) else type(integer).__name__
            raise ValueError(f"OffsetCodec: integer heatmaps must have shape (B, K, {size}, {size}), got {shape}")
        values, idx = integer.flatten(2).max(dim=-1)
        cells = torch.stack([idx % size, torch.div(idx, size, rounding_mode="floor")], dim=-1)
        return cells, values.to(torch.promote_types(integer.dtype, torch.float32))


def mirror_offsets(offsets: torch.Tensor, flip_index: Sequence[int]) -> torch.Tensor:
    """Offset values predicted on a mirrored crop, mapped back: re-index points with the scheme's flip
    map and ``p_x -> 1 - p_x`` (exact: the mirrored point's cell is ``w - 1 - c``, its fraction
    ``1 - p_x``). Shape: ``(B, K, 2) -> (B, K, 2)``."""
    out = offsets[:, list(flip_index)]
    return torch.stack([1.0 - out[..., 0], out[..., 1]], dim=-1)


def mirror_offset_maps(maps: torch.Tensor, flip_index: Sequence[int]) -> torch.Tensor:
    """Offset maps predicted on a mirrored crop, mapped back: mirror along x, re-index per-point pairs with
    the flip map (a shared pair, ``G = 1``, has nothing to re-index) and ``O^x -> 1 - O^x``.
    Shape: ``(B, G, 2, h, w) -> (B, G, 2, h, w)``."""
    out = maps.flip(-1)
    if out.shape[1] > 1:
        out = out[:, list(flip_index)]
    return torch.stack([1.0 - out[:, :, 0], out[:, :, 1]], dim=2)
