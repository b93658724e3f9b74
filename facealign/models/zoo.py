"""The heatmap family (backbone + upsampling head -> heatmaps, Earp et al.): named constructors registered in
the model registry (:mod:`facealign.models.registry`, timm's ``@register_model``), each with a
:class:`~facealign.card.ModelCard` (input size, mean / std, landmark scheme, heatmap size and sigma,
decoder, weights, training data, licence)::

    >>> from facealign.models import create_model, get_model_card, list_models
    >>> card = get_model_card("facealign_mnv2_050_68")
    >>> model = create_model("facealign_mnv2_050_68", pretrained=card.weights is not None)

Two groups are registered:

* ``sertis_*``: the configurations of Earp et al. ("Sub-pixel face landmarks using heatmaps and a bag
  of tricks"), at the paper's sizes, 106 points, architecture only (no weights are published):
  Tables 2/3 (MobileNetV2-0.25, 192 px, 256 filters, eleven S/D strategies), Table 4
  (MobileNetV2-1.0 with SSD / SDD / SSSD / SDDSD) and Tables 5/6 (ResNet-18 / ResNet-50 with SDD).
  The paper does not give Table 4's or Table 5's input size or filter count: we use the 192 px
  baseline input and 128 filters (Sec. 4.2 "Upsampling filters" moves to 128; with 192 px and 128
  filters our FLOPs match Table 4's SSD / SDD / SSSD and Table 6's ResNet-50 within 0.05 G).
* ``facealign_*``: CPU-sized models we train and ship (MobileNetV2-0.5, 128 px, SDD, 64 filters).

Pretrained weights are read from ``facealign/weights/<file>`` inside the package; nothing is ever
downloaded.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..card import ModelCard
from .backbones import MobileNetV2, resnet18, resnet50
from .heads import UpsampleHead
from .heatmap_model import HeatmapModel
from .registry import FACEALIGN_SIGMA, HARD_FACES_LICENCE, finish_model, get_model_card, model_card, register_model

__all__ = [
    "facealign_mnv2_050_5",
    "facealign_mnv2_050_68",
]

#: Output stride of every registered backbone's last feature map.
BACKBONE_STRIDE = 32
#: Input side of the paper's models (Earp et al. Sec. 4.1: 192 x 192 x 3).
PAPER_INPUT = 192
#: Filters of the paper's baseline and Table 2/3 heads (Sec. 4.1: "all with 256 filters").
PAPER_FILTERS = 256
#: Filters of the paper's later heads (Sec. 4.2 "Upsampling filters": 128 lose nothing).
PAPER_REDUCED_FILTERS = 128
#: The paper's landmark count (JD-landmark, 106 points).
PAPER_POINTS = 106
#: Target Gaussian sigma in heatmap cells for the paper's models: the paper does not state it; 2 is
#: the Simple Baselines / GluonCV default the paper built on.
PAPER_SIGMA = 2.0

_PAPER_DATA = "none shipped (the paper trained on JD-landmark-2 minus the JD-landmark test images)"

def _heatmap_model(
    name: str,
    backbone: nn.Module,
    *,
    strategy: str,
    pretrained: bool,
    num_points: int | None = None,
    input_size: int | None = None,
    filters: int,
    heatmap_conv: str = "end",
) -> HeatmapModel:
    """Backbone + :class:`UpsampleHead` on its last feature map; ``num_points`` / ``input_size`` default
    to ``name``'s card; ``pretrained`` loads the shipped weights."""
    card = get_model_card(name)
    head = UpsampleHead(
        backbone.out_channels[-1],
        card.num_points if num_points is None else int(num_points),
        strategy=strategy,
        filters=filters,
        heatmap_conv=heatmap_conv,
    )
    model = HeatmapModel(backbone, head, input_size=card.input_size if input_size is None else int(input_size))
    return finish_model(model, name, pretrained)


def _heatmap_side(input_size: int, strategy: str) -> int:
    """Heatmap side of a stride-32 backbone followed by ``len(strategy)`` 2x blocks."""
    return input_size // BACKBONE_STRIDE * 2 ** len(strategy)


def _paper_card(name: str, *, backbone: str, strategy: str, filters: int, source: str) -> ModelCard:
    return model_card(
        name,
        num_points=PAPER_POINTS,
        input_size=PAPER_INPUT,
        heatmap_size=_heatmap_side(PAPER_INPUT, strategy),
        sigma=PAPER_SIGMA,
        training_data=_PAPER_DATA,
        description=f"{backbone} + {strategy} ({filters} filters), {PAPER_INPUT} px; Earp et al. 2021 {source}",
    )


# --- Earp et al. Tables 1-3: MobileNetV2-0.25, 192 px, 256 filters, four blocks -> 96 x 96 heatmaps -------
# Keyword arguments of these builders: num_points, input_size, filters (default 256) and, for SSSS,
# heatmap_conv (see UpsampleHead).


def _t3(strategy: str, paper: str) -> ModelCard:
    return _paper_card(
        f"sertis_mnv2_025_{strategy.lower()}_106",
        backbone="MobileNetV2-0.25",
        strategy=strategy,
        filters=PAPER_FILTERS,
        source=f"Table 3 ({paper})",
    )


def _mnv2_025(name: str, strategy: str, pretrained: bool, kwargs: dict[str, Any]) -> HeatmapModel:
    kwargs.setdefault("filters", PAPER_FILTERS)
    return _heatmap_model(name, MobileNetV2(width=0.25), strategy=strategy, pretrained=pretrained, **kwargs)


@register_model(_t3("SSSS", "0.56 GFLOPS, 6.12 MB, AUC 79.18; also Table 2"))
def sertis_mnv2_025_ssss_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + SSSS, four pixel-shuffle blocks (Earp et al. Tables 2-3)."""
    return _mnv2_025("sertis_mnv2_025_ssss_106", "SSSS", pretrained, kwargs)


@register_model(_t3("DSSS", "0.64 GFLOPS, 9.56 MB, AUC 80.72"))
def sertis_mnv2_025_dsss_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + DSSS (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_dsss_106", "DSSS", pretrained, kwargs)


@register_model(_t3("DDSS", "0.96 GFLOPS, 12.00 MB, AUC 80.66"))
def sertis_mnv2_025_ddss_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + DDSS (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_ddss_106", "DDSS", pretrained, kwargs)


@register_model(_t3("DSSD", "1.10 GFLOPS, 10.08 MB, AUC 81.55"))
def sertis_mnv2_025_dssd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + DSSD (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_dssd_106", "DSSD", pretrained, kwargs)


@register_model(_t3("DSDS", "1.73 GFLOPS, 11.69 MB, AUC 80.92"))
def sertis_mnv2_025_dsds_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + DSDS (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_dsds_106", "DSDS", pretrained, kwargs)


@register_model(_t3("DDDS", "2.25 GFLOPS, 16.44 MB, AUC 80.81"))
def sertis_mnv2_025_ddds_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + DDDS (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_ddds_106", "DDDS", pretrained, kwargs)


@register_model(_t3("SSSD", "1.02 GFLOPS, 6.64 MB, AUC 81.71"))
def sertis_mnv2_025_sssd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + SSSD (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_sssd_106", "SSSD", pretrained, kwargs)


@register_model(_t3("SDSD", "1.29 GFLOPS, 8.76 MB, AUC 81.90"))
def sertis_mnv2_025_sdsd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + SDSD (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_sdsd_106", "SDSD", pretrained, kwargs)


@register_model(_t3("SSDD", "2.90 GFLOPS, 10.08 MB, AUC 81.10"))
def sertis_mnv2_025_ssdd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + SSDD (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_ssdd_106", "SSDD", pretrained, kwargs)


@register_model(_t3("SDDD", "3.36 GFLOPS, 13.51 MB, AUC 81.89"))
def sertis_mnv2_025_sddd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + SDDD (Earp et al. Table 3)."""
    return _mnv2_025("sertis_mnv2_025_sddd_106", "SDDD", pretrained, kwargs)


@register_model(_t3("DDDD", "3.50 GFLOPS, 18.26 MB, AUC 82.20; the Sec. 4.1 baseline"))
def sertis_mnv2_025_dddd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-0.25 + DDDD, the paper's baseline of four deconvolutions (Earp et al. Sec. 4.1)."""
    return _mnv2_025("sertis_mnv2_025_dddd_106", "DDDD", pretrained, kwargs)


# --- Earp et al. Table 4: MobileNetV2-1.0, 128 filters; 192 px assumed (the paper does not say) -----------


def _t4(strategy: str, paper: str) -> ModelCard:
    return _paper_card(
        f"sertis_mnv2_100_{strategy.lower()}_106",
        backbone="MobileNetV2-1.0",
        strategy=strategy,
        filters=PAPER_REDUCED_FILTERS,
        source=f"Table 4 ({paper}; 192 px / 128 filters assumed)",
    )


def _mnv2_100(name: str, strategy: str, pretrained: bool, kwargs: dict[str, Any]) -> HeatmapModel:
    kwargs.setdefault("filters", PAPER_REDUCED_FILTERS)
    return _heatmap_model(name, MobileNetV2(width=1.0), strategy=strategy, pretrained=pretrained, **kwargs)


@register_model(_t4("SSD", "0.32 GFLOPS, AUC 84.56"))
def sertis_mnv2_100_ssd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-1.0 + SSD (Earp et al. Table 4)."""
    return _mnv2_100("sertis_mnv2_100_ssd_106", "SSD", pretrained, kwargs)


@register_model(_t4("SDD", "0.43 GFLOPS, AUC 84.67; final mobile model, 12.16 MB"))
def sertis_mnv2_100_sdd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-1.0 + SDD, the paper's final mobile model (Earp et al. Tables 4-6)."""
    return _mnv2_100("sertis_mnv2_100_sdd_106", "SDD", pretrained, kwargs)


@register_model(_t4("SSSD", "0.55 GFLOPS, AUC 84.43"))
def sertis_mnv2_100_sssd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-1.0 + SSSD (Earp et al. Table 4)."""
    return _mnv2_100("sertis_mnv2_100_sssd_106", "SSSD", pretrained, kwargs)


@register_model(_t4("SDDSD", "0.61 GFLOPS, AUC 84.46"))
def sertis_mnv2_100_sddsd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """MobileNetV2-1.0 + SDDSD: five blocks, stride-1 heatmaps (Earp et al. Table 4). At 192 px and 128
    filters this costs 1.8 G multiply-adds against the paper's 0.61: the paper's row must have used an
    input size or filter count it does not state."""
    return _mnv2_100("sertis_mnv2_100_sddsd_106", "SDDSD", pretrained, kwargs)


# --- Earp et al. Tables 5 / 6: ResNet backbones + SDD, 128 filters; 192 px assumed -----------------------


def _t56(depth: int, paper: str) -> ModelCard:
    return _paper_card(
        f"sertis_resnet{depth}_sdd_106",
        backbone=f"ResNet-{depth}",
        strategy="SDD",
        filters=PAPER_REDUCED_FILTERS,
        source=f"Tables 5-6 ({paper}; 192 px / 128 filters assumed)",
    )


@register_model(_t56(18, "1.13 GFLOPS, 45.56 MB, AUC 86.87 on JD-landmark test"))
def sertis_resnet18_sdd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """ResNet-18 + SDD (Earp et al. Tables 5-6)."""
    kwargs.setdefault("filters", PAPER_REDUCED_FILTERS)
    return _heatmap_model("sertis_resnet18_sdd_106", resnet18(), strategy="SDD", pretrained=pretrained, **kwargs)


@register_model(_t56(50, "3.23 GFLOPS, 94.10 MB, AUC 87.06 on JD-landmark test"))
def sertis_resnet50_sdd_106(*, pretrained: bool = False, **kwargs: Any) -> HeatmapModel:
    """ResNet-50 + SDD (Earp et al. Tables 5-6)."""
    kwargs.setdefault("filters", PAPER_REDUCED_FILTERS)
    return _heatmap_model("sertis_resnet50_sdd_106", resnet50(), strategy="SDD", pretrained=pretrained, **kwargs)


# --- Our CPU-sized models ---------------------------------------------------------------------------------
# MobileNetV2-0.5 on 128 px aligned crops: backbone stride 32 -> 4 x 4, SDD (three 2x blocks) -> 32 x 32
# heatmaps, stride 4; 64 filters (S blocks output 16 channels, D blocks 64). Every choice is an argument.

FACEALIGN_WIDTH = 0.5
FACEALIGN_INPUT = 128
FACEALIGN_STRATEGY = "SDD"
FACEALIGN_FILTERS = 64


def _facealign_card(name: str, *, num_points: int, training_data: str) -> ModelCard:
    heatmap = _heatmap_side(FACEALIGN_INPUT, FACEALIGN_STRATEGY)
    return model_card(
        name,
        num_points=num_points,
        input_size=FACEALIGN_INPUT,
        heatmap_size=heatmap,
        sigma=FACEALIGN_SIGMA,
        shipped=True,
        training_data=training_data,
        licence=HARD_FACES_LICENCE,
        description=(
            f"MobileNetV2-{FACEALIGN_WIDTH} + {FACEALIGN_STRATEGY} head ({FACEALIGN_FILTERS} filters), "
            f"{FACEALIGN_INPUT} px 5-point-aligned crops -> {heatmap} px heatmaps; {num_points} points"
        ),
    )


@register_model(
    _facealign_card(
        "facealign_mnv2_050_68",
        num_points=68,
        training_data=(
            "faces/train68.txt (68-point dlib teacher labels) + faces/train5.txt (human 5-point labels) + 300w_human "
            "(people's 68 points) + cfp_profile (the CFP profile points with a 68-point counterpart); the run and its "
            "starting weights: facealign/weights/facealign_mnv2_050_68.md"
        ),
    )
)
def facealign_mnv2_050_68(
    *,
    pretrained: bool = False,
    num_points: int | None = None,
    width: float = FACEALIGN_WIDTH,
    input_size: int = FACEALIGN_INPUT,
    strategy: str = FACEALIGN_STRATEGY,
    filters: int = FACEALIGN_FILTERS,
) -> HeatmapModel:
    """The default model: 68 points (iBUG 300-W scheme), MobileNetV2-0.5 + SDD, 128 px -> 32 x 32 heatmaps."""
    return _heatmap_model(
        "facealign_mnv2_050_68",
        MobileNetV2(width=width),
        strategy=strategy,
        pretrained=pretrained,
        num_points=num_points,
        input_size=input_size,
        filters=filters,
    )


@register_model(
    _facealign_card(
        "facealign_mnv2_050_5",
        num_points=5,
        training_data=(
            "faces/train5.txt (human 5-point labels) + the 5 points of 300w_human's people's 68 + cfp_profile's visible "
            "eye centre, nose tip and mouth corner, from weights that saw faces/train68.txt's dlib teacher labels; the "
            "run and its starting weights: facealign/weights/facealign_mnv2_050_5.md"
        ),
    )
)
def facealign_mnv2_050_5(
    *,
    pretrained: bool = False,
    num_points: int | None = None,
    width: float = FACEALIGN_WIDTH,
    input_size: int = FACEALIGN_INPUT,
    strategy: str = FACEALIGN_STRATEGY,
    filters: int = FACEALIGN_FILTERS,
) -> HeatmapModel:
    """5 points (eye centres, nose tip, mouth corners), MobileNetV2-0.5 + SDD, 128 px -> 32 x 32 heatmaps."""
    return _heatmap_model(
        "facealign_mnv2_050_5",
        MobileNetV2(width=width),
        strategy=strategy,
        pretrained=pretrained,
        num_points=num_points,
        input_size=input_size,
        filters=filters,
    )
