"""WOV / WOM heads on HIH's network (Lan et al. Appendix B-C): shapes, backward, the parameters each head
adds or removes against hih_cpu_68, zoo entries and their tasks."""

from __future__ import annotations

import pytest
import torch

from facealign.landmarks import get_scheme
from facealign.models import create_model, get_model_card, model_info
from facealign.models.hih import HIHOffsetMapModel, HIHOffsetValueModel, OffsetMapOutput, OffsetValueOutput
from facealign.tasks import OffsetMapTask, OffsetValueTask, make_task

SMALL = dict(num_points=5, input_size=64, num_stacks=2, depth=2, channels=16, branch_channels=16)


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_cpu_entries_forward_shapes() -> None:
    wov, wom = create_model("hih_wov_cpu_68").eval(), create_model("hih_wom_cpu_68").eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        a, b = wov(x), wom(x)
    assert isinstance(a, OffsetValueOutput) and isinstance(b, OffsetMapOutput)
    assert a.integer.shape == b.integer.shape == (2, 1, 68, 32, 32)
    assert a.offsets.shape == (2, 68, 2)
    assert b.offset_maps.shape == (2, 1, 2, 32, 32)  # the paper's one shared pair O^x, O^y
    assert (wom.offset_groups, wom.heatmap_size, wom.stride) == (1, 32, 4.0) and not hasattr(wom, "decimal_size")
    per_point = create_model("hih_wom_cpu_68", per_point_maps=True).eval()
    with torch.no_grad():
        assert per_point(x).offset_maps.shape == (2, 68, 2, 32, 32)


@pytest.mark.parametrize("model", [HIHOffsetValueModel(decimal_size=2, **SMALL), HIHOffsetMapModel(per_point_maps=True, **SMALL)])
def test_backward_reaches_every_parameter(model: torch.nn.Module) -> None:
    out = model.train()(torch.randn(2, 3, 64, 64))
    assert out.integer.shape == (2, 2, 5, 16, 16)
    assert out[1].shape in ((2, 5, 2), (2, 5, 2, 16, 16))
    (out.integer.pow(2).mean() + out[1].pow(2).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_parameters_against_hih_cpu_68() -> None:
    hih, wov, wom = (create_model(n) for n in ("hih_cpu_68", "hih_wov_cpu_68", "hih_wom_cpu_68"))
    # WOV: HIH's last 1 x 1 conv 64 -> 68 (64 * 68 + 68 = 4,420) becomes an FC 64 * 4 * 4 -> 2 * 68
    # (1,024 * 136 + 136 = 139,400): 360,216 - 4,420 + 139,400 = 495,196
    assert _params(hih) == 360_216
    assert _params(wov) == _params(hih) - 4_420 + 139_400 == 495_196
    # WOM: no decimal branch; a 3 x 3 conv-BN-ReLU 64 -> 64 (36,864 + 128) and a 1 x 1 conv 64 -> 2 (130)
    assert _params(wom) == _params(hih.backbone) + 36_992 + 130 == 228_054
    # cost at 128 px: the 3 x 3 conv at 32 x 32 costs WOM 37.7 M multiply-adds more than HIH's branch saves
    gmacs = {n: model_info(m, 128).gmacs for n, m in (("hih", hih), ("wov", wov), ("wom", wom))}
    assert gmacs["wov"] == pytest.approx(gmacs["hih"], rel=0.01)
    assert gmacs["wom"] == pytest.approx(0.1383, abs=1e-3)


def test_zoo_cards_and_tasks() -> None:
    scheme = get_scheme("68")
    base = get_model_card("hih_cpu_68")
    for name, kind, task_type, loss in (
        ("hih_wov_cpu_68", "offset_value", OffsetValueTask, "wov"),
        ("hih_wom_cpu_68", "offset_map", OffsetMapTask, "wom"),
    ):
        card = get_model_card(name)
        assert card.output == kind and (card.input_size, card.heatmap_size, card.sigma) == (128, 32, base.sigma)
        assert (card.training_data, card.licence) == (base.training_data, base.licence)
        model = create_model(name)
        assert isinstance(make_task(card, model, scheme, loss=loss), task_type)
        with pytest.raises(ValueError, match=f"{name}: output kind '{kind}' trains with loss '{loss}'; got loss='hih'"):
            make_task(card, model, scheme, loss="hih")
    assert make_task(get_model_card("hih_wom_cpu_68"), create_model("hih_wom_cpu_68"), scheme).codec.shared_maps
    per_point = make_task(get_model_card("hih_wom_cpu_68"), create_model("hih_wom_cpu_68", per_point_maps=True), scheme)
    assert not per_point.codec.shared_maps


def test_errors() -> None:
    with pytest.raises(ValueError, match="input_size must be a positive multiple of 16"):
        HIHOffsetMapModel(**{**SMALL, "input_size": 72})
    with pytest.raises(ValueError, match="decimal_size must divide the heatmap size 16"):
        HIHOffsetValueModel(decimal_size=3, **SMALL)
