"""Backbones: ``forward(x) -> list[Tensor]`` of stage features, with ``out_channels`` and ``strides``."""

from .mobilenetv2 import InvertedResidual, MobileNetV2, make_divisible
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "InvertedResidual",
    "MobileNetV2",
    "ResNet",
    "make_divisible",
    "resnet18",
    "resnet34",
    "resnet50",
]
