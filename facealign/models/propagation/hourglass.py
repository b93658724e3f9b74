"""PropagationNet's multi-view hourglass (Huang et al., CVPR 2020, Sec. 3.3): Newell's hourglass with
:class:`~facealign.models.propagation.blocks.MultiViewBlock` in place of the bottleneck residual and
Zhang's anti-aliased :class:`~facealign.models.propagation.blocks.MaxBlurPool2d` in place of the
2 x 2 max-pool ("we implement anti-aliased CNN in place of pooling layer used in traditional hourglass
networks"). The layout is Bulat & Tzimiropoulos' FAN hourglass, which the paper builds on (Sec. 3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import MaxBlurPool2d, MultiViewBlock

__all__ = ["MultiViewHourglass"]


class MultiViewHourglass(nn.Module):
    """One hourglass of ``depth`` levels at ``channels`` (recursive, Newell et al. Fig. 3).

    At each level: an upper branch (a multi-view block at the current resolution) and a lower branch
    (anti-aliased 2x downsampling, a block, the next level (a block at the bottom), a block, nearest 2x
    upsampling); the two are added. ``13`` blocks for ``depth = 4``: ``3 depth + 1``.
    Shape: ``(B, C, H, W) -> (B, C, H, W)``; ``H`` and ``W`` must be multiples of ``2 ** depth``.
    """

    def __init__(self, depth: int, channels: int, *, blur_kernel: int = 3) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"MultiViewHourglass: depth must be >= 1, got {depth}")
        self.depth = int(depth)
        self.up = MultiViewBlock(channels, channels)
        self.pool = MaxBlurPool2d(channels, kernel_size=blur_kernel)
        self.down = MultiViewBlock(channels, channels)
        self.inner: nn.Module = (
            MultiViewHourglass(depth - 1, channels, blur_kernel=blur_kernel)
            if depth > 1
            else MultiViewBlock(channels, channels)
        )
        self.after = MultiViewBlock(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.after(self.inner(self.down(self.pool(x))))
        return self.up(x) + F.interpolate(low, scale_factor=2.0, mode="nearest")
