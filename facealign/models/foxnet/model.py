"""FoxNet: fast bottom-up multi-face alignment (the FoxNet paper, AISA Research,
https://github.com/AISAResearch/FoxNet; text in ``../shared/papers/foxnet-bottom-up-multi-face.txt``), Sec. II-A.

* **Head** ``h`` (Sec. II-A, Fig. 2): the ResNet stem (7 x 7 stride-2 conv, BN, ReLU, 3 x 3 stride-2
  max-pool) and the first ``backbone_blocks`` blocks of ResNet's ``layer1``, stride 4; a 1 x 1
  conv-BN-ReLU maps its width to ``channels`` when they differ.
* **Fox Block** (Fig. 1): average pools of kernel 1, 3, 5 and 7 at stride 1 ("same" padding,
  ``count_include_pad=False``), concatenated, and a point-wise conv(-BN-ReLU) back to the channel count.
* **Hourglass** (Newell et al.; "we proposed to use Hourglass as our FoxNet backbone") whose every level
  puts a Fox Block on its skip branch, "before skip-connection" (Fig. 2 B).
* **Two point-wise heads** (``C = d_1(S_t)``, ``F = d_n(S_t)``): ``K`` landmark-segmentation logits and
  ``n`` pixel-embedding channels, both at stride 4.

The paper does not say whether the segmentation has a background channel; we use ``K`` independent
(sigmoid) channels, one per landmark, so that landmarks of small faces that fall on one cell do not
compete for it (:mod:`facealign.codecs.bottomup`). Neither does it give the embedding width ``n``:
we use :data:`EMBEDDING_DIM`. The network returns tensors only (:class:`FoxNetOutput`); the loss
(:mod:`facealign.losses.fox_loss`) and the grouping (:class:`facealign.codecs.BottomUpCodec`) live outside it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ...card import ModelCard
from ..backbones.resnet import ResNet
from ..layers import ConvBNReLU
from ..registry import build_model, model_card, register_model
from .blocks import FoxHourglass

__all__ = ["EMBEDDING_DIM", "FoxNet", "FoxNetOutput", "foxnet_cpu_68", "foxnet_resnet_68"]

#: Output stride of the head (ResNet stem) and of both outputs.
FOXNET_STRIDE = 4
#: Pixel-embedding width ``n``; the paper does not state it. Eight dimensions hold up to 16 mutually
#: non-acute cluster centres (2n), which the cosine distance margin of the Fox loss asks for.
EMBEDDING_DIM = 8
#: ResNet variants usable as the head: block type and the stage-1 width is read from the network.
_RESNET_BLOCKS = {"resnet18": "basic", "resnet34": "basic", "resnet50": "bottleneck"}


class FoxNetOutput(NamedTuple):
    """FoxNet's raw outputs at stride 4.

    segmentation: ``(B, K, h, w)`` landmark-segmentation logits (one sigmoid channel per landmark);
    embedding: ``(B, n, h, w)`` pixel embeddings (un-normalised; the Fox loss and the grouping use
    their direction only).
    """

    segmentation: torch.Tensor
    embedding: torch.Tensor


class FoxNet(nn.Module):
    """ResNet head -> Fox hourglass -> segmentation and embedding heads (see the module docstring).

    Args (keyword only):
        num_points: K, landmark-segmentation channels.
        input_size: square input side the model is built for (a multiple of ``4 * 2 ** depth``); the
            network is fully convolutional and runs on any such side.
        embedding_dim: n, pixel-embedding channels.
        backbone: ``"resnet18" | "resnet34" | "resnet50"``: which ResNet's stem and stage-1 blocks form the head.
        backbone_blocks: how many ``layer1`` blocks follow the stem (0: the stem alone).
        channels: hourglass width (even).
        depth: hourglass levels (stride ``4 * 2 ** depth`` at the bottom).

    Attributes: ``num_points``, ``input_size``, ``heatmap_size`` (``input_size / 4``), ``stride`` (4),
    ``embedding_dim``.
    Shape: ``(B, 3, H, W)`` normalised images -> :class:`FoxNetOutput` of ``(B, K, H/4, W/4)`` and
    ``(B, n, H/4, W/4)``.
    """

    def __init__(
        self,
        *,
        num_points: int,
        input_size: int,
        embedding_dim: int = EMBEDDING_DIM,
        backbone: str = "resnet50",
        backbone_blocks: int = 3,
        channels: int = 256,
        depth: int = 4,
    ) -> None:
        super().__init__()
        if backbone not in _RESNET_BLOCKS:
            raise ValueError(f"FoxNet: backbone must be one of {sorted(_RESNET_BLOCKS)}, got {backbone!r}")
        if num_points < 1 or embedding_dim < 1:
            raise ValueError(f"FoxNet: num_points and embedding_dim must be >= 1, got {num_points}, {embedding_dim}")
        if backbone_blocks < 0:
            raise ValueError(f"FoxNet: backbone_blocks must be >= 0, got {backbone_blocks}")
        if channels < 2 or channels % 2:
            raise ValueError(f"FoxNet: channels must be a positive even number, got {channels}")
        if depth < 1:
            raise ValueError(f"FoxNet: depth must be >= 1, got {depth}")
        self.input_multiple = FOXNET_STRIDE * 2 ** int(depth)
        if int(input_size) != input_size or input_size < 1 or input_size % self.input_multiple:
            raise ValueError(
                f"FoxNet: input_size must be a positive multiple of {self.input_multiple} (4 * 2**depth), got {input_size}"
            )
        # Only the stem and layer1 are used: build the other stages with one block and drop them.
        resnet = ResNet(block=_RESNET_BLOCKS[backbone], layers=(max(1, int(backbone_blocks)), 1, 1, 1))
        head_channels = resnet.out_channels[0] if backbone_blocks > 0 else resnet.stem[0].out_channels
        layers: list[nn.Module] = [resnet.stem, *list(resnet.stages[0])[: int(backbone_blocks)]]
        if head_channels != channels:
            layers.append(ConvBNReLU(head_channels, channels, 1))
        self.head = nn.Sequential(*layers)
        self.hourglass = FoxHourglass(int(depth), int(channels))
        self.segmentation = nn.Conv2d(channels, num_points, 1)
        self.embedding = nn.Conv2d(channels, embedding_dim, 1)
        self.num_points = int(num_points)
        self.embedding_dim = int(embedding_dim)
        self.input_size = int(input_size)
        self.stride = FOXNET_STRIDE
        self.heatmap_size = self.input_size // FOXNET_STRIDE

    def forward(self, x: torch.Tensor) -> FoxNetOutput:
        """``(B, 3, H, W)`` -> :class:`FoxNetOutput` (segmentation logits, embeddings) at stride 4."""
        if not torch.jit.is_tracing():
            if x.ndim != 4 or x.shape[1] != 3:
                raise ValueError(f"FoxNet: expected input of shape (B, 3, H, W), got {tuple(x.shape)}")
            if x.shape[-2] % self.input_multiple or x.shape[-1] % self.input_multiple:
                raise ValueError(
                    f"FoxNet: input height and width must be multiples of {self.input_multiple}, "
                    f"got {tuple(x.shape[-2:])}"
                )
        features = self.hourglass(self.head(x))
        return FoxNetOutput(self.segmentation(features), self.embedding(features))


# --- the zoo ---------------------------------------------------------------------------------------------
# output="bottomup": a FoxNetOutput for a whole photo, decoded by facealign.codecs.BottomUpCodec into many
# faces (facealign.bottomup.FoxNetPredictor), not an aligned-crop model for the Aligner.

#: Paper settings: ResNet-50 head (Fig. 2 A), Hourglass backbone, 640 x 640 test input (Sec. III-C).
PAPER_INPUT = 640
PAPER_CHANNELS = 256
PAPER_DEPTH = 4
PAPER_BLOCKS = 3
#: Our CPU-sized FoxNet: 256 px canvases, ResNet stem alone (64 ch), a narrow depth-4 Fox hourglass
#: (0.57 M parameters, 1.31 GFLOPs = 0.65 G multiply-adds at 256 px by model_info).
CPU_INPUT = 256
CPU_CHANNELS = 96
CPU_DEPTH = 4
CPU_BLOCKS = 0
#: Gaussian sigma (output cells) of the landmark-segmentation targets (:class:`~facealign.codecs.BottomUpCodec`).
SEGMENTATION_SIGMA = 1.0

def _card(name: str, *, input_size: int, shipped: bool, description: str, training_data: str) -> ModelCard:
    return model_card(
        name,
        num_points=68,
        input_size=input_size,
        heatmap_size=input_size // FOXNET_STRIDE,
        sigma=SEGMENTATION_SIGMA,
        decoder="argmax",
        output="bottomup",
        shipped=shipped,
        training_data=training_data,
        description=description,
    )



@register_model(
    _card(
        "foxnet_resnet_68",
        input_size=PAPER_INPUT,
        shipped=False,
        training_data="none shipped (the paper trains on WFLW and its AISA multi-face set)",
        description=(
            f"FoxNet: ResNet-50 stem + layer1, Fox hourglass ({PAPER_CHANNELS} ch, depth {PAPER_DEPTH}), "
            f"{PAPER_INPUT} px -> {PAPER_INPUT // FOXNET_STRIDE} px segmentation (68) + embedding ({EMBEDDING_DIM}); "
            "FoxNet paper Sec. II-A, III-C"
        ),
    )
)
def foxnet_resnet_68(*, pretrained: bool = False, **kwargs: Any) -> FoxNet:
    """FoxNet at the paper's test size (640 px), ResNet-50 head. Keyword arguments: those of :class:`FoxNet`."""
    defaults = dict(
        num_points=68, input_size=PAPER_INPUT, backbone="resnet50", backbone_blocks=PAPER_BLOCKS,
        channels=PAPER_CHANNELS, depth=PAPER_DEPTH,
    )
    return build_model(FoxNet, "foxnet_resnet_68", pretrained, defaults, kwargs)


@register_model(
    _card(
        "foxnet_cpu_68",
        input_size=CPU_INPUT,
        shipped=True,
        training_data="multi-face canvases composed from faces/train68.txt (facealign.data.multiface)",
        description=(
            f"CPU-sized FoxNet: ResNet-18 stem only (64 ch), Fox hourglass ({CPU_CHANNELS} ch, depth {CPU_DEPTH}), "
            f"{CPU_INPUT} px canvas -> {CPU_INPUT // FOXNET_STRIDE} px segmentation (68) + embedding ({EMBEDDING_DIM})"
        ),
    )
)
def foxnet_cpu_68(*, pretrained: bool = False, **kwargs: Any) -> FoxNet:
    """A narrow FoxNet for 256 px canvases and 68 points. Keyword arguments: those of :class:`FoxNet`."""
    defaults = dict(
        num_points=68, input_size=CPU_INPUT, backbone="resnet18", backbone_blocks=CPU_BLOCKS,
        channels=CPU_CHANNELS, depth=CPU_DEPTH,
    )
    return build_model(FoxNet, "foxnet_cpu_68", pretrained, defaults, kwargs)
