"""Stacked hourglass network (Newell, Yang and Deng, "Stacked Hourglass Networks for Human Pose
Estimation", ECCV 2016), in the layout HIH (Lan et al. 2022, Sec. III-D) builds on.

* **Stem** (stride 4): 7 x 7 stride-2 conv-BN-ReLU to ``channels / 4``, a residual module to
  ``channels / 2``, 2 x 2 max-pool, residual modules to ``channels / 2`` and ``channels``.
* **Hourglass** of ``depth`` levels (recursive): at each level an upper residual branch at the
  current resolution, and a lower branch of 2 x 2 max-pool, residual, the next level (a residual at
  the bottom), residual and a 2x upsampling; the two branches are added.
* **Per stack**: the hourglass, a residual module and a 1 x 1 conv-BN-ReLU give the stack's
  features; a 1 x 1 conv maps them to ``num_points`` heatmaps (the intermediate supervision of
  Newell et al.); both are mapped back by 1 x 1 conv-BN-ReLUs and added to the stack's input to give
  the next stack's input ("fused" features: backbone features + heatmaps).

The residual module is Newell's bottleneck: 1 x 1 conv to ``out / 2``, 3 x 3 conv, 1 x 1 conv to
``out`` (each with BN; ReLU after the first two), plus the input (through a 1 x 1 conv-BN when the
channel count changes), then ReLU.

Because the intermediate heatmaps feed the next stack, the per-stack heatmap convolutions are part of
this network; :meth:`StackedHourglass.forward` returns features, heatmaps and the fused features of
every stack (:class:`HourglassOutput`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import ConvBNReLU

__all__ = ["Hourglass", "HourglassOutput", "Residual", "StackedHourglass"]

#: Output stride of the stem (and of every stack's features and heatmaps).
HOURGLASS_STRIDE = 4


class Residual(nn.Module):
    """Newell's bottleneck residual module ``in_channels -> out_channels`` (same resolution)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"Residual: out_channels must be even, got {out_channels}")
        mid = out_channels // 2
        self.body = nn.Sequential(
            ConvBNReLU(in_channels, mid, 1),
            ConvBNReLU(mid, mid, 3),
            ConvBNReLU(mid, out_channels, 1, relu=False),
        )
        self.skip = nn.Identity() if in_channels == out_channels else ConvBNReLU(in_channels, out_channels, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class Hourglass(nn.Module):
    """One hourglass of ``depth`` levels at ``channels`` (Newell et al. Fig. 3).

    Shape: ``(B, C, H, W) -> (B, C, H, W)``; ``H`` and ``W`` must be multiples of ``2 ** depth``.
    """

    def __init__(self, depth: int, channels: int) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"Hourglass: depth must be >= 1, got {depth}")
        self.depth = depth
        self.up = Residual(channels, channels)
        self.down = Residual(channels, channels)
        self.inner: nn.Module = Hourglass(depth - 1, channels) if depth > 1 else Residual(channels, channels)
        self.after = Residual(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.after(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.up(x) + F.interpolate(low, scale_factor=2.0, mode="nearest")


class HourglassOutput(NamedTuple):
    """What :class:`StackedHourglass` returns, one entry per stack, all at stride 4.

    features: ``(B, channels, H/4, W/4)`` each stack's features (after its residual and 1 x 1 conv);
    heatmaps: ``(B, num_points, H/4, W/4)`` each stack's heatmaps;
    fused: ``(B, channels, H/4, W/4)`` each stack's input + remapped features + remapped heatmaps
    (the next stack's input; the last one feeds HIH's offset branch).
    """

    features: list[torch.Tensor]
    heatmaps: list[torch.Tensor]
    fused: list[torch.Tensor]


class StackedHourglass(nn.Module):
    """Newell's stacked hourglass with per-stack heatmaps (see the module docstring).

    Args:
        num_points: K, heatmaps per stack.
        num_stacks: hourglasses in sequence (HIH_T / S / B: 1 / 2 / 4).
        depth: levels per hourglass (4 in Newell et al. and HIH: stride 4 -> 64 at the bottom).
        channels: feature width (256 in both papers); a multiple of 4.

    Attributes: ``out_channels`` (``[channels] * num_stacks``), ``strides`` (``[4] * num_stacks``).
    Shape: ``(B, 3, H, W)`` with ``H, W`` multiples of ``4 * 2 ** depth`` -> :class:`HourglassOutput`.
    """

    def __init__(self, *, num_points: int, num_stacks: int = 1, depth: int = 4, channels: int = 256) -> None:
        super().__init__()
        if num_points < 1:
            raise ValueError(f"StackedHourglass: num_points must be >= 1, got {num_points}")
        if num_stacks < 1:
            raise ValueError(f"StackedHourglass: num_stacks must be >= 1, got {num_stacks}")
        if channels < 4 or channels % 4:
            raise ValueError(f"StackedHourglass: channels must be a positive multiple of 4, got {channels}")
        self.num_points = int(num_points)
        self.num_stacks = int(num_stacks)
        self.depth = int(depth)
        self.channels = int(channels)
        self.out_channels = [self.channels] * self.num_stacks
        self.strides = [HOURGLASS_STRIDE] * self.num_stacks
        c = self.channels
        self.stem = nn.Sequential(
            ConvBNReLU(3, c // 4, 7, 2),
            Residual(c // 4, c // 2),
            nn.MaxPool2d(2, 2),
            Residual(c // 2, c // 2),
            Residual(c // 2, c),
        )
        self.hourglasses = nn.ModuleList(Hourglass(depth, c) for _ in range(num_stacks))
        self.features = nn.ModuleList(nn.Sequential(Residual(c, c), ConvBNReLU(c, c, 1)) for _ in range(num_stacks))
        self.heatmap_convs = nn.ModuleList(nn.Conv2d(c, num_points, 1) for _ in range(num_stacks))
        self.remap_features = nn.ModuleList(ConvBNReLU(c, c, 1) for _ in range(num_stacks))
        self.remap_heatmaps = nn.ModuleList(ConvBNReLU(num_points, c, 1) for _ in range(num_stacks))

    @property
    def input_multiple(self) -> int:
        """Input sides must be multiples of this: ``4 * 2 ** depth``."""
        return HOURGLASS_STRIDE * 2**self.depth

    def forward(self, x: torch.Tensor) -> HourglassOutput:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"StackedHourglass: expected input of shape (B, 3, H, W), got {tuple(x.shape)}")
        m = self.input_multiple
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(
                f"StackedHourglass: input height and width must be multiples of {m} (4 * 2**depth), "
                f"got {tuple(x.shape[-2:])}"
            )
        x = self.stem(x)
        out = HourglassOutput([], [], [])
        for hg, feat, conv, rf, rh in zip(
            self.hourglasses, self.features, self.heatmap_convs, self.remap_features, self.remap_heatmaps
        ):
            f = feat(hg(x))
            h = conv(f)
            x = x + rf(f) + rh(h)
            out.features.append(f)
            out.heatmaps.append(h)
            out.fused.append(x)
        return out
