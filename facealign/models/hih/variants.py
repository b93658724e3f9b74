"""HIH's comparison heads on HIH's own network (Lan et al., "HIH: Towards More Accurate Face Alignment via
Heatmap in Heatmap", 2022, Appendix B-C, Table V-VI): the stacked hourglass and integer heatmaps of
:class:`~facealign.models.hih.model.HIHModel`, with the sub-cell part predicted as offsets instead of
decimal heatmaps, so that the representations can be compared on one backbone.

* **WOV, with offset value** (Appendix C, after SHN-GCN / SLPT): "we still take CNN structure and final
  FC layer to regress the offset, and take the fusion of heatmap result and backbone feature as input
  of subpixel regression module". :class:`HIHOffsetValueModel` is HIH with the last layer of its
  offset branch (1 x 1 conv to K decimal heatmaps) replaced by a fully connected layer from the
  flattened ``h_d x h_d`` branch features to ``2 K`` offsets: the same fused input, the same CNN.
* **WOM, with offset map** (Appendix B, after CornerNet): "offset maps, which have the same resolution
  as heatmaps ... we use two offset maps with size h x w, i.e. O^x and O^y". :class:`HIHOffsetMapModel`
  puts CornerNet's offset head (3 x 3 conv-BN-ReLU, 1 x 1 conv) on the fused features of the last
  stack; ``per_point_maps=True`` gives every landmark its own pair (G-RMI) instead of the paper's one.

Offsets are fractions of a cell, ``[0, 1)`` (:mod:`facealign.codecs.offsets`); the last layers' biases
start at 0.5, the middle of the cell, so an untrained head decodes like argmax. The networks return
tensors only; targets, loss and decoding are :class:`facealign.tasks.OffsetValueTask` /
:class:`facealign.tasks.OffsetMapTask`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import torch
from torch import nn

from ...card import ModelCard
from ..layers import ConvBNReLU
from ..registry import build_model, get_model_card, register_model
from .model import CPU_CHANNELS, CPU_DECIMAL, CPU_INPUT, CPU_NETWORK, HIHModel

__all__ = ["HIHOffsetMapModel", "HIHOffsetValueModel", "OffsetMapOutput", "OffsetValueOutput", "hih_wom_cpu_68", "hih_wov_cpu_68"]

#: Initial offset (cells): the middle of the argmax cell.
_CELL_CENTRE = 0.5


class OffsetValueOutput(NamedTuple):
    """integer: ``(B, S, K, h, w)`` integer heatmaps of every stack; offsets: ``(B, K, 2)`` ``(x, y)``
    fractions of a cell."""

    integer: torch.Tensor
    offsets: torch.Tensor


class OffsetMapOutput(NamedTuple):
    """integer: ``(B, S, K, h, w)`` integer heatmaps of every stack; offset_maps: ``(B, G, 2, h, w)``,
    pair ``g`` holding ``(O^x, O^y)`` (``G = 1``: one pair for all points; ``G = K``: one per point)."""

    integer: torch.Tensor
    offset_maps: torch.Tensor


def _centred(layer: nn.Module) -> nn.Module:
    nn.init.constant_(layer.bias, _CELL_CENTRE)
    return layer


class HIHOffsetValueModel(HIHModel):
    """WOV: stacked hourglass + integer heatmaps per stack + HIH's offset branch ending in an FC layer.

    Args: those of :class:`~facealign.models.hih.HIHModel`; ``decimal_size`` is the side the branch
    downsamples to before the FC layer (``branch_channels * decimal_size**2 -> 2 K``).
    Shape: ``(B, 3, H, W)`` -> :class:`OffsetValueOutput`, integer ``(B, S, K, H/4, W/4)``, offsets ``(B, K, 2)``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        branch = self.offset.head[-1].in_channels
        self.offset.head[-1] = nn.Sequential(
            nn.Flatten(),
            _centred(nn.Linear(branch * self.decimal_size**2, 2 * self.num_points)),
            nn.Unflatten(1, (self.num_points, 2)),
        )

    def forward(self, x: torch.Tensor) -> OffsetValueOutput:
        out = self.backbone(x)
        return OffsetValueOutput(torch.stack(out.heatmaps, dim=1), self.offset(out.fused[-1]))


class HIHOffsetMapModel(HIHModel):
    """WOM: stacked hourglass + integer heatmaps per stack + offset maps at the heatmaps' resolution.

    Args (keyword only): those of :class:`~facealign.models.hih.HIHModel` but ``decimal_size``;
    ``branch_channels`` is the width of the offset head's 3 x 3 conv; ``per_point_maps``: one pair of
    maps per point (``G = K``) instead of the paper's shared pair (``G = 1``).
    Attributes: those of HIHModel but ``decimal_size``; ``offset_groups`` (G).
    Shape: ``(B, 3, H, W)`` -> :class:`OffsetMapOutput`, integer ``(B, S, K, H/4, W/4)``,
    offset_maps ``(B, G, 2, H/4, W/4)``.
    """

    def __init__(
        self,
        *,
        num_points: int,
        input_size: int,
        num_stacks: int = 1,
        depth: int = 4,
        channels: int = 256,
        branch_channels: int = 384,
        per_point_maps: bool = False,
    ) -> None:
        nn.Module.__init__(self)  # HIHModel's backbone and checks, without its decimal branch
        self._build_backbone(num_points=num_points, input_size=input_size, num_stacks=num_stacks, depth=depth, channels=channels)
        self.offset_groups = self.num_points if per_point_maps else 1
        self.offset = nn.Sequential(
            ConvBNReLU(self.backbone.channels, branch_channels, 3),
            _centred(nn.Conv2d(branch_channels, 2 * self.offset_groups, 1)),
            nn.Unflatten(1, (self.offset_groups, 2)),
        )

    def forward(self, x: torch.Tensor) -> OffsetMapOutput:
        out = self.backbone(x)
        return OffsetMapOutput(torch.stack(out.heatmaps, dim=1), self.offset(out.fused[-1]))


# --- the zoo: hih_cpu_68's network and data, other heads ----------------------------------------------------


def _cpu_card(name: str, output: str, head: str) -> ModelCard:
    return dataclasses.replace(
        get_model_card("hih_cpu_68"),
        name=name,
        output=output,
        weights=f"{name}.pt",
        description=(
            f"hih_cpu_68's network ({CPU_CHANNELS}-channel 1-stack hourglass, {CPU_INPUT} px -> "
            f"{CPU_INPUT // 4}x{CPU_INPUT // 4} integer heatmaps) with {head} (Lan et al. 2022 Table V)"
        ),
    )


@register_model(_cpu_card("hih_wov_cpu_68", "offset_value", f"HIH's offset branch to {CPU_DECIMAL}x{CPU_DECIMAL} + FC to 2x68 offset values (WOV)"))
def hih_wov_cpu_68(*, pretrained: bool = False, **kwargs: Any) -> HIHOffsetValueModel:
    """WOV on hih_cpu_68's network. Keyword arguments: those of :class:`HIHOffsetValueModel`."""
    return build_model(HIHOffsetValueModel, "hih_wov_cpu_68", pretrained, {**CPU_NETWORK, "decimal_size": CPU_DECIMAL}, kwargs)


@register_model(_cpu_card("hih_wom_cpu_68", "offset_map", "one shared pair of offset maps at the heatmaps' resolution (WOM)"))
def hih_wom_cpu_68(*, pretrained: bool = False, **kwargs: Any) -> HIHOffsetMapModel:
    """WOM on hih_cpu_68's network. Keyword arguments: those of :class:`HIHOffsetMapModel`."""
    return build_model(HIHOffsetMapModel, "hih_wom_cpu_68", pretrained, CPU_NETWORK, kwargs)
