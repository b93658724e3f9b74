"""The model registry: one flat name -> (constructor, :class:`ModelCard`) table (timm's ``@register_model``).

A family (one file or package under :mod:`facealign.models`) registers its named constructors with
:func:`register_model` and ends each with :func:`finish_model`, which loads the shipped weights
(``facealign/weights/<card.weights>``, read with ``weights_only=True``; nothing is ever downloaded) when
asked, and builds its cards with :func:`model_card`. Users call :func:`create_model`, :func:`get_model_card`,
:func:`list_models` and :func:`load_model`. The card strings every family shares (:data:`NO_WEIGHTS`,
:data:`FACES_LICENCE`, :data:`DLIB_LABELS`, :data:`TEACHER68_DATA`, :data:`TEACHER68_LICENCE`) live here once.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from ..card import ModelCard, weights_path
from ..engine.checkpoint import load_checkpoint, load_state_dict_file
from ..errors import CheckpointError
from ..tasks import TASKS

__all__ = [
    "DLIB_LABELS",
    "FACEALIGN_SIGMA",
    "FACES_LICENCE",
    "HARD_FACES_LICENCE",
    "NO_WEIGHTS",
    "TEACHER68_DATA",
    "TEACHER68_LICENCE",
    "MissingWeightsError",
    "build_model",
    "create_model",
    "create_model_and_card",
    "finish_model",
    "get_model_card",
    "list_models",
    "load_model",
    "load_pretrained",
    "model_card",
    "register_model",
]

#: The licence line of a card without shipped weights.
NO_WEIGHTS = "no weights shipped (architecture only)"
#: The licence of weights trained on ``../shared/data/faces``.
FACES_LICENCE = (
    "research use only: trained on ../shared/data/faces (CUHK CNN_FacePoint web photos and LFW/MTFL "
    "faces, each under its dataset's terms)"
)
#: Appended to :data:`FACES_LICENCE` for models trained on the dlib-teacher 68-point labels.
DLIB_LABELS = (
    "; the 68-point labels come from dlib's 300-W-trained shape predictor (300-W annotations: "
    "non-commercial research use)"
)

#: The licence of weights trained on every label source of issue 20 (``faces``, ``300w_human``, ``cfp_profile``).
HARD_FACES_LICENCE = (
    FACES_LICENCE + "; 300w_human (300-W's AFW and Helen annotations: non-commercial research use, 300-W's terms) and "
    "cfp_profile (CFP: research use only)" + DLIB_LABELS
)

#: Target Gaussian sigma (heatmap cells) of the families' CPU-sized models on 32 x 32 heatmaps (stride 4 on
#: 128 px crops): the heatmap family's ``facealign_*`` models and PropagationNet's CPU models.
FACEALIGN_SIGMA = 1.5
#: What the CPU-sized 68-point research models (HIH, PropagationNet, SCC) were trained on.
TEACHER68_DATA = "faces/train68.txt (68-point dlib teacher labels)"
#: The licence of weights trained on ``faces/train68.txt`` alone (its photos are all CUHK CNN_FacePoint's).
TEACHER68_LICENCE = (
    "research use only: trained on ../shared/data/faces (CUHK CNN_FacePoint web photos); the 68-point labels "
    "come from dlib's 300-W-trained shape predictor (300-W annotations: non-commercial research use)"
)


def model_card(
    name: str,
    *,
    num_points: int,
    input_size: int,
    heatmap_size: int,
    sigma: float,
    description: str,
    training_data: str,
    shipped: bool = False,
    licence: str | None = None,
    output: str = "heatmap",
    decoder: str = "dark",
    scheme: str | None = None,
) -> ModelCard:
    """The card every family registers its models with.

    ``shipped``: the weights are ``facealign/weights/<name>.pt`` and the licence defaults to
    :data:`FACES_LICENCE` + :data:`DLIB_LABELS`; otherwise there are no weights and the licence is
    :data:`NO_WEIGHTS` (``training_data`` then says what the paper trained on). ``scheme`` defaults to
    the scheme named by ``num_points`` (``"68"``, ``"98"``, ...). Other fields as :class:`ModelCard`.
    """
    return ModelCard(
        name=name,
        scheme=str(num_points) if scheme is None else scheme,
        num_points=int(num_points),
        input_size=int(input_size),
        heatmap_size=int(heatmap_size),
        sigma=float(sigma),
        decoder=decoder,
        output=output,
        weights=f"{name}.pt" if shipped else None,
        training_data=training_data,
        licence=licence if licence is not None else (FACES_LICENCE + DLIB_LABELS if shipped else NO_WEIGHTS),
        description=description,
    )


class MissingWeightsError(FileNotFoundError):
    """``pretrained=True`` for a model whose weights are not shipped in ``facealign/weights/``."""


Builder = Callable[..., nn.Module]
_F = TypeVar("_F", bound=Builder)
_M = TypeVar("_M", bound=nn.Module)
#: name -> (constructor, card as registered; its ``weights`` is the declared file name).
_REGISTRY: dict[str, tuple[Builder, ModelCard]] = {}

def register_model(card: ModelCard) -> Callable[[_F], _F]:
    """Decorator registering a constructor under ``card.name`` (which must equal the function's name).

    The constructor takes keyword arguments only, among them ``pretrained: bool``, ``num_points`` and
    ``input_size``, and returns a model whose ``num_points`` and ``heatmap_size`` attributes describe
    what it was built as. ``card.output`` must be an output kind of :data:`facealign.tasks.TASKS`.
    """
    if card.output not in TASKS:
        raise ValueError(f"register_model: {card.name}: output must be one of {tuple(TASKS)}, got {card.output!r}")

    def decorator(fn: _F) -> _F:
        if fn.__name__ != card.name:
            raise ValueError(f"register_model: function {fn.__name__!r} must be named like its card {card.name!r}")
        if card.name in _REGISTRY:
            raise ValueError(f"register_model: a model named {card.name!r} is already registered")
        _REGISTRY[card.name] = (fn, card)
        return fn

    return decorator


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted registered names, optionally filtered by a shell-style pattern (``"sertis_mnv2_025_*"``)."""
    names = sorted(_REGISTRY)
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def _lookup(name: str) -> tuple[Builder, ModelCard]:
    if name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f"; did you mean {close}?" if close else f"; registered: {list_models()}"
        raise ValueError(f"unknown model {name!r}{hint}")
    return _REGISTRY[name]


def get_model_card(name: str, **model_kwargs: object) -> ModelCard:
    """The card of a registered model.

    ``weights`` is the file name only when that file is present in ``facealign/weights/``. With
    ``model_kwargs`` (the same keyword arguments given to :func:`create_model`), the model is built
    once to read what those arguments change: ``num_points``, ``input_size`` and ``heatmap_size``.
    """
    fn, card = _lookup(name)
    if card.weights is not None and not weights_path(card.weights).is_file():
        card = replace(card, weights=None)
    return _built_card(card, fn(pretrained=False, **model_kwargs)) if model_kwargs else card


def _built_card(card: ModelCard, model: nn.Module) -> ModelCard:
    """``card`` with what a model built with other keyword arguments says it is."""
    return replace(
        card, num_points=int(model.num_points), input_size=int(model.input_size), heatmap_size=int(model.heatmap_size)
    )


def create_model_and_card(name: str, **model_kwargs: object) -> tuple[nn.Module, ModelCard]:
    """A registered model built once (untrained) and its card, which says what ``model_kwargs`` changed
    (:func:`get_model_card` with keyword arguments builds a model of its own to read them)."""
    model = create_model(name, **model_kwargs)
    card = get_model_card(name)
    return model, (_built_card(card, model) if model_kwargs else card)


def create_model(name: str, *, pretrained: bool = False, **kwargs: object) -> nn.Module:
    """Build a registered model; ``pretrained=True`` loads its shipped weights (never downloads).

    Raises ``ValueError`` for an unknown name and :class:`MissingWeightsError` when ``pretrained=True``
    but the model's weights are not shipped.
    """
    fn, _ = _lookup(name)
    return fn(pretrained=pretrained, **kwargs)


def load_pretrained(model: nn.Module, name: str) -> nn.Module:
    """Load ``facealign/weights/<card.weights>`` into ``model`` (strictly), naming the model in errors.

    The file holds a state_dict, or a trainer checkpoint dict whose ``"model"`` entry is one.
    """
    _, card = _lookup(name)
    if card.weights is None:
        raise MissingWeightsError(
            f"no pretrained weights are shipped for model {name!r} ({card.licence}); "
            "build it with pretrained=False and train it"
        )
    path = weights_path(card.weights)
    if not path.is_file():
        raise MissingWeightsError(
            f"pretrained weights for model {name!r} are not in this installation: expected {path}"
        )
    state = load_state_dict_file(path, what="weights")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise RuntimeError(
            f"weights {path.name} do not fit model {name!r} as built (were num_points / width / strategy / "
            f"filters changed?): {err}"
        ) from err
    return model


def finish_model(model: _M, name: str, pretrained: bool) -> _M:
    """The last line of every family's constructor: ``model`` with ``name``'s shipped weights loaded
    when ``pretrained`` (:func:`load_pretrained`), as built otherwise."""
    return load_pretrained(model, name) if pretrained else model


def build_model(
    cls: Callable[..., _M], name: str, pretrained: bool, defaults: Mapping[str, Any], kwargs: Mapping[str, Any]
) -> _M:
    """A family constructor's body: ``cls(**{**defaults, **kwargs})`` (the caller's keyword arguments over the
    registered model's defaults), then :func:`finish_model`."""
    return finish_model(cls(**{**defaults, **kwargs}), name, pretrained)


def load_model(model: str | os.PathLike[str]) -> tuple[ModelCard, nn.Module]:
    """The card and the network, in eval mode, of a registered name (with its shipped weights) or of a
    trainer checkpoint file (``.pt``: its ``model_name``, ``model_kwargs`` and weights). The file is read
    once (``weights_only=True``, :func:`facealign.engine.checkpoint.load_checkpoint`) and the network built
    once; a checkpoint's card is its model's card with what the built network says (:func:`get_model_card`).

    Raises ``FileNotFoundError`` for a missing file, :class:`~facealign.errors.CheckpointError` for a file
    that is refused, names no model or whose weights do not fit it, ``ValueError`` for an unknown name.
    """
    p = Path(model)
    if p.suffix != ".pt":
        name = str(model)
        return get_model_card(name), create_model(name, pretrained=True).eval()
    ckpt = load_checkpoint(p)  # "no such file" when missing; never runs code
    name = ckpt.get("model_name")
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"checkpoint {p}: does not say which model it holds (no 'model_name')")
    kwargs = dict(ckpt.get("model_kwargs", {}))
    net = create_model(name, **kwargs)
    card = get_model_card(name)
    if kwargs:
        card = _built_card(card, net)
    try:
        net.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise CheckpointError(f"checkpoint {p}: its weights do not fit model {name} ({' '.join(first[1:2]).strip() or first[0]})") from None
    return card, net.eval()
