"""HIH network: stacked hourglass + integer heatmaps per stack + decimal (offset) branch; zoo entries;
size and cost against the paper's Table I."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facealign.models.backbones.hourglass import Residual, StackedHourglass
from facealign.models.info import model_info
from facealign.models.registry import create_model, get_model_card, list_models


def _hih():
    """``facealign.models.hih``, imported when a test runs, not at collection: importing it registers the
    HIH models, and tests/models/test_zoo.py parametrizes over ``list_models()`` at collection with
    checks for heatmap-only models (``output == "heatmap"``, schemes 5 / 68 / 106). Once
    ``facealign.models`` imports ``hih`` and test_zoo handles ``output == "hih"``, this can be a plain
    module-level import."""
    from facealign.models import hih

    return hih


def _small(**kw: object):
    args = dict(num_points=5, input_size=64, decimal_size=2, num_stacks=2, depth=2, channels=16, branch_channels=16)
    args.update(kw)
    return _hih().HIHModel(**args)


def test_cpu_config_forward_shapes() -> None:
    model = _hih().hih_cpu_68().eval()
    assert (model.input_size, model.heatmap_size, model.decimal_size, model.stride) == (128, 32, 4, 4.0)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 128, 128))
    assert isinstance(out, _hih().HIHOutput)
    assert out.integer.shape == (1, 1, 68, 32, 32)  # (B, S, K, h, w)
    assert out.decimal.shape == (1, 68, 4, 4)  # 32 -> max-pool 16 -> stride-2 blocks 8, 4 (r = 8)
    assert torch.isfinite(out.integer).all() and torch.isfinite(out.decimal).all()


def test_small_config_backward_reaches_every_parameter() -> None:
    model = _small().train()
    out = model(torch.randn(2, 3, 64, 64))
    assert out.integer.shape == (2, 2, 5, 16, 16)  # 64 / 4 = 16; two stacks
    assert out.decimal.shape == (2, 5, 2, 2)  # 16 -> max-pool 8 -> stride-2 blocks 4, 2 (r = 8)
    loss = out.integer.pow(2).mean() + out.decimal.pow(2).mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_one_stack_forward_and_backbone_output() -> None:
    model = _small(num_stacks=1, decimal_size=4).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
        feats = model.backbone(torch.randn(1, 3, 64, 64))
    assert out.integer.shape == (1, 1, 5, 16, 16) and out.decimal.shape == (1, 5, 4, 4)
    assert len(feats.features) == len(feats.heatmaps) == len(feats.fused) == 1
    assert feats.features[0].shape == (1, 16, 16, 16) and feats.heatmaps[0].shape == (1, 5, 16, 16)


def _authors_unused_skip_params(model: nn.Module) -> int:
    """The authors' Residual builds its 1 x 1 conv-BN shortcut even when in == out and never uses it;
    their parameter counts include it: c * c weights + 2 c BN parameters per such module."""
    total = 0
    for m in model.modules():
        if isinstance(m, Residual) and isinstance(m.skip, nn.Identity):
            c = m.body[0][0].in_channels
            total += c * c + 2 * c
    return total


@pytest.mark.parametrize(("name", "paper_m"), [("HIH_T", 10.37), ("HIH_S", 14.47), ("HIH_B", 22.68)])
def test_parameters_match_table_one(name: str, paper_m: float) -> None:
    model = getattr(_hih(), name)()
    params = sum(p.numel() for p in model.parameters())
    # ours: 9.42 M / 12.60 M / 18.96 M; + 14 unused 256-channel shortcuts per stack (14 * 66,048 = 0.925 M)
    # + one 128-channel one in the stem (16,640) gives 10.366 / 14.470 / 22.677 M = Table I to 0.01 M.
    assert (params + _authors_unused_skip_params(model)) / 1e6 == pytest.approx(paper_m, abs=0.01)
    assert params / 1e6 < paper_m - 0.9


def test_hih_t_cost_matches_table_one() -> None:
    # Table I: 6.99 G for HIH_T at 256 px; ours 6.919 G multiply-adds (1.0% under; BN / ReLU / pooling are
    # not counted), 13.84 G at 2 FLOPs per multiply-add: Table I's "Flops" are multiply-adds.
    info = model_info(_hih().HIH_T(), 256)
    assert info.gmacs == pytest.approx(6.99, rel=0.015)
    assert info.gflops == pytest.approx(2 * info.gmacs)


def test_zoo_entries() -> None:
    hih = _hih()
    assert {"HIH_T", "HIH_S", "HIH_B", "hih_cpu_68"} <= set(list_models())
    card = get_model_card("HIH_B")
    assert (card.input_size, card.heatmap_size, card.num_points, card.output) == (256, 64, 98, "hih")
    assert get_model_card("hih_cpu_68").output == "hih"
    model = create_model("hih_cpu_68", num_points=5)
    assert isinstance(model, hih.HIHModel)
    assert model.num_points == 5 and model.heatmap_size == 32


def test_errors() -> None:
    with pytest.raises(ValueError, match="input_size must be a positive multiple of 16"):
        _small(input_size=72)
    with pytest.raises(ValueError, match="decimal_size must divide the heatmap size 16"):
        _small(decimal_size=3)
    with pytest.raises(ValueError, match="power of two >= 2, got 1"):
        _small(decimal_size=16)
    with pytest.raises(ValueError, match="multiples of 16"):
        _small()(torch.randn(1, 3, 72, 72))
    with pytest.raises(ValueError, match=r"shape \(B, 3, H, W\)"):
        StackedHourglass(num_points=3, depth=1, channels=8)(torch.randn(1, 1, 8, 8))
