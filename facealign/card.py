"""The model card (:class:`ModelCard`): what a landmark model needs at inference and what it is.

This module imports nothing heavy (no torch): the card travels inside every exported landmark-stage
graph as JSON in the ONNX metadata (:func:`card_to_json` / :func:`card_from_json`), so a
torch-free installation reads the scheme, input size, normalisation, description and licence of a
shipped model from its ``.onnx`` file. The registry of models that builds networks is
:mod:`facealign.models.registry`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

__all__ = [
    "DEFAULT_MODEL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelCard",
    "card_from_json",
    "card_to_json",
    "weights_path",
]

#: ImageNet RGB mean / std on the 0-255 scale (the backbones' pretraining statistics).
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

#: The model ``Aligner()`` and the CLI use when none is named.
DEFAULT_MODEL = "facealign_mnv2_050_68"


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to use a registered model.

    name: registry name; scheme: landmark scheme name (``"68"``, ``"5"``, ``"106"``); num_points: K;
    input_size: square input side (px) of the aligned crop; mean / std: RGB normalisation on the 0-255
    scale (``x = (rgb - mean) / std``); heatmap_size: square heatmap side (cells); sigma: Gaussian target
    sigma in heatmap cells; decoder: default heatmap decoder (a name of
    :data:`facealign.codecs.DECODER_NAMES`); output: what the network returns, an output kind of
    :data:`facealign.tasks.TASKS` (``"heatmap"``: ``(B, K, heatmap_size, heatmap_size)``; ``"bottomup"``:
    FoxNet's whole-photo outputs, not an Aligner crop model), checked when the model is registered
    (:func:`facealign.models.registry.register_model`): the kinds and what they mean are training side,
    and a card read from a graph needs no more than the landmark stage's fixed outputs; weights: file
    name in ``facealign/weights/`` when shipped with the package, else ``None``; training_data,
    licence, description: free text.
    """

    name: str
    scheme: str
    num_points: int
    input_size: int
    heatmap_size: int
    sigma: float
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    decoder: str = "dark"
    output: str = "heatmap"
    weights: str | None = None
    training_data: str = ""
    licence: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.input_size < 1 or self.heatmap_size < 1 or self.input_size % self.heatmap_size:
            raise ValueError(
                f"{self.name}: input_size ({self.input_size}) must be a positive multiple of "
                f"heatmap_size ({self.heatmap_size})"
            )
        if not self.sigma > 0:
            raise ValueError(f"{self.name}: sigma must be positive, got {self.sigma}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"{self.name}: mean / std must be 3 RGB values (std > 0), got {self.mean} / {self.std}")

    @property
    def stride(self) -> int:
        """Input pixels per heatmap cell: ``input_size // heatmap_size``."""
        return self.input_size // self.heatmap_size



def card_to_json(card: ModelCard) -> str:
    """The card as one JSON object (every field; tuples become lists)."""
    return json.dumps(asdict(card), sort_keys=True)


def card_from_json(text: str, *, source: str = "card") -> ModelCard:
    """The card written by :func:`card_to_json`; ``source`` names where the text came from in errors.

    Fields this version does not know are ignored (a newer writer); missing required ones are an error.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: the model card is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: the model card must be a JSON object, got {type(raw).__name__}")
    known = {f.name for f in fields(ModelCard)}
    kwargs = {k: v for k, v in raw.items() if k in known}
    for key in ("mean", "std"):
        if key in kwargs:
            kwargs[key] = tuple(float(v) for v in kwargs[key])
    try:
        return ModelCard(**kwargs)
    except TypeError as err:
        raise ValueError(f"{source}: incomplete model card ({err})") from None


def weights_path(filename: str) -> Path:
    """Path of a file inside the installed package's ``facealign/weights/`` folder (weights, graphs, cards)."""
    return Path(str(resources.files("facealign").joinpath("weights", filename)))
