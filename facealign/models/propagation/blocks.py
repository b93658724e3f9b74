"""PropagationNet's building blocks (Huang et al., CVPR 2020, Sec. 3.3-3.4): anti-aliased downsampling
(Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019), CoordConv (Liu et al.,
"An Intriguing Failing of Convolutional Neural Networks and the CoordConv Solution", NeurIPS 2018) and
the multi-view block, i.e. the hierarchical, parallel & multi-scale block of Bulat & Tzimiropoulos
("Binarized Convolutional Landmark Localizers for Human Pose Estimation and Face Alignment with
Limited Resources", ICCV 2017, Fig. 2c; the ``ConvBlock`` of their FAN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BLUR_FILTERS", "BlurPool2d", "CoordConv2d", "MaxBlurPool2d", "MultiViewBlock", "coordinate_channels"]

#: Zhang's binomial filters by size (the rows of Pascal's triangle); the 2-D kernel is the outer
#: product of one with itself, normalised to sum 1. PropagationNet Table 6 compares sizes 2, 3 and 5
#: ("AC-2 / 3 / 5") and keeps 3.
BLUR_FILTERS: dict[int, tuple[float, ...]] = {
    1: (1.0,),
    2: (1.0, 1.0),
    3: (1.0, 2.0, 1.0),
    4: (1.0, 3.0, 3.0, 1.0),
    5: (1.0, 4.0, 6.0, 4.0, 1.0),
}


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling (Zhang 2019, ``Downsample``): reflect padding, a fixed binomial low-pass
    filter, then subsampling by ``stride`` (one depthwise convolution).

    The ``kernel_size x kernel_size`` kernel is ``outer(f, f) / sum(f)^2`` for ``f`` in
    :data:`BLUR_FILTERS` (a buffer, not a parameter). Padding is ``floor((k - 1) / 2)`` before and
    ``ceil((k - 1) / 2)`` after, as in Zhang's code (replicate padding for sides too short to reflect),
    so an even side ``H`` gives ``H / stride``.
    Output cell ``j`` is centred at input ``stride * j + (k - 1) / 2 - floor((k - 1) / 2)``: ``2 j`` for
    odd ``k``, ``2 j + 0.5`` for even ``k``. Shape: ``(B, C, H, W) -> (B, C, ceil(H / s), ceil(W / s))``.
    """

    def __init__(self, channels: int, *, kernel_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        if kernel_size not in BLUR_FILTERS:
            raise ValueError(f"BlurPool2d: kernel_size must be one of {sorted(BLUR_FILTERS)}, got {kernel_size}")
        if channels < 1 or stride < 1:
            raise ValueError(f"BlurPool2d: channels and stride must be >= 1, got {channels} and {stride}")
        f = torch.tensor(BLUR_FILTERS[kernel_size], dtype=torch.float32)
        kernel = torch.outer(f, f) / f.sum() ** 2
        self.register_buffer("kernel", kernel.expand(channels, 1, kernel_size, kernel_size).clone())
        self.channels, self.kernel_size, self.stride = int(channels), int(kernel_size), int(stride)
        before = (kernel_size - 1) // 2
        after = kernel_size - 1 - before
        self.padding = (before, after, before, after)  # F.pad order: left, right, top, bottom

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}, stride={self.stride}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"BlurPool2d: expected input of shape (B, {self.channels}, H, W), got {tuple(x.shape)}")
        if any(self.padding):
            # reflect needs a side longer than the padding; a 1-cell map (an hourglass's bottom) replicates
            mode = "reflect" if min(x.shape[-2:]) > max(self.padding) else "replicate"
            x = F.pad(x, self.padding, mode=mode)
        return F.conv2d(x, self.kernel.to(x.dtype), stride=self.stride, groups=self.channels)


class MaxBlurPool2d(nn.Sequential):
    """Zhang's anti-aliased replacement of a 2 x 2 stride-2 max-pool: a 2 x 2 max-pool at stride 1,
    then :class:`BlurPool2d` at stride 2 ("MaxBlurPool").

    For odd ``kernel_size`` (3, 5) output cell ``j`` is centred at input ``2 j + 0.5``, exactly where a
    2 x 2 max-pool puts it (the pixel convention of :mod:`facealign.types`), and the block commutes
    with a horizontal flip of an even-width input; even sizes (2, 4) centre it at ``2 j + 1``.
    Shape: ``(B, C, H, W) -> (B, C, H / 2, W / 2)`` for even ``H, W``.
    """

    def __init__(self, channels: int, *, kernel_size: int = 3) -> None:
        super().__init__(nn.MaxPool2d(2, stride=1), BlurPool2d(channels, kernel_size=kernel_size, stride=2))


def coordinate_channels(x: torch.Tensor) -> torch.Tensor:
    """CoordConv's two extra channels for ``x``: ``x`` then ``y`` coordinates, linear from -1 at the
    first column / row to +1 at the last (Liu et al. 2018, Sec. 4; ``AddCoords`` without the radius
    channel). Shape: ``(B, C, H, W) -> (B, 2, H, W)``, ``x``'s dtype and device.
    """
    b, _, h, w = x.shape
    xs = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device) if w > 1 else x.new_zeros(1)
    ys = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device) if h > 1 else x.new_zeros(1)
    grid = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w)])
    return grid[None].expand(b, 2, h, w)


class CoordConv2d(nn.Module):
    """CoordConv (Liu et al. 2018): concatenate :func:`coordinate_channels` (x, y in [-1, 1]) to the input,
    then an ordinary convolution of ``in_channels + 2`` channels. PropagationNet (Sec. 3.4) applies
    CoordConv "to learn either complete translation invariance or ranging degrees of translation
    dependence" without saying where or which variant; we put it on the network input (the stem's first
    convolution) with the x, y channels of Liu et al.'s main experiments (no radius channel).

    Keyword arguments after ``kernel_size`` go to :class:`torch.nn.Conv2d` (``stride``, ``padding``,
    ``bias`` ...). Shape: ``(B, in_channels, H, W) -> (B, out_channels, H', W')``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, **conv_kwargs: object) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.conv = nn.Conv2d(in_channels + 2, out_channels, kernel_size, **conv_kwargs)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"CoordConv2d: expected input of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        return self.conv(torch.cat([x, coordinate_channels(x)], dim=1))


def _bn_relu_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Pre-activation 3 x 3 convolution: BatchNorm -> ReLU -> conv (no bias)."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
    )


class MultiViewBlock(nn.Module):
    """PropagationNet's multi-view block (Sec. 3.3): Bulat & Tzimiropoulos' hierarchical, parallel &
    multi-scale block.

    Three pre-activated (BN-ReLU-conv) 3 x 3 convolutions in a chain, ``in -> out / 2 -> out / 4 ->
    out / 4``; their outputs (receptive fields 3, 5 and 7) are concatenated to ``out`` channels and added
    to the input, through a pre-activated 1 x 1 convolution when ``in != out``.
    Shape: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels < 4 or out_channels % 4:
            raise ValueError(f"MultiViewBlock: out_channels must be a positive multiple of 4, got {out_channels}")
        half, quarter = out_channels // 2, out_channels // 4
        self.conv1 = _bn_relu_conv(in_channels, half)
        self.conv2 = _bn_relu_conv(half, quarter)
        self.conv3 = _bn_relu_conv(quarter, quarter)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.BatchNorm2d(in_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        return torch.cat([out1, out2, out3], dim=1) + self.shortcut(x)
