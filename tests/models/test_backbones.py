"""MobileNetV2 and ResNet backbones: channels, strides, feature shapes, parameter counts, init."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from facealign.models.backbones import InvertedResidual, MobileNetV2, ResNet, make_divisible, resnet18, resnet34, resnet50


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.25 * 24, 8),  # 6 -> int(10) // 8 * 8 = 8
        (0.5 * 24, 16),  # 12 -> int(16) // 8 * 8 = 16
        (0.75 * 24, 24),  # 18 -> int(22) // 8 * 8 = 16 < 0.9 * 18 = 16.2, so + 8 = 24
        (1.4 * 16, 24),  # 22.4 -> int(26.4) // 8 * 8 = 24
        (0.25 * 16, 8),  # 4 -> max(8, int(8) // 8 * 8) = 8
        (1280.0, 1280),
    ],
)
def test_make_divisible_hand_values(value: float, expected: int) -> None:
    assert make_divisible(value, 8) == expected


@pytest.mark.parametrize(
    ("width", "channels", "last"),
    [
        # stages 24, 32, 96, 320 scaled by width and rounded to multiples of 8
        (0.25, [8, 8, 24, 80], 1280),  # 6->8, 8->8, 24, 80; last conv 1280 * max(1, 0.25)
        (0.5, [16, 16, 48, 160], 1280),  # 12->16, 16, 48, 160
        (1.0, [24, 32, 96, 320], 1280),
        (1.4, [32, 48, 136, 448], 1792),  # 33.6->32, 44.8->48, 134.4->136, 448; 1280 * 1.4 = 1792
    ],
)
def test_mobilenetv2_channels_and_feature_shapes(width: float, channels: list[int], last: int) -> None:
    net = MobileNetV2(width=width)
    assert net.out_channels == channels
    assert net.strides == [4, 8, 16, 32]
    with torch.no_grad():
        feats = net.eval()(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [
        (1, channels[0], 16, 24),
        (1, channels[1], 8, 12),
        (1, channels[2], 4, 6),
        (1, channels[3], 2, 3),
    ]
    assert MobileNetV2(width=width, last_conv=True).out_channels == channels[:3] + [last]


def test_mobilenetv2_odd_input_rounds_up() -> None:
    # every stride-2 conv (k3, p1) maps H -> ceil(H / 2): 100 -> 50 -> 25 -> 13 -> 7 -> 4
    with torch.no_grad():
        feats = MobileNetV2(width=0.25).eval()(torch.zeros(1, 3, 100, 100))
    assert [f.shape[-1] for f in feats] == [25, 13, 7, 4]


def test_parameter_counts_match_reference_networks_without_classifier() -> None:
    # torchvision totals minus the ImageNet classifier (in_features * 1000 + 1000):
    # mobilenet_v2 3,504,872 - 1,281,000; resnet18 11,689,512 - 513,000;
    # resnet34 21,797,672 - 513,000; resnet50 25,557,032 - 2,049,000.
    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    assert count(MobileNetV2(width=1.0, last_conv=True)) == 3_504_872 - 1_281_000
    assert count(resnet18()) == 11_689_512 - 513_000
    assert count(resnet34()) == 21_797_672 - 513_000
    assert count(resnet50()) == 25_557_032 - 2_049_000


@pytest.mark.parametrize(("builder", "channels"), [(resnet18, [64, 128, 256, 512]), (resnet50, [256, 512, 1024, 2048])])
def test_resnet_feature_shapes(builder, channels: list[int]) -> None:
    net = builder()
    assert net.out_channels == channels
    assert net.strides == [4, 8, 16, 32]
    with torch.no_grad():
        feats = net.eval()(torch.zeros(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(1, c, 64 // s, 64 // s) for c, s in zip(channels, net.strides)]


def test_inverted_residual_uses_shortcut_only_when_shapes_match() -> None:
    assert InvertedResidual(16, 16, stride=1, expansion=6).use_residual
    assert not InvertedResidual(16, 24, stride=1, expansion=6).use_residual
    assert not InvertedResidual(16, 16, stride=2, expansion=6).use_residual


def test_reference_init() -> None:
    net = resnet18()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    # Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (512 * 3 * 3)) = 0.02083 for a layer4 conv
    w = net.stages[3][1].conv2.weight
    assert math.isclose(w.std().item(), math.sqrt(2 / (512 * 9)), rel_tol=0.02)


def test_bad_arguments_and_inputs_raise() -> None:
    with pytest.raises(ValueError, match="width must be positive"):
        MobileNetV2(width=0)
    with pytest.raises(ValueError, match="block must be one of"):
        ResNet(block="wide", layers=(2, 2, 2, 2))
    with pytest.raises(ValueError, match="4 positive block counts"):
        ResNet(block="basic", layers=(2, 2, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expects \(B, 3, H, W\) input, got \(1, 1, 32, 32\)"):
        MobileNetV2(width=0.25)(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"expects \(B, 3, H, W\) input, got \(3, 32, 32\)"):
        resnet18()(torch.zeros(3, 32, 32))
