"""PropagationNet (Huang, Yang, Li, Kim and Wei, "PropagationNet: Propagate Points to Curve to Learn
Structure Information", CVPR 2020): stacked multi-view hourglasses with a Landmark-Boundary Propagation
Module after each, and its zoo entries.

Layout (Sec. 3 and Fig. 6; widths follow Bulat & Tzimiropoulos' FAN, which the paper builds on):

* **Stem** (stride 4): a 7 x 7 :class:`~.blocks.CoordConv2d` on the RGB input (x, y channels) to
  ``C / 4`` at stride 1, BN-ReLU and an anti-aliased 2x downsampling (Sec. 3.4: anti-aliasing "replace[s]
  pooling layer or strided convolution"); a multi-view block to ``C / 2``, a second anti-aliased
  downsampling, multi-view blocks to ``C / 2`` and ``C``. Both downsamplings are
  :class:`~.blocks.MaxBlurPool2d`, whose output grid is the stride-2 grid of the pixel convention
  (:mod:`facealign.types`) for blur sizes 3 and 5, so the heatmaps need no shift correction.
* **Per stack**: a :class:`~.hourglass.MultiViewHourglass`, a multi-view block and a 1 x 1 conv-BN-ReLU
  give the features; a 1 x 1 conv gives ``K`` landmark heatmaps; the
  :class:`~.lpm.PropagationModule` turns the heatmaps into ``M`` boundary heatmaps and (except after
  the last stack) the features into attended features. The next stack's input is the stack's input
  plus 1 x 1 conv-BN-ReLU remaps of the attended features and of the heatmaps (Newell's intermediate
  supervision).

``use_lpm=False`` is Table 4's "without PM" model: the stacks pass their plain features on and no
boundary heatmaps are made (``boundaries`` has 0 channels).

**Size and cost against Table 8** (36.30 M parameters, 42.83 G "FLOPS" at 256 px; AWing 24.15 M /
26.79 G, LAB 12.29 M / 18.85 G). :func:`~facealign.models.info.model_info` of ``propnet_wflw_98``
(C = 256, 4 stacks, depth 4, 98 points, 15 boundaries) at 256 px: **34.47 M parameters, 44.41 G
multiply-adds** (88.83 GFLOPs at 2 per multiply-add). Table 8's "FLOPS" are multiply-adds: with
``use_lpm=False`` the same count gives 23.88 M / 26.36 G, within 1.6 % of AWing's 24.15 M / 26.79 G
(AWing is also a 4-stack FAN with CoordConv), and 2 x multiply-adds would be twice the paper's figures.
The remaining gap (-5.0 % parameters, +3.7 % multiply-adds) is in what the paper leaves unsaid: the
size of the "set of several 7 x 7 convolutions", of the "two-stage hourglass" and where CoordConv and
anti-aliasing sit. Our reading (module docstrings): three 7 x 7 convs ``K -> M -> M -> M`` per stack
(4 x 94 k parameters, 1.54 G together), a ``C + M -> C`` multi-view block, a depth-2 multi-view
hourglass and a 1 x 1 sigmoid head in each of the 3 modules that feed a next stack (3 x 3.40 M, 16.52 G
together; an attention branch after the last stack would feed nothing and is not built), and a stride-1
7 x 7 CoordConv stem (1.03 G; a stride-2 one would cost 0.26 G).

The network returns tensors only (:class:`PropagationOutput`); targets come from
:class:`facealign.codecs.HeatmapCodec` and :class:`facealign.codecs.BoundaryCodec`, the loss is
:func:`facealign.losses.propagation_loss` (Focal Wing, Eq. 3-5) and decoding is the paper's quarter
offset (:func:`facealign.codecs.quarter_offset_decode`, Sec. 4.3) of the last stack's heatmaps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ...landmarks import get_scheme
from ..layers import ConvBNReLU
from ...card import ModelCard
from ..registry import FACEALIGN_SIGMA, HARD_FACES_LICENCE, TEACHER68_DATA, build_model, model_card, register_model
from .blocks import CoordConv2d, MaxBlurPool2d, MultiViewBlock
from .hourglass import MultiViewHourglass
from .lpm import LPM_DEPTH, PropagationModule

__all__ = [
    "PROPNET_STRIDE",
    "PropagationNet",
    "PropagationOutput",
    "propnet_cpu_68",
    "propnet_cpu_68_nolpm",
    "propnet_wflw_98",
]

#: Output stride of the stem, and of every stack's heatmaps (Sec. 4.3: 256 px input, 64 x 64 maps).
PROPNET_STRIDE = 4
#: Kernel of the stem's first (CoordConv) convolution.
STEM_KERNEL = 7


class PropagationOutput(NamedTuple):
    """PropagationNet's raw outputs, every stack (``[:, -1]`` is the final one).

    heatmaps: ``(B, S, K, h, w)`` landmark heatmaps; boundaries: ``(B, S, M, h, w)`` boundary heatmaps
    (``M = 0`` without the propagation module).
    """

    heatmaps: torch.Tensor
    boundaries: torch.Tensor


class PropagationNet(nn.Module):
    """PropagationNet (module docstring).

    Args (keyword only):
        num_points: K landmark heatmaps.
        num_boundaries: M boundary heatmaps (``len(scheme.boundaries)``; ignored when ``use_lpm=False``).
        num_stacks: hourglass stacks (paper: 4).
        channels: C, the feature width (paper / FAN: 256; a multiple of 16).
        depth: levels per hourglass (4: 64 x 64 down to 4 x 4).
        blur_kernel: anti-aliasing filter size, 2, 3 or 5 (Table 6; the paper keeps 3).
        coordconv: CoordConv on the input (Sec. 3.4); ``False`` gives a plain 7 x 7 conv.
        use_lpm: build the propagation modules (Table 4).
        input_size: the square input side the model is built for (a multiple of :attr:`input_multiple`).

    Attributes: ``num_points``, ``num_boundaries`` (0 without the module), ``num_stacks``, ``input_size``,
    ``heatmap_size`` (``input_size / 4``), ``stride`` (4.0).
    Shape: ``(B, 3, H, W)`` normalised images -> :class:`PropagationOutput` with ``h = H / 4``, ``w = W / 4``.
    """

    def __init__(
        self,
        *,
        num_points: int,
        num_boundaries: int,
        num_stacks: int = 4,
        channels: int = 256,
        depth: int = 4,
        blur_kernel: int = 3,
        coordconv: bool = True,
        use_lpm: bool = True,
        input_size: int = 256,
    ) -> None:
        super().__init__()
        if num_points < 1:
            raise ValueError(f"PropagationNet: num_points must be >= 1, got {num_points}")
        if use_lpm and num_boundaries < 1:
            raise ValueError(f"PropagationNet: num_boundaries must be >= 1 with use_lpm=True, got {num_boundaries}")
        if num_stacks < 1:
            raise ValueError(f"PropagationNet: num_stacks must be >= 1, got {num_stacks}")
        if channels < 16 or channels % 16:
            raise ValueError(f"PropagationNet: channels must be a positive multiple of 16, got {channels}")
        if depth < 1:
            raise ValueError(f"PropagationNet: depth must be >= 1, got {depth}")
        self.num_points = int(num_points)
        self.num_boundaries = int(num_boundaries) if use_lpm else 0
        self.num_stacks = int(num_stacks)
        self.depth = int(depth)
        self.use_lpm = bool(use_lpm)
        if int(input_size) != input_size or input_size < 1 or input_size % self.input_multiple:
            raise ValueError(
                f"PropagationNet: input_size must be a positive multiple of {self.input_multiple} "
                f"(4 * 2**depth), got {input_size}"
            )
        self.input_size = int(input_size)
        self.stride = float(PROPNET_STRIDE)
        self.heatmap_size = self.input_size // PROPNET_STRIDE
        c, k = int(channels), self.num_points
        first = (
            CoordConv2d(3, c // 4, STEM_KERNEL, padding=STEM_KERNEL // 2, bias=False)
            if coordconv
            else nn.Conv2d(3, c // 4, STEM_KERNEL, padding=STEM_KERNEL // 2, bias=False)
        )
        self.stem = nn.Sequential(
            first,
            nn.BatchNorm2d(c // 4),
            nn.ReLU(inplace=True),
            MaxBlurPool2d(c // 4, kernel_size=blur_kernel),
            MultiViewBlock(c // 4, c // 2),
            MaxBlurPool2d(c // 2, kernel_size=blur_kernel),
            MultiViewBlock(c // 2, c // 2),
            MultiViewBlock(c // 2, c),
        )
        self.hourglasses = nn.ModuleList(
            MultiViewHourglass(depth, c, blur_kernel=blur_kernel) for _ in range(num_stacks)
        )
        self.features = nn.ModuleList(
            nn.Sequential(MultiViewBlock(c, c), ConvBNReLU(c, c, 1)) for _ in range(num_stacks)
        )
        self.heatmap_convs = nn.ModuleList(nn.Conv2d(c, k, 1) for _ in range(num_stacks))
        self.propagation = nn.ModuleList(
            PropagationModule(
                channels=c,
                num_points=k,
                num_boundaries=self.num_boundaries,
                blur_kernel=blur_kernel,
                attention=s < num_stacks - 1,
            )
            for s in range(num_stacks if use_lpm else 0)
        )
        self.remap_features = nn.ModuleList(ConvBNReLU(c, c, 1) for _ in range(num_stacks - 1))
        self.remap_heatmaps = nn.ModuleList(ConvBNReLU(k, c, 1) for _ in range(num_stacks - 1))

    @property
    def input_multiple(self) -> int:
        """Input sides must be multiples of this: ``4 * 2 ** depth`` (the module's depth-2 hourglass
        included)."""
        return PROPNET_STRIDE * 2 ** max(self.depth, LPM_DEPTH if self.use_lpm else 0)

    def forward(self, x: torch.Tensor) -> PropagationOutput:
        """``(B, 3, H, W)`` -> :class:`PropagationOutput` (heatmaps and boundary heatmaps of every stack)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"PropagationNet: expected input of shape (B, 3, H, W), got {tuple(x.shape)}")
        m = self.input_multiple
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(
                f"PropagationNet: input height and width must be multiples of {m} (4 * 2**depth), "
                f"got {tuple(x.shape[-2:])}"
            )
        x = self.stem(x)
        heatmaps: list[torch.Tensor] = []
        boundaries: list[torch.Tensor] = []
        for s in range(self.num_stacks):
            f = self.features[s](self.hourglasses[s](x))
            h = self.heatmap_convs[s](f)
            heatmaps.append(h)
            if self.use_lpm:
                res = self.propagation[s](f, h)
                boundaries.append(res.boundaries)
                f = f if res.attended is None else res.attended
            if s < self.num_stacks - 1:
                x = x + self.remap_features[s](f) + self.remap_heatmaps[s](h)
        stacked = torch.stack(heatmaps, dim=1)
        if boundaries:
            return PropagationOutput(stacked, torch.stack(boundaries, dim=1))
        b, s, _, hh, ww = stacked.shape
        return PropagationOutput(stacked, stacked.new_zeros(b, s, 0, hh, ww))


# --- the zoo ---------------------------------------------------------------------------------------------
# output="propagation": PropagationOutput (every stack's heatmaps + boundary heatmaps), trained and decoded
# through facealign.tasks.PropagationTask.

#: Paper settings (Sec. 4.3): 256 px input, 64 x 64 heatmaps, 4 stacks; WFLW's 98 points, M = 15.
PAPER_INPUT = 256
PAPER_STACKS = 4
PAPER_CHANNELS = 256
PAPER_DEPTH = 4
PAPER_POINTS = 98
#: Gaussian sigma (heatmap cells) of landmark and boundary targets: the paper does not give it; 1.5 on
#: 64 x 64 maps as for HIH.
PAPER_SIGMA = 1.5
#: Our CPU-sized PropagationNet: 128 px -> 32 x 32 heatmaps, 2 stacks of 64 channels, depth 3. model_info at
#: 128 px: 0.96 M parameters, 0.50 G multiply-adds (1.00 GFLOPs); without the module 0.62 M, 0.29 G.
CPU_INPUT = 128
CPU_STACKS = 2
CPU_CHANNELS = 64
CPU_DEPTH = 3


@register_model(
    model_card(
        "propnet_wflw_98",
        num_points=PAPER_POINTS,
        input_size=PAPER_INPUT,
        heatmap_size=PAPER_INPUT // PROPNET_STRIDE,
        sigma=PAPER_SIGMA,
        decoder="quarter",
        output="propagation",
        training_data="none shipped (the paper trains on WFLW / COFW / 300W with six attribute flags)",
        description=(
            f"PropagationNet: {PAPER_STACKS} multi-view hourglass stacks ({PAPER_CHANNELS} ch, depth {PAPER_DEPTH}, "
            f"anti-aliasing 3, CoordConv) + propagation modules (15 WFLW boundaries), {PAPER_INPUT} px -> "
            f"{PAPER_INPUT // 4}x{PAPER_INPUT // 4}; Huang et al. 2020 Table 8: 36.30M params, 42.83G, WFLW NME 4.05"
        ),
    )
)
def propnet_wflw_98(*, pretrained: bool = False, **kwargs: Any) -> PropagationNet:
    """The paper's PropagationNet for WFLW (98 points, 15 boundaries). Keyword arguments: those of
    :class:`PropagationNet`."""
    defaults = dict(
        num_points=PAPER_POINTS,
        num_boundaries=len(get_scheme("98").boundaries),
        num_stacks=PAPER_STACKS,
        channels=PAPER_CHANNELS,
        depth=PAPER_DEPTH,
        input_size=PAPER_INPUT,
    )
    return build_model(PropagationNet, "propnet_wflw_98", pretrained, defaults, kwargs)


def _cpu_card(name: str, *, use_lpm: bool, training_data: str = TEACHER68_DATA, licence: str | None = None) -> ModelCard:
    module = "propagation modules (13 boundaries of the 68 scheme)" if use_lpm else "no propagation module (Table 4)"
    extra = {} if licence is None else {"licence": licence}
    return model_card(  # licence by default: FACES_LICENCE + DLIB_LABELS, as inside the shipped graphs' cards
        name,
        num_points=68,
        input_size=CPU_INPUT,
        heatmap_size=CPU_INPUT // PROPNET_STRIDE,
        sigma=FACEALIGN_SIGMA,
        output="propagation",
        shipped=True,
        training_data=training_data,
        description=(
            f"CPU-sized PropagationNet: {CPU_STACKS} multi-view hourglass stacks ({CPU_CHANNELS} ch, depth {CPU_DEPTH}, "
            f"anti-aliasing 3, CoordConv) + {module}, {CPU_INPUT} px -> {CPU_INPUT // 4}x{CPU_INPUT // 4}; 68 points"
        ),
        **extra,
    )


def _cpu_defaults(use_lpm: bool) -> dict[str, Any]:
    return dict(
        num_points=68,
        num_boundaries=len(get_scheme("68").boundaries),
        num_stacks=CPU_STACKS,
        channels=CPU_CHANNELS,
        depth=CPU_DEPTH,
        use_lpm=use_lpm,
        input_size=CPU_INPUT,
    )


@register_model(_cpu_card("propnet_cpu_68", use_lpm=True))
def propnet_cpu_68(*, pretrained: bool = False, **kwargs: Any) -> PropagationNet:
    """A two-stack, 64-channel PropagationNet for 128 px crops and 68 points (13 boundaries)."""
    return build_model(PropagationNet, "propnet_cpu_68", pretrained, _cpu_defaults(True), kwargs)


@register_model(_cpu_card(
    "propnet_cpu_68_nolpm", use_lpm=False, licence=HARD_FACES_LICENCE,
    training_data=(
        "faces/train68.txt (68-point dlib teacher labels) + faces/train5.txt (human 5-point labels) + 300w_human "
        "(people's 68 points) + cfp_profile (the CFP profile points with a 68-point counterpart), mixed in weight space "
        "with its earlier weights (teacher labels, then people's 68 points); the runs: facealign/weights/propnet_cpu_68_nolpm.md"
    ),
))
def propnet_cpu_68_nolpm(*, pretrained: bool = False, **kwargs: Any) -> PropagationNet:
    """:func:`propnet_cpu_68` without the propagation module (the Table 4 ablation)."""
    return build_model(PropagationNet, "propnet_cpu_68_nolpm", pretrained, _cpu_defaults(False), kwargs)
