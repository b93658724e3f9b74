"""The FoxNet paper's blocks (AISA Research; ``../shared/papers/foxnet-bottom-up-multi-face.txt``, Sec. II-A):
the Fox Block of multi-scale average pooling (Fig. 1) and Newell's hourglass with a Fox Block on every
skip branch (Fig. 2 B)."""

from __future__ import annotations

import torch
from torch import nn

from ..backbones.hourglass import Hourglass, Residual
from ..layers import ConvBNReLU

__all__ = ["FOX_POOL_KERNELS", "FoxBlock", "FoxHourglass"]

#: Average-pool kernels of the Fox Block (paper Fig. 1).
FOX_POOL_KERNELS = (1, 3, 5, 7)


class FoxBlock(nn.Module):
    """Fox Block (paper Fig. 1): multi-scale average pooling + point-wise fusion.

    ``concat([avgpool_k(x) for k in (1, 3, 5, 7)])`` (stride 1, padding ``k // 2``, padded cells not
    counted) -> 1 x 1 conv-BN-ReLU from ``4 C`` back to ``C``. Shape: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, *, kernels: tuple[int, ...] = FOX_POOL_KERNELS) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"FoxBlock: channels must be >= 1, got {channels}")
        if not kernels or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"FoxBlock: pool kernels must be odd and >= 1 (same padding), got {kernels}")
        self.pools = nn.ModuleList(
            nn.Identity() if k == 1 else nn.AvgPool2d(k, stride=1, padding=k // 2, count_include_pad=False)
            for k in kernels
        )
        self.fuse = ConvBNReLU(len(kernels) * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([pool(x) for pool in self.pools], dim=1))


class FoxHourglass(Hourglass):
    """Newell's hourglass (:class:`~facealign.models.backbones.hourglass.Hourglass`) with a Fox Block
    on the skip branch of every level: ``up = FoxBlock(Residual(x))`` (paper Fig. 2 B, "Fox Block
    before skip-connection"). Shape: ``(B, C, H, W) -> (B, C, H, W)``, ``H, W`` multiples of ``2 ** depth``."""

    def __init__(self, depth: int, channels: int) -> None:
        super().__init__(depth, channels)
        self.up = nn.Sequential(Residual(channels, channels), FoxBlock(channels))
        if depth > 1:
            self.inner = FoxHourglass(depth - 1, channels)
