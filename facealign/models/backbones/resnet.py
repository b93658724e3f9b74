"""ResNet-18/34/50 feature extractors (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Written here from the paper's Table 1 (torchvision is not used); the bottleneck puts the stride on its
3x3 conv ("ResNet v1.5", as torchvision and the Simple Baselines pose models do). The classifier
(global pool + FC) is left out.

``forward`` returns the outputs of ``layer1 .. layer4`` at strides ``[4, 8, 16, 32]`` with
``[64, 128, 256, 512] * expansion`` channels (expansion 1 for the basic block, 4 for the bottleneck).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50"]

#: Stage widths of He et al. Table 1 (before the block expansion).
STAGE_WIDTHS = (64, 128, 256, 512)
STEM_CHANNELS = 64


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; ``(B, in_ch, H, W) -> (B, width, H / stride, W / stride)``."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, *, stride: int = 1) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (stride) -> 1x1 expand (x4) with a residual.

    Shape: ``(B, in_ch, H, W) -> (B, 4 * width, H / stride, W / stride)``.
    """

    expansion = 4

    def __init__(self, in_ch: int, width: int, *, stride: int = 1) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.downsample(x))


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    """Identity when shapes match, else the projection shortcut (1x1 conv + BN, He et al. option B)."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))


class ResNet(nn.Module):
    """ResNet backbone returning ``layer1 .. layer4`` features at strides 4, 8, 16 and 32.

    Args:
        block: ``"basic"`` (ResNet-18/34) or ``"bottleneck"`` (ResNet-50/101/152).
        layers: number of blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        width: channels of the stem and the first stage (64 in He et al.); every stage scales with it
            (``width * (1, 2, 4, 8)``), for CPU-sized variants such as the 32-wide ResNet-18 of ``scc_cpu_68``.

    Attributes:
        out_channels: ``[64, 128, 256, 512]`` (basic) or ``[256, 512, 1024, 2048]`` (bottleneck).
        strides: ``[4, 8, 16, 32]``.

    Shape: ``(B, 3, H, W) -> [(B, C_i, ceil(H / s_i), ceil(W / s_i)) for each stride s_i]``.
    """

    def __init__(self, *, block: str, layers: tuple[int, int, int, int], width: int = STEM_CHANNELS) -> None:
        super().__init__()
        block_types: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}
        if block not in block_types:
            raise ValueError(f"ResNet block must be one of {sorted(block_types)}, got {block!r}")
        if len(layers) != 4 or any(int(n) < 1 for n in layers):
            raise ValueError(f"ResNet layers must be 4 positive block counts, got {layers}")
        if int(width) != width or width < 1:
            raise ValueError(f"ResNet width must be a positive integer, got {width}")
        scale = int(width) / STEM_CHANNELS
        block_cls = block_types[block]
        self.stem = nn.Sequential(
            nn.Conv2d(3, int(width), 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(int(width)),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        in_ch = int(width)
        stages: list[nn.Module] = []
        self.out_channels: list[int] = []
        for i, (stage_width, n) in enumerate(zip(STAGE_WIDTHS, layers)):
            stride = 1 if i == 0 else 2
            stage_width = round(stage_width * scale)
            blocks: list[nn.Module] = []
            for j in range(int(n)):
                blocks.append(block_cls(in_ch, stage_width, stride=stride if j == 0 else 1))
                in_ch = stage_width * block_cls.expansion
            stages.append(nn.Sequential(*blocks))
            self.out_channels.append(in_ch)
        self.stages = nn.ModuleList(stages)
        self.strides: list[int] = [4, 8, 16, 32]
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` -> ``[layer1, layer2, layer3, layer4]`` features (strides 4, 8, 16, 32)."""
        if not torch.jit.is_tracing() and (x.ndim != 4 or x.shape[1] != 3):
            raise ValueError(f"ResNet expects (B, 3, H, W) input, got {tuple(x.shape)}")
        x = self.stem(x)
        feats: list[torch.Tensor] = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def _init_weights(module: nn.Module) -> None:
    """He et al. init: Kaiming-normal (fan_out, ReLU) convs, BN weight 1 / bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def resnet18(*, width: int = STEM_CHANNELS) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2); 11.18 M parameters without the classifier (width 64)."""
    return ResNet(block="basic", layers=(2, 2, 2, 2), width=width)


def resnet34() -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3); 21.28 M parameters without the classifier."""
    return ResNet(block="basic", layers=(3, 4, 6, 3))


def resnet50() -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); 23.51 M parameters without the classifier."""
    return ResNet(block="bottleneck", layers=(3, 4, 6, 3))
