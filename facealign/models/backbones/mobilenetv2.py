"""MobileNetV2 feature extractor (Sandler et al., "Inverted Residuals and Linear Bottlenecks", CVPR 2018).

Written here from the paper's Table 2 (torchvision is not used). The classifier (global pool + FC) is
left out: this is a backbone that returns one feature map per output stride.

Layers, as ``(expansion t, channels c, repeats n, first stride s)`` (paper Table 2)::

    conv3x3 32 s2 | (1,16,1,1) | (6,24,2,2) | (6,32,3,2) | (6,64,4,2) (6,96,3,1) | (6,160,3,2) (6,320,1,1)
    stride:   2         2           4            8                 16                         32
    | conv1x1 1280 (optional, ``last_conv``)

Channels are multiplied by ``width`` and rounded with :func:`make_divisible` to multiples of 8
(the reference TensorFlow / torchvision rounding); the last 1x1 conv has ``1280 * max(1, width)``
channels, so width < 1 keeps 1280.

``forward`` returns the features at strides ``[4, 8, 16, 32]``: the outputs of the 24-, 32-, 96- and
320-channel stages (scaled by ``width``), the last one passed through the 1280-channel conv when
``last_conv=True``. Heatmap models of Earp et al. use ``last_conv=False``: the paper's Table 3 model
sizes and FLOPs are matched by a head fed from the 320-channel stage, not from the 1280-channel conv
(see ``benchmarks/paper_tables.py``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["InvertedResidual", "MobileNetV2", "make_divisible"]

#: The inverted-residual settings of Sandler et al. Table 2: (expansion t, channels c, repeats n, stride s).
MOBILENETV2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
#: Stem conv channels and last 1x1 conv channels of the reference network (before width scaling).
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
#: Indices into MOBILENETV2_SETTINGS after which a feature map is returned (strides 4, 8, 16, 32).
_OUTPUT_AFTER_STAGE = (1, 2, 4, 6)
_OUTPUT_STRIDES = (4, 8, 16, 32)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never going below 90% of ``value``.

    The channel rounding of the MobileNet reference code: ``make_divisible(0.25 * 24) = 8``,
    ``make_divisible(0.5 * 96) = 48``, ``make_divisible(0.75 * 32) = 24``.
    """
    if divisor < 1:
        raise ValueError(f"divisor must be >= 1, got {divisor}")
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return int(new_value)


def _conv_bn_relu6(in_ch: int, out_ch: int, *, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand 1x1 (ReLU6) -> depthwise 3x3 (ReLU6) -> project 1x1 (linear), residual when shapes match.

    Shape: ``(B, in_ch, H, W) -> (B, out_ch, H / stride, W / stride)`` (ceil for odd sizes).
    """

    def __init__(self, in_ch: int, out_ch: int, *, stride: int, expansion: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual stride must be 1 or 2, got {stride}")
        hidden = int(round(in_ch * expansion))
        self.use_residual = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(_conv_bn_relu6(in_ch, hidden, kernel=1))
        layers += [
            _conv_bn_relu6(hidden, hidden, kernel=3, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """MobileNetV2 backbone returning stage features at strides 4, 8, 16 and 32.

    Args:
        width: width multiplier (0.25, 0.5, 0.75, 1.0, 1.4 ... any positive float).
        last_conv: keep the final 1x1 conv to ``1280 * max(1, width)`` channels (the classifier's
            input) on the stride-32 output. Heatmap models use ``False``.

    Attributes:
        out_channels: channels of each returned feature map, e.g. width 0.25 -> ``[8, 8, 24, 80]``,
            width 1.0 -> ``[24, 32, 96, 320]`` (``[24, 32, 96, 1280]`` with ``last_conv``).
        strides: ``[4, 8, 16, 32]``.

    Shape: ``(B, 3, H, W) -> [(B, C_i, ceil(H / s_i), ceil(W / s_i)) for each stride s_i]``.
    """

    def __init__(self, *, width: float = 1.0, last_conv: bool = False) -> None:
        super().__init__()
        if not width > 0:
            raise ValueError(f"MobileNetV2 width must be positive, got {width}")
        self.width = float(width)
        self.last_conv = bool(last_conv)
        in_ch = make_divisible(STEM_CHANNELS * width)
        self.stem = _conv_bn_relu6(3, in_ch, kernel=3, stride=2)
        stages: list[nn.Module] = []
        stage_channels: list[int] = []
        for t, c, n, s in MOBILENETV2_SETTINGS:
            out_ch = make_divisible(c * width)
            blocks = [
                InvertedResidual(in_ch if i == 0 else out_ch, out_ch, stride=s if i == 0 else 1, expansion=t)
                for i in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
            stage_channels.append(out_ch)
            in_ch = out_ch
        self.stages = nn.ModuleList(stages)
        self.head_conv: nn.Module
        if self.last_conv:
            last = make_divisible(LAST_CHANNELS * max(1.0, width))
            self.head_conv = _conv_bn_relu6(in_ch, last, kernel=1)
            stage_channels[-1] = last
        else:
            self.head_conv = nn.Identity()
        self.out_channels: list[int] = [stage_channels[i] for i in _OUTPUT_AFTER_STAGE]
        self.strides: list[int] = list(_OUTPUT_STRIDES)
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` -> features at strides ``[4, 8, 16, 32]`` (see the class docstring)."""
        if not torch.jit.is_tracing() and (x.ndim != 4 or x.shape[1] != 3):
            raise ValueError(f"MobileNetV2 expects (B, 3, H, W) input, got {tuple(x.shape)}")
        x = self.stem(x)
        feats: list[torch.Tensor] = []
        last_index = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == last_index:
                x = self.head_conv(x)
            if i in _OUTPUT_AFTER_STAGE:
                feats.append(x)
        return feats


def _init_weights(module: nn.Module) -> None:
    """Reference init: Kaiming-normal (fan_out) convs, BN weight 1 / bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
