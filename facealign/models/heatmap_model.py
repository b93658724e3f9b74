"""A heatmap network: backbone features -> head -> ``(B, K, h, w)`` heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import nn

__all__ = ["Backbone", "HeatmapHead", "HeatmapModel"]


class Backbone(Protocol):
    """What a backbone offers: ``forward(x) -> list[Tensor]`` with ``out_channels`` and ``strides``."""

    out_channels: list[int]
    strides: list[int]

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]: ...


class HeatmapHead(Protocol):
    """What a heatmap head offers: ``forward(features) -> (B, K, H, W)`` with ``num_points`` and
    ``upsample_factor`` (heatmap cells per cell of the backbone's last feature map)."""

    num_points: int
    upsample_factor: int

    def __call__(self, features: Sequence[torch.Tensor]) -> torch.Tensor: ...


class HeatmapModel(nn.Module):
    """``backbone`` then ``head``: normalised images in, one heatmap per landmark out.

    Args:
        backbone: an ``nn.Module`` following :class:`Backbone`; the head reads its last feature map.
        head: an ``nn.Module`` following :class:`HeatmapHead`.
        input_size: the square input side the model is built for (its card's ``input_size``); the
            network is fully convolutional, so this only fixes :attr:`heatmap_size`.

    Attributes:
        stride: input pixels per heatmap cell, ``backbone.strides[-1] / head.upsample_factor``
            (MobileNetV2 stride 32 with four 2x blocks: 32 / 16 = 2.0, so a 192 input gives 96 x 96
            heatmaps). Heatmap cell ``i`` is centred at input pixel ``(i + 0.5) * stride - 0.5``
            (:func:`facealign.types.heatmap_to_input`).
        num_points: K.

    Shape: ``(B, 3, H, W)`` float, normalised with the card's mean / std ->
    ``(B, K, H / stride, W / stride)`` (H and W multiples of the backbone stride).
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, *, input_size: int | None = None) -> None:
        super().__init__()
        for attr in ("out_channels", "strides"):
            if not hasattr(backbone, attr):
                raise TypeError(f"backbone {type(backbone).__name__} lacks the '{attr}' attribute of a Backbone")
        for attr in ("num_points", "upsample_factor"):
            if not hasattr(head, attr):
                raise TypeError(f"head {type(head).__name__} lacks the '{attr}' attribute of a HeatmapHead")
        self.backbone = backbone
        self.head = head
        self.backbone_stride = int(backbone.strides[-1])
        self.stride = self.backbone_stride / float(head.upsample_factor)
        self.num_points = int(head.num_points)
        self.input_size = None if input_size is None else int(input_size)
        if self.input_size is not None:
            self.heatmap_size_for(self.input_size)  # validates divisibility early

    def heatmap_size_for(self, input_size: int) -> int:
        """Heatmap side for a square input side: ``input_size / stride``.

        Raises ``ValueError`` unless ``input_size`` is a positive multiple of the backbone stride (other
        sizes are padded up inside the backbone and the heatmap no longer covers the input exactly).
        """
        if int(input_size) != input_size or input_size < 1 or input_size % self.backbone_stride:
            raise ValueError(
                f"input_size must be a positive multiple of the backbone stride {self.backbone_stride}, "
                f"got {input_size}"
            )
        return int(input_size) // self.backbone_stride * int(self.head.upsample_factor)

    @property
    def heatmap_size(self) -> int:
        """Heatmap side at :attr:`input_size` (``ValueError`` when the model was built without one)."""
        if self.input_size is None:
            raise ValueError("this HeatmapModel was built without input_size; use heatmap_size_for(input_size)")
        return self.heatmap_size_for(self.input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, K, H / stride, W / stride)`` heatmaps."""
        return self.head(self.backbone(x))
