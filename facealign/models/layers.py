"""Building blocks shared by the model families (the hourglass backbone, HIH, PropagationNet, FoxNet).

A block used by one family stays in that family's file; one that two or more families build with lives
here, so that no family imports another's internals.
"""

from __future__ import annotations

from torch import nn

__all__ = ["ConvBNReLU"]


class ConvBNReLU(nn.Sequential):
    """``kernel x kernel`` conv (no bias, "same" padding) -> BatchNorm -> optional ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1, *, relu: bool = True):
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding=(kernel - 1) // 2, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
