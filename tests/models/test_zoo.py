"""The model zoo: every registered model builds and runs; cards; pretrained loading; errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from facealign.codecs import DECODER_NAMES
from facealign.landmarks import get_scheme
from facealign.models import registry, zoo
from facealign.tasks import TASKS, make_task
from facealign.card import DEFAULT_MODEL, IMAGENET_MEAN, IMAGENET_STD, ModelCard
from facealign.models.registry import MissingWeightsError, create_model, get_model_card, list_models, register_model

#: Side used for the paper's 192 px models in the smoke test (a multiple of 32; keeps it fast).
SMOKE_SIDE = 64
TABLE3 = ["SSSS", "DSSS", "DDSS", "DSSD", "DSDS", "DDDS", "SSSD", "SDSD", "SSDD", "SDDD", "DDDD"]


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_and_runs(name: str) -> None:
    """Every entry builds as its card says, runs, and (top-down kinds) decodes through the task of its output kind."""
    card = get_model_card(name)
    model = create_model(name).eval()
    assert model.num_points == card.num_points
    assert model.stride == card.stride
    assert model.heatmap_size == card.heatmap_size
    fixed = card.output in ("hih", "regression") or card.input_size <= 128
    side = card.input_size if fixed else SMOKE_SIDE
    with torch.no_grad():
        out = model(torch.randn(1, 3, side, side))
    arrays = list(out) if isinstance(out, tuple) else [out]
    assert all(torch.isfinite(a).all() for a in arrays)
    if card.output == "bottomup":  # whole-photo segmentation + embeddings at the output stride
        assert out.segmentation.shape[-2:] == (side // model.stride,) * 2
        return
    hm = int(side / model.stride)
    if card.output == "heatmap":
        assert out.shape == (1, card.num_points, hm, hm)
    elif card.output == "hih":  # integer heatmaps of every stack + decimal maps
        assert out.integer.shape[-3:] == (card.num_points, hm, hm) and out.decimal.shape[:2] == (1, card.num_points)
    elif card.output == "offset_value":  # integer heatmaps of every stack + (B, K, 2) sub-cell offsets
        assert out.integer.shape[-3:] == (card.num_points, hm, hm) and out.offsets.shape == (1, card.num_points, 2)
    elif card.output == "offset_map":  # integer heatmaps of every stack + (B, G, 2, h, w) offset maps
        assert out.integer.shape[-3:] == (card.num_points, hm, hm) and out.offset_maps.shape[-3:] == (2, hm, hm)
    elif card.output == "propagation":  # every stack's landmark + boundary heatmaps
        assert out.heatmaps.shape[-3:] == (card.num_points, hm, hm) and out.boundaries.shape[-2:] == (hm, hm)
    else:  # regression: fixed input size; (B, K, 2) input-pixel coordinates
        assert out.shape == (1, card.num_points, 2)
    if side == card.input_size:
        coords, scores = make_task(card, model, get_scheme(card.scheme)).decode(out)
        assert coords.shape == (1, card.num_points, 2) and scores.shape == (1, card.num_points)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("facealign_mnv2_050_68", {}), ("sertis_mnv2_025_sdsd_106", {"num_points": 7, "filters": 16})],
)
def test_backward_reaches_every_parameter(name: str, kwargs: dict) -> None:
    model = create_model(name, **kwargs).train()
    side = 64
    out = model(torch.randn(2, 3, side, side))
    loss = (out - torch.rand_like(out)).pow(2).mean()
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
    assert any(p.grad.abs().sum() > 0 for p in model.backbone.parameters())


def test_registry_holds_the_paper_rows_and_our_models() -> None:
    names = list_models()
    assert list_models("sertis_mnv2_025_*") == sorted(f"sertis_mnv2_025_{s.lower()}_106" for s in TABLE3)
    assert list_models("sertis_mnv2_100_*") == [
        "sertis_mnv2_100_sdd_106",
        "sertis_mnv2_100_sddsd_106",
        "sertis_mnv2_100_ssd_106",
        "sertis_mnv2_100_sssd_106",
    ]
    assert {"sertis_resnet18_sdd_106", "sertis_resnet50_sdd_106", "facealign_mnv2_050_68", "facealign_mnv2_050_5"} <= set(names)
    assert DEFAULT_MODEL == "facealign_mnv2_050_68" and DEFAULT_MODEL in names
    assert list_models("nothing*") == []


@pytest.mark.parametrize("name", list_models())
def test_cards_are_complete(name: str) -> None:
    card = get_model_card(name)
    assert card.name == name
    assert card.mean == IMAGENET_MEAN and card.std == IMAGENET_STD
    if card.output in ("heatmap", "propagation"):
        assert card.decoder in DECODER_NAMES
    elif card.output == "regression":
        assert card.heatmap_size == card.input_size
    else:
        assert card.output in ("hih", "bottomup", "offset_value", "offset_map")
    assert card.input_size % card.heatmap_size == 0
    assert card.training_data and card.licence and card.description
    assert get_scheme(card.scheme).num_points == card.num_points
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.sigma = 3.0  # type: ignore[misc]


def test_default_and_paper_cards_hand_values() -> None:
    card = get_model_card(DEFAULT_MODEL)
    # 128 px input, stride-32 backbone -> 4 x 4, three 2x blocks (SDD) -> 32 x 32 heatmaps, stride 4
    assert (card.input_size, card.heatmap_size, card.stride, card.scheme, card.num_points) == (128, 32, 4, "68", 68)
    assert get_model_card("facealign_mnv2_050_5").num_points == 5
    # the paper's baseline: 192 px -> 96 x 96 heatmaps (Earp et al. Sec. 4.1)
    base = get_model_card("sertis_mnv2_025_dddd_106")
    assert (base.input_size, base.heatmap_size, base.weights) == (192, 96, None)
    assert get_model_card("sertis_mnv2_100_sdd_106").heatmap_size == 48  # 192 / 32 * 2**3
    assert get_model_card("sertis_mnv2_100_sddsd_106").heatmap_size == 192  # 192 / 32 * 2**5


def test_overrides_change_model_and_card_together() -> None:
    model = create_model("facealign_mnv2_050_68", num_points=5, input_size=160, strategy="SDDD", filters=32)
    assert model.num_points == 5 and model.stride == 2.0 and model.heatmap_size == 80
    card = get_model_card("facealign_mnv2_050_68", num_points=5, input_size=160, strategy="SDDD", filters=32)
    assert (card.num_points, card.input_size, card.heatmap_size) == (5, 160, 80)
    assert get_model_card("sertis_mnv2_025_dddd_106", num_points=68).num_points == 68
    with pytest.raises(TypeError, match="unexpected keyword argument 'depth'"):
        create_model("sertis_mnv2_025_dddd_106", depth=3)


def test_unknown_model_raises_with_suggestion() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'facealign_mnv2_050_69'; did you mean \['facealign_mnv2_050_68'"):
        create_model("facealign_mnv2_050_69")
    with pytest.raises(ValueError, match="unknown model 'zzz'; registered:"):
        get_model_card("zzz")


def test_pretrained_without_weights_names_the_model() -> None:
    with pytest.raises(MissingWeightsError, match="no pretrained weights are shipped for model 'sertis_mnv2_025_dddd_106'"):
        create_model("sertis_mnv2_025_dddd_106", pretrained=True)


def test_pretrained_loads_shipped_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(registry, "weights_path", lambda filename: tmp_path / filename)
    name = "facealign_mnv2_050_5"
    with pytest.raises(MissingWeightsError, match=f"pretrained weights for model '{name}' are not in this installation"):
        create_model(name, pretrained=True)
    assert get_model_card(name).weights is None  # declared, but not present

    trained = create_model(name)
    torch.save(trained.state_dict(), tmp_path / f"{name}.pt")
    assert get_model_card(name).weights == f"{name}.pt"
    loaded = create_model(name, pretrained=True)
    for key, value in trained.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key

    torch.save({"model": trained.state_dict(), "epoch": 3}, tmp_path / f"{name}.pt")  # trainer checkpoint
    assert torch.equal(create_model(name, pretrained=True).head.final_conv.weight, trained.head.final_conv.weight)

    with pytest.raises(RuntimeError, match=f"do not fit model '{name}' as built"):
        create_model(name, pretrained=True, num_points=7)


def test_register_model_checks_names() -> None:
    card = dataclasses.replace(get_model_card(DEFAULT_MODEL), weights=None)
    with pytest.raises(ValueError, match="already registered"):
        register_model(card)(zoo.facealign_mnv2_050_68)

    def other_name(**kwargs):  # pragma: no cover - never registered
        raise AssertionError

    with pytest.raises(ValueError, match="must be named like its card"):
        register_model(card)(other_name)
    # the output kind must be one the tasks know: the card's check, made where cards are registered
    assert {get_model_card(n).output for n in list_models()} <= set(TASKS)
    with pytest.raises(ValueError, match=r"register_model: x: output must be one of \('heatmap', 'regression', .*got 'maps'"):
        register_model(dataclasses.replace(card, name="x", output="maps"))


def test_model_card_validates() -> None:
    with pytest.raises(ValueError, match=r"input_size \(100\) must be a positive multiple of heatmap_size \(32\)"):
        ModelCard(name="x", scheme="68", num_points=68, input_size=100, heatmap_size=32, sigma=1.5)
    with pytest.raises(ValueError, match="sigma must be positive"):
        ModelCard(name="x", scheme="68", num_points=68, input_size=128, heatmap_size=32, sigma=0.0)


def test_create_model_and_card_builds_once_and_the_card_follows_the_kwargs(monkeypatch) -> None:
    built = []
    real = registry.create_model
    monkeypatch.setattr(registry, "create_model", lambda *a, **k: built.append(a) or real(*a, **k))
    model, card = registry.create_model_and_card("facealign_mnv2_050_68", num_points=5)
    assert len(built) == 1
    assert card.num_points == model.num_points == 5
    assert card.input_size == model.input_size and card.heatmap_size == model.heatmap_size
    plain_model, plain_card = registry.create_model_and_card("facealign_mnv2_050_68")
    assert plain_card == get_model_card("facealign_mnv2_050_68") and plain_model.num_points == 68
