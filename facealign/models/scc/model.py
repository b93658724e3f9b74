"""SCC models (Zhu, Lin et al., "Fast and Accurate: Structure Coherence Component for Face Alignment")
and their fully-connected regression baseline (the paper's Table 5 first column), with zoo entries.

Both regress coordinates directly. **Output convention**: ``(B, K, 2)`` (x, y) in pixels of the
network input (the aligned crop), in :mod:`facealign.types`' convention (pixel centres at integers,
the crop spans ``[-0.5, S - 0.5]``). Internally the last layer predicts offsets ``o`` from the crop
centre in crop sides and ``x = (S - 1) / 2 + S * o`` (:func:`offsets_to_pixels`), which keeps the
last layer's outputs of order one while the loss sees pixels, as the paper's Soft Wing parameters
(``omega1 = 2``, ``omega2 = 20`` px on 256 px crops, Sec. 4.2) assume.

Train with a coordinate loss on these pixel outputs, e.g.
``facealign.losses.soft_wing_loss(model(x), target_px, visibility)``; decoding is the identity.
Before training an SCC model, install the data-driven adjacency:
``model.prepare_training(train_shapes_in_crop_pixels)`` (the trainer calls it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..backbones import ResNet, resnet18, resnet34
from ...card import ModelCard
from ..registry import TEACHER68_DATA, TEACHER68_LICENCE, finish_model, model_card, register_model
from .adjacency import build_adjacency
from .attention import AttentionMultiScale
from .graph import GraphRelationHead

__all__ = [
    "FCRegressionModel",
    "SCCModel",
    "offsets_to_pixels",
    "scc_cpu_68",
    "scc_fc_cpu_68",
    "scc_fc_resnet34_68",
    "scc_resnet34_68",
]

#: The paper's input side (Sec. 4.2: "center-cropped and resized to 256 x 256").
PAPER_INPUT = 256
#: Our CPU-sized SCC: ResNet-18 on 128 px crops.
CPU_INPUT = 128
#: Output stride of the ResNet backbones' last stage.
BACKBONE_STRIDE = 32


def offsets_to_pixels(offsets: torch.Tensor, input_size: int) -> torch.Tensor:
    """Crop-centre offsets in crop sides -> input pixels: ``x = (S - 1) / 2 + S * o``.

    ``o = 0`` is the crop centre ``(S - 1) / 2``; ``o = +-0.5`` lands half a pixel outside the centres
    of the first / last pixel, i.e. on the crop's edges ``-0.5`` and ``S - 0.5``.
    Shape: ``(..., 2) -> (..., 2)``.
    """
    return (input_size - 1) / 2.0 + input_size * offsets


def _check_input(x: torch.Tensor, input_size: int, name: str) -> None:
    expected = (3, input_size, input_size)
    if not torch.jit.is_tracing() and (x.ndim != 4 or tuple(x.shape[1:]) != expected):
        raise ValueError(
            f"{name} was built for (B, 3, {input_size}, {input_size}) input, got {tuple(x.shape)} "
            "(coordinate regression fixes the input size; build it with input_size=...)"
        )


def _check_size(input_size: int, name: str) -> int:
    if int(input_size) != input_size or input_size < BACKBONE_STRIDE or input_size % BACKBONE_STRIDE:
        raise ValueError(f"{name}: input_size must be a positive multiple of {BACKBONE_STRIDE}, got {input_size}")
    return int(input_size)


class _RegressionModelBase(nn.Module):
    """Attributes every coordinate-regression model offers: ``num_points``, ``input_size``,
    ``output_kind = "regression"``, and, for the zoo's heatmap-shaped card, ``stride = 1.0`` and
    ``heatmap_size = input_size`` (outputs are input pixels: a stride-1 "map" is the identity of
    :func:`facealign.types.heatmap_to_input`)."""

    output_kind = "regression"
    stride = 1.0

    def __init__(self, *, num_points: int, input_size: int) -> None:
        super().__init__()
        if int(num_points) != num_points or num_points < 2:
            raise ValueError(f"num_points must be an integer >= 2, got {num_points}")
        self.num_points = int(num_points)
        self.input_size = int(input_size)
        self.heatmap_size = int(input_size)


class SCCModel(_RegressionModelBase):
    """ResNet backbone + attention-guided multi-scale features + graph relation head (Fig. 2).

    Uses the backbone's last three stages as ``(F_{L-2}, F_{L-1}, F_L)`` (Table 6: ``{F3, F4, F5}``).

    Args:
        backbone: a :class:`~facealign.models.backbones.ResNet` (``out_channels`` / ``strides``).
        num_points: K. input_size: square input side (multiple of 32), fixed by the node features.
        branch_channels: channels of the ``(L-2, L-1)`` branches (default: the backbone's).
        expansion, hidden, blocks, k, weight_hidden, weighting, node_kernels: see
            :class:`~facealign.models.scc.graph.GraphRelationHead`.
        guided: semantic-guided (paper) or self attention (Table 6 ablation).
        adjacency: the binary ``(K, K)`` mask ``M``; ``None`` leaves a placeholder until
            :meth:`set_adjacency` (``adjacency_fitted`` tells which).

    Shape: ``(B, 3, S, S)`` normalised images -> ``(B, K, 2)`` (x, y) in input pixels.
    """

    def __init__(
        self,
        backbone: ResNet,
        *,
        num_points: int,
        input_size: int,
        branch_channels: tuple[int, int] | None = None,
        expansion: int = 4,
        hidden: int = 128,
        blocks: int = 4,
        k: int = 3,
        weight_hidden: int | None = None,
        weighting: bool = True,
        guided: bool = True,
        node_kernels: tuple[int, int] = (1, 3),
        adjacency: np.ndarray | None = None,
    ) -> None:
        super().__init__(num_points=num_points, input_size=_check_size(input_size, "SCCModel"))
        self.backbone = backbone
        self.fusion = AttentionMultiScale(backbone.out_channels[-3:], branch_channels=branch_channels, guided=guided)
        side = self.input_size // int(backbone.strides[-1])
        self.head = GraphRelationHead(
            self.fusion.out_channels,
            self.num_points,
            feature_size=(side, side),
            expansion=expansion,
            hidden=hidden,
            blocks=blocks,
            k=k,
            weight_hidden=weight_hidden,
            weighting=weighting,
            node_kernels=node_kernels,
        )
        self.k = int(k)
        if adjacency is not None:
            self.set_adjacency(adjacency)

    def set_adjacency(self, mask: np.ndarray) -> None:
        """Install the data-driven ``(K, K)`` mask of :func:`~facealign.models.scc.adjacency.build_adjacency`
        (a buffer: it is saved and loaded with the state_dict)."""
        self.head.adjacency.set_mask(mask)

    def prepare_training(self, shapes: np.ndarray) -> None:
        """The trainer's set-up hook (:class:`facealign.engine.trainer.PreparesForTraining`): install the
        adjacency of the training shapes in crop pixels, ``build_adjacency(shapes, k=self.k)`` (Eq. 4).
        Shape: ``shapes (M, K, 2)``."""
        self.set_adjacency(build_adjacency(shapes, k=self.k))

    @property
    def adjacency(self) -> np.ndarray:
        """The binary ``(K, K)`` adjacency ``M`` in use (float32 0 / 1)."""
        return self.head.adjacency.mask.detach().cpu().numpy().copy()

    @property
    def adjacency_fitted(self) -> bool:
        """Whether :meth:`set_adjacency` installed a mask (False: the ring placeholder)."""
        return bool(self.head.adjacency.fitted)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_size, "SCCModel")
        feats = self.backbone(x)
        return offsets_to_pixels(self.head(self.fusion(feats[-3:])), self.input_size)


class FCRegressionModel(_RegressionModelBase):
    """The paper's baseline (Table 5, "Fully connected"): backbone, global average pooling, one fully
    connected layer to ``2 K`` numbers, read as ``(K, 2)`` (x, y) offsets (see :func:`offsets_to_pixels`).

    Shape: ``(B, 3, S, S)`` -> ``(B, K, 2)`` (x, y) in input pixels.
    """

    def __init__(self, backbone: ResNet, *, num_points: int, input_size: int) -> None:
        super().__init__(num_points=num_points, input_size=_check_size(input_size, "FCRegressionModel"))
        self.backbone = backbone
        self.fc = nn.Linear(int(backbone.out_channels[-1]), 2 * self.num_points)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_size, "FCRegressionModel")
        pooled = self.backbone(x)[-1].mean(dim=(2, 3))
        return offsets_to_pixels(self.fc(pooled).reshape(-1, self.num_points, 2), self.input_size)


# --- zoo entries ------------------------------------------------------------------------------------------

_REGRESSION_NOTE = (
    "coordinate regression: outputs (B, K, 2) input-crop pixels, decoding is the identity; the card's "
    "heatmap_size (= input_size, stride 1) and sigma are placeholders the card requires, not used"
)


def _card(name: str, *, input_size: int, description: str, shipped: bool = False, training_data: str = "") -> ModelCard:
    return model_card(
        name,
        num_points=68,
        input_size=input_size,
        heatmap_size=input_size,
        sigma=1.0,
        decoder="regression",
        output="regression",
        shipped=shipped,
        training_data=training_data
        or "none shipped (train on faces/train68.txt; install build_adjacency of the training shapes first)",
        licence=TEACHER68_LICENCE if shipped else None,
        description=f"{description}; {_REGRESSION_NOTE}",
    )


@register_model(
    _card(
        "scc_resnet34_68",
        input_size=PAPER_INPUT,
        description=(
            "SCC (Zhu, Lin et al.): ResNet-34 + attention-guided {F3, F4, F5} + graph relation network "
            "(n = 4, k = 3, 4 residual blocks of 128), 256 px; paper Table 4: 24.68 M params, 5.165 G"
        ),
    )
)
def scc_resnet34_68(
    *, pretrained: bool = False, num_points: int = 68, input_size: int = PAPER_INPUT, k: int = 3, **kwargs: Any
) -> SCCModel:
    """The paper's SCC model at its sizes (ResNet-34, 256 px), 68 points. ``kwargs`` go to :class:`SCCModel`."""
    model = SCCModel(resnet34(), num_points=num_points, input_size=input_size, k=k, **kwargs)
    return finish_model(model, "scc_resnet34_68", pretrained)


@register_model(
    _card(
        "scc_fc_resnet34_68",
        input_size=PAPER_INPUT,
        description="Table 5 baseline: ResNet-34 + global average pooling + FC to 2 K, 256 px",
    )
)
def scc_fc_resnet34_68(
    *, pretrained: bool = False, num_points: int = 68, input_size: int = PAPER_INPUT
) -> FCRegressionModel:
    """The paper's fully-connected regression baseline (Table 5), ResNet-34, 256 px, 68 points."""
    model = FCRegressionModel(resnet34(), num_points=num_points, input_size=input_size)
    return finish_model(model, "scc_fc_resnet34_68", pretrained)


#: Backbone width (stem channels; ResNet-18's 64 halved), branch channels ``(L-2, L-1)`` and graph width
#: of the CPU-sized SCC. A deviation from the paper's ResNet-34 for the 2-core CPU budget: 0.19 G
#: multiply-adds at 128 px (3.9 M parameters) instead of 5.3 G at 256 px.
CPU_WIDTH = 32
CPU_BRANCH_CHANNELS = (32, 64)
CPU_HIDDEN = 64
_CPU_TRAINING = f"{TEACHER68_DATA}; graph from the same training shapes"


@register_model(
    _card(
        "scc_cpu_68",
        input_size=CPU_INPUT,
        description=(
            f"CPU-sized SCC: ResNet-18 of width {CPU_WIDTH}, {CPU_INPUT} px, branches {CPU_BRANCH_CHANNELS}, "
            f"graph width {CPU_HIDDEN}, n = 4, k = 3, 4 residual blocks"
        ),
        shipped=True,
        training_data=_CPU_TRAINING,
    )
)
def scc_cpu_68(
    *,
    pretrained: bool = False,
    num_points: int = 68,
    input_size: int = CPU_INPUT,
    k: int = 3,
    width: int = CPU_WIDTH,
    branch_channels: tuple[int, int] = CPU_BRANCH_CHANNELS,
    hidden: int = CPU_HIDDEN,
    **kwargs: Any,
) -> SCCModel:
    """A CPU-sized SCC (ResNet-18 of width 32, 128 px, narrower branches and graph). ``kwargs`` go to
    :class:`SCCModel`."""
    model = SCCModel(
        resnet18(width=width),
        num_points=num_points,
        input_size=input_size,
        k=k,
        branch_channels=branch_channels,
        hidden=hidden,
        **kwargs,
    )
    return finish_model(model, "scc_cpu_68", pretrained)


@register_model(
    _card(
        "scc_fc_cpu_68",
        input_size=CPU_INPUT,
        description=(
            f"Table 5 baseline at CPU size: ResNet-18 of width {CPU_WIDTH} + global average pooling + FC to 2 K, "
            f"{CPU_INPUT} px (the same backbone as scc_cpu_68)"
        ),
        shipped=True,
        training_data=TEACHER68_DATA,
    )
)
def scc_fc_cpu_68(
    *, pretrained: bool = False, num_points: int = 68, input_size: int = CPU_INPUT, width: int = CPU_WIDTH
) -> FCRegressionModel:
    """The FC-regression baseline on scc_cpu_68's backbone (the paper's Table 5 first column, at our scale)."""
    model = FCRegressionModel(resnet18(width=width), num_points=num_points, input_size=input_size)
    return finish_model(model, "scc_fc_cpu_68", pretrained)
