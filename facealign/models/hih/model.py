"""HIH: Heatmap In Heatmap (Lan, Hu, Chen, Xue and Cheng, "HIH: Towards More Accurate Face Alignment
via Heatmap in Heatmap", 2022), Sec. III-D: a stacked hourglass with one integer heatmap per stack and
an offset branch that predicts the decimal heatmaps.

Offset (decimal) branch, on the fused features of the last stack (backbone features + remapped
integer heatmaps, :class:`~facealign.models.backbones.hourglass.StackedHourglass`):

1. 1 x 1 stride-1 conv-BN-ReLU to ``branch_channels``;
2. 3 x 3 stride-2 max-pool (padding 1, so ``h -> h / 2``);
3. ``log2(h / h_d) - 1`` ResNet basic blocks whose first 3 x 3 conv has stride 2 and whose second conv
   is 3 x 3 (1 x 1 conv-BN shortcut), each halving the side, down to ``h_d``;
4. the regression head "like HRNet's": 1 x 1 conv-BN-ReLU and a 1 x 1 conv to K decimal heatmaps.

With 256 hourglass channels, depth 4 and a 384-channel branch (the authors' published configuration),
:func:`~facealign.models.info.model_info` at 256 px gives 9.42 / 12.60 / 18.96 M parameters and
6.92 / 10.27 / 16.99 G multiply-adds for HIH_T / S / B against Table I's 10.37 / 14.47 / 22.68 M and
6.99 / 10.38 / 17.15 G: Table I's "Flops" are multiply-adds (1% over ours: BN, ReLU and pooling are
not in our count). The parameter gap is exactly the authors' unused shortcuts: their residual module
builds a 1 x 1 conv-BN shortcut even when input and output widths match (14 per stack at 256 channels,
66,048 parameters each, plus one of 128 channels in the stem); counted in, ours give 10.37 / 14.47 /
22.68 M. We do not build weights that are never used.

The network returns tensors only (:class:`HIHOutput`); loss (:mod:`facealign.losses.hih_loss`) and
decoding (:class:`facealign.codecs.HIHCodec`) live outside it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ...card import ModelCard
from ..backbones.hourglass import StackedHourglass
from ..layers import ConvBNReLU
from ..registry import TEACHER68_DATA, TEACHER68_LICENCE, build_model, model_card, register_model

__all__ = ["HIHModel", "HIHOffsetBranch", "HIHOutput", "HIH_B", "HIH_S", "HIH_T", "StridedBasicBlock", "hih_cpu_68"]


class HIHOutput(NamedTuple):
    """HIH's raw outputs.

    integer: ``(B, S, K, h, w)`` integer heatmaps of every stack (S stacks; ``[:, -1]`` is the final one);
    decimal: ``(B, K, h_d, w_d)`` decimal heatmaps (logits of the coordinate soft-classification).
    """

    integer: torch.Tensor
    decimal: torch.Tensor


class StridedBasicBlock(nn.Module):
    """ResNet basic block with a stride-2 first 3 x 3 conv and a 3 x 3 second conv (HIH Sec. III-D).

    Shape: ``(B, C_in, H, W) -> (B, C_out, ceil(H / 2), ceil(W / 2))``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(in_channels, out_channels, 3, 2)
        self.conv2 = ConvBNReLU(out_channels, out_channels, 3, relu=False)
        self.shortcut = ConvBNReLU(in_channels, out_channels, 1, 2, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class HIHOffsetBranch(nn.Module):
    """The offset branch: fused ``(B, C, h, w)`` features -> ``(B, K, h / r, w / r)`` decimal heatmaps,
    ``r = heatmap_size / decimal_size`` (a power of two >= 2)."""

    def __init__(self, in_channels: int, num_points: int, *, reduction: int, branch_channels: int) -> None:
        super().__init__()
        steps = math.log2(reduction) if reduction >= 2 else -1.0
        if steps < 1 or steps != int(steps):
            raise ValueError(
                f"HIHOffsetBranch: heatmap_size / decimal_size must be a power of two >= 2, got {reduction}"
            )
        self.reduction = int(reduction)
        self.stem = ConvBNReLU(in_channels, branch_channels, 1)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.blocks = nn.Sequential(
            *(StridedBasicBlock(branch_channels, branch_channels) for _ in range(int(steps) - 1))
        )
        self.head = nn.Sequential(ConvBNReLU(branch_channels, branch_channels, 1), nn.Conv2d(branch_channels, num_points, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.pool(self.stem(x))))


class HIHModel(nn.Module):
    """Stacked hourglass + integer heatmaps per stack + the decimal (offset) branch.

    Args (keyword only):
        num_points: K.
        input_size: square input side the model is built for (a multiple of ``4 * 2 ** depth``).
        decimal_size: side of the decimal heatmaps at ``input_size`` (``h_d``; paper: 8).
        num_stacks, depth, channels: of :class:`StackedHourglass` (paper: 1 / 2 / 4 stacks, 4, 256).
        branch_channels: width of the offset branch (authors' configuration: 384).

    Attributes: ``num_points``, ``input_size``, ``heatmap_size`` (``input_size / 4``), ``stride`` (4.0),
    ``decimal_size``, ``num_stacks``.
    Shape: ``(B, 3, H, W)`` normalised images -> :class:`HIHOutput` with integer ``(B, S, K, H/4, W/4)``
    and decimal ``(B, K, H / (4 r), W / (4 r))``, ``r = heatmap_size / decimal_size``.
    """

    def __init__(
        self,
        *,
        num_points: int,
        input_size: int,
        decimal_size: int,
        num_stacks: int = 1,
        depth: int = 4,
        channels: int = 256,
        branch_channels: int = 384,
    ) -> None:
        super().__init__()
        self._build_backbone(num_points=num_points, input_size=input_size, num_stacks=num_stacks, depth=depth, channels=channels)
        if decimal_size < 1 or self.heatmap_size % decimal_size:
            raise ValueError(
                f"HIHModel: decimal_size must divide the heatmap size {self.heatmap_size}, got {decimal_size}"
            )
        self.decimal_size = int(decimal_size)
        self.offset = HIHOffsetBranch(
            channels, num_points, reduction=self.heatmap_size // self.decimal_size, branch_channels=branch_channels
        )

    def _build_backbone(self, *, num_points: int, input_size: int, num_stacks: int, depth: int, channels: int) -> None:
        """The stacked hourglass and the attributes every head on it shares (also used by the Table V
        variants of :mod:`facealign.models.hih.variants`, which replace the offset branch)."""
        self.backbone = StackedHourglass(num_points=num_points, num_stacks=num_stacks, depth=depth, channels=channels)
        if int(input_size) != input_size or input_size < 1 or input_size % self.backbone.input_multiple:
            raise ValueError(
                f"{type(self).__name__}: input_size must be a positive multiple of {self.backbone.input_multiple} "
                f"(4 * 2**depth), got {input_size}"
            )
        self.input_size = int(input_size)
        self.stride = float(self.backbone.strides[-1])
        self.heatmap_size = self.input_size // self.backbone.strides[-1]
        self.num_points = int(num_points)
        self.num_stacks = int(num_stacks)

    def forward(self, x: torch.Tensor) -> HIHOutput:
        """``(B, 3, H, W)`` -> :class:`HIHOutput` (integer heatmaps of every stack, decimal heatmaps)."""
        out = self.backbone(x)
        return HIHOutput(torch.stack(out.heatmaps, dim=1), self.offset(out.fused[-1]))


# --- the zoo ---------------------------------------------------------------------------------------------

#: Paper settings (Sec. IV-A): 256 px input, 64 x 64 integer heatmaps (sigma 1.5), 8 x 8 decimal (sigma 1).
PAPER_INPUT = 256
PAPER_DECIMAL = 8
PAPER_SIGMA = 1.5
PAPER_DECIMAL_SIGMA = 1.0
PAPER_POINTS = 98
PAPER_CHANNELS = 256
PAPER_DEPTH = 4
PAPER_BRANCH = 384
#: Our CPU-sized HIH: 128 px -> 32 x 32 integer (stride 4), 4 x 4 decimal (1 px precision), one narrow stack.
CPU_INPUT = 128
CPU_DECIMAL = 4
CPU_CHANNELS = 64
CPU_DEPTH = 3
CPU_BRANCH = 64
CPU_SIGMA = 1.5
#: hih_cpu_68's network, which its WOV / WOM variants (:mod:`.variants`) share.
CPU_NETWORK: dict[str, Any] = dict(
    num_points=68, input_size=CPU_INPUT, num_stacks=1, depth=CPU_DEPTH, channels=CPU_CHANNELS, branch_channels=CPU_BRANCH
)

def _paper_card(name: str, stacks: int, table: str) -> ModelCard:
    return model_card(
        name,
        num_points=PAPER_POINTS,
        input_size=PAPER_INPUT,
        heatmap_size=PAPER_INPUT // 4,
        sigma=PAPER_SIGMA,
        decoder="argmax",
        output="hih",
        training_data="none shipped (the paper trains on WFLW / COFW / 300W)",
        description=(
            f"HIH with {stacks} hourglass stack(s) ({PAPER_CHANNELS} ch, depth {PAPER_DEPTH}, offset branch "
            f"{PAPER_BRANCH} ch), {PAPER_INPUT} px -> {PAPER_INPUT // 4}x{PAPER_INPUT // 4} integer + "
            f"{PAPER_DECIMAL}x{PAPER_DECIMAL} decimal heatmaps (decimal sigma {PAPER_DECIMAL_SIGMA}); "
            f"Lan et al. 2022 Table I ({table})"
        ),
    )


def _hih(name: str, stacks: int, pretrained: bool, kwargs: dict[str, Any]) -> HIHModel:
    defaults = dict(
        num_points=PAPER_POINTS, input_size=PAPER_INPUT, decimal_size=PAPER_DECIMAL, num_stacks=stacks,
        depth=PAPER_DEPTH, channels=PAPER_CHANNELS, branch_channels=PAPER_BRANCH,
    )
    return build_model(HIHModel, name, pretrained, defaults, kwargs)


@register_model(_paper_card("HIH_T", 1, "10.37M params, 6.99G, WFLW NME 4.27"))
def HIH_T(*, pretrained: bool = False, **kwargs: Any) -> HIHModel:  # noqa: N802 (the paper's name)
    """HIH tiny: one hourglass stack (Lan et al. Table I). Keyword arguments: those of :class:`HIHModel`."""
    return _hih("HIH_T", 1, pretrained, kwargs)


@register_model(_paper_card("HIH_S", 2, "14.47M params, 10.38G, WFLW NME 4.13"))
def HIH_S(*, pretrained: bool = False, **kwargs: Any) -> HIHModel:  # noqa: N802
    """HIH small: two hourglass stacks (Lan et al. Table I)."""
    return _hih("HIH_S", 2, pretrained, kwargs)


@register_model(_paper_card("HIH_B", 4, "22.68M params, 17.15G, WFLW NME 4.08"))
def HIH_B(*, pretrained: bool = False, **kwargs: Any) -> HIHModel:  # noqa: N802
    """HIH base: four hourglass stacks (Lan et al. Table I)."""
    return _hih("HIH_B", 4, pretrained, kwargs)


@register_model(
    model_card(
        "hih_cpu_68",
        num_points=68,
        input_size=CPU_INPUT,
        heatmap_size=CPU_INPUT // 4,
        sigma=CPU_SIGMA,
        decoder="argmax",
        output="hih",
        shipped=True,
        training_data=TEACHER68_DATA,
        licence=TEACHER68_LICENCE,
        description=(
            f"CPU-sized HIH: 1 hourglass stack ({CPU_CHANNELS} ch, depth {CPU_DEPTH}, offset branch {CPU_BRANCH} ch), "
            f"{CPU_INPUT} px -> {CPU_INPUT // 4}x{CPU_INPUT // 4} integer + {CPU_DECIMAL}x{CPU_DECIMAL} decimal heatmaps "
            "(decimal sigma 1.0); 68 points"
        ),
    )
)
def hih_cpu_68(*, pretrained: bool = False, **kwargs: Any) -> HIHModel:
    """A one-stack, 64-channel HIH for 128 px crops and 68 points (1 input-pixel decimal precision)."""
    return build_model(HIHModel, "hih_cpu_68", pretrained, {**CPU_NETWORK, "decimal_size": CPU_DECIMAL}, kwargs)
