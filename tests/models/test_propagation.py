"""PropagationNet: anti-aliased pooling, CoordConv, multi-view block and hourglass, the propagation
module, the network, its zoo entries and its size against the paper's Table 8."""

from __future__ import annotations

import pytest
import torch

from facealign.models.info import model_info
from facealign.models.propagation import (
    BlurPool2d,
    CoordConv2d,
    MaxBlurPool2d,
    MultiViewBlock,
    MultiViewHourglass,
    PropagationModule,
    PropagationNet,
    PropagationOutput,
    coordinate_channels,
    propnet_cpu_68,
    propnet_cpu_68_nolpm,
    propnet_wflw_98,
)
from facealign.models.registry import create_model, get_model_card, list_models


def _small(**kw: object) -> PropagationNet:
    args = dict(num_points=5, num_boundaries=3, num_stacks=2, channels=16, depth=2, input_size=32)
    args.update(kw)
    return PropagationNet(**args)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- blocks
@pytest.mark.parametrize("k", [2, 3, 5])
def test_blurpool_keeps_a_constant_image_and_its_kernel_sums_to_one(k: int) -> None:
    pool = BlurPool2d(3, kernel_size=k)
    assert pool.kernel.shape == (3, 1, k, k)
    assert torch.allclose(pool.kernel.sum(dim=(1, 2, 3)), torch.ones(3))
    assert not list(pool.parameters())  # a fixed buffer, not learned
    out = pool(torch.full((1, 3, 8, 8), 2.5))
    assert out.shape == (1, 3, 4, 4)
    assert torch.allclose(out, torch.full_like(out, 2.5))  # reflect padding: no darkened border


def test_blurpool_kernel_and_impulse_hand_worked() -> None:
    # k = 3: outer([1, 2, 1], [1, 2, 1]) / 16 -> centre 4/16, edges 2/16, corners 1/16
    blur = BlurPool2d(1, kernel_size=3, stride=1)
    expected = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
    assert torch.allclose(blur.kernel[0, 0], expected)
    impulse = torch.zeros(1, 1, 7, 7)
    impulse[0, 0, 3, 3] = 1.0
    out = blur(impulse)[0, 0]
    assert torch.allclose(out[2:5, 2:5], expected) and out.sum().item() == pytest.approx(1.0)
    assert torch.equal(out, out.flip(0)) and torch.equal(out, out.flip(1)) and torch.equal(out, out.T)
    # stride 2: output j covers input 2j - 1 .. 2j + 1; an impulse at (3, 3) reaches outputs 1 and 2 on
    # each axis with weight 1/4 (the filter's ends) -> four cells of 1/4 * 1/4 = 1/16
    out2 = BlurPool2d(1, kernel_size=3)(torch.nn.functional.pad(impulse, (0, 1, 0, 1)))[0, 0]
    assert out2.shape == (4, 4)
    assert torch.allclose(out2[1:3, 1:3], torch.full((2, 2), 1 / 16)) and out2.sum().item() == pytest.approx(0.25)


@pytest.mark.parametrize("k", [3, 5])
def test_max_blur_pool_commutes_with_a_horizontal_flip(k: int) -> None:
    # its output cell j is centred at input 2 j + 0.5 (the stride-2 pixel convention), a symmetric grid
    pool = MaxBlurPool2d(2, kernel_size=k)
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    out = pool(x)
    assert out.shape == (1, 2, 4, 4)
    assert torch.allclose(pool(x.flip(-1)), out.flip(-1), atol=1e-6)


def test_coordinate_channels_at_the_corners() -> None:
    xy = coordinate_channels(torch.zeros(2, 5, 3, 4))
    assert xy.shape == (2, 2, 3, 4)
    # x: -1 at the first column, +1 at the last: linspace(-1, 1, 4) = -1, -1/3, 1/3, 1 on every row
    assert xy[0, 0, 0].tolist() == pytest.approx([-1.0, -1 / 3, 1 / 3, 1.0])
    assert (xy[0, 0, 0, 0].item(), xy[0, 0, 2, 3].item()) == (-1.0, 1.0)
    # y: -1 at the top row, 0 in the middle, +1 at the bottom
    assert xy[1, 1, :, 0].tolist() == [-1.0, 0.0, 1.0]
    assert (xy[0, 1, 0, 3].item(), xy[0, 1, 2, 0].item()) == (-1.0, 1.0)


def test_coordconv_sees_the_coordinates() -> None:
    conv = CoordConv2d(3, 1, 1, bias=False)
    assert conv.conv.in_channels == 5
    with torch.no_grad():
        conv.conv.weight.zero_()
        conv.conv.weight[0, 3] = 1.0  # pick the x channel (after the 3 image channels)
    out = conv(torch.randn(1, 3, 2, 3))
    assert out[0, 0].tolist() == [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3, H, W\)"):
        conv(torch.zeros(1, 4, 2, 2))


def test_multiview_block_channels() -> None:
    block = MultiViewBlock(8, 16)
    # chain 8 -> 8 -> 4 -> 4 (out / 2, out / 4, out / 4), concatenated to 16; 1 x 1 shortcut 8 -> 16
    assert [block.conv1[2].out_channels, block.conv2[2].out_channels, block.conv3[2].out_channels] == [8, 4, 4]
    assert block(torch.randn(2, 8, 5, 5)).shape == (2, 16, 5, 5)
    same = MultiViewBlock(16, 16)
    assert isinstance(same.shortcut, torch.nn.Identity)
    with pytest.raises(ValueError, match="multiple of 4, got 10"):
        MultiViewBlock(8, 10)


def test_multiview_hourglass_keeps_the_shape() -> None:
    hg = MultiViewHourglass(3, 8)
    assert sum(isinstance(m, MultiViewBlock) for m in hg.modules()) == 10  # 3 per level + 1 at the bottom
    assert sum(isinstance(m, MaxBlurPool2d) for m in hg.modules()) == 3
    assert hg(torch.randn(1, 8, 16, 16)).shape == (1, 8, 16, 16)


def test_propagation_module_attention_in_unit_interval() -> None:
    lpm = PropagationModule(channels=16, num_points=5, num_boundaries=3)
    feats, heat = torch.randn(2, 16, 8, 8), torch.randn(2, 5, 8, 8)
    res = lpm(feats, heat)
    assert res.boundaries.shape == (2, 3, 8, 8) and res.attended.shape == (2, 16, 8, 8)
    att = lpm.attention_map(feats, res.boundaries)
    assert att.shape == (2, 16, 8, 8) and bool(((att > 0) & (att < 1)).all())
    assert torch.allclose(res.attended, feats * att)
    kernels = [m.kernel_size for m in lpm.propagate if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(7, 7)] * 3  # "a set of several 7 x 7 convolution operations"
    last = PropagationModule(channels=16, num_points=5, num_boundaries=3, attention=False)
    assert last(feats, heat).attended is None
    with pytest.raises(RuntimeError, match="attention=False"):
        last.attention_map(feats, res.boundaries)
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(B, 5, 8, 8\)"):
        lpm(feats, torch.randn(2, 4, 8, 8))


# ---------------------------------------------------------------------------------------- network
def test_small_network_backward_reaches_every_parameter() -> None:
    model = _small().train()
    out = model(torch.randn(2, 3, 32, 32))
    assert isinstance(out, PropagationOutput)
    assert out.heatmaps.shape == (2, 2, 5, 8, 8) and out.boundaries.shape == (2, 2, 3, 8, 8)  # 32 / 4 = 8
    (out.heatmaps.pow(2).mean() + out.boundaries.pow(2).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_smallest_input_reaches_a_one_cell_bottom() -> None:
    # input 16 = 4 * 2**2: 4 x 4 heatmaps, the hourglass bottom is 1 x 1 (too short to reflect-pad: the
    # blur replicates it, and a constant stays constant)
    with torch.no_grad():
        out = _small(input_size=16).eval()(torch.randn(1, 3, 16, 16))
    assert out.heatmaps.shape == (1, 2, 5, 4, 4) and torch.isfinite(out.heatmaps).all()
    assert BlurPool2d(2)(torch.full((1, 2, 1, 1), 3.0)).tolist() == [[[[3.0]], [[3.0]]]]


def test_without_lpm_there_are_no_boundaries() -> None:
    model = _small(use_lpm=False).eval()
    assert model.num_boundaries == 0 and len(model.propagation) == 0
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32))
    assert out.heatmaps.shape == (1, 2, 5, 8, 8) and out.boundaries.shape == (1, 2, 0, 8, 8)


@pytest.mark.parametrize("builder", [propnet_cpu_68, propnet_cpu_68_nolpm])
def test_cpu_models_forward_and_backward(builder) -> None:
    model = builder().train()
    assert (model.num_points, model.input_size, model.heatmap_size, model.stride) == (68, 128, 32, 4.0)
    out = model(torch.randn(2, 3, 128, 128))
    m = 13 if model.use_lpm else 0  # the 68 scheme's 13 boundaries
    assert out.heatmaps.shape == (2, 2, 68, 32, 32) and out.boundaries.shape == (2, 2, m, 32, 32)
    (out.heatmaps.pow(2).mean() + out.boundaries.pow(2).sum()).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_zoo_entries_and_cards() -> None:
    assert {"propnet_wflw_98", "propnet_cpu_68", "propnet_cpu_68_nolpm"} <= set(list_models())
    card = get_model_card("propnet_wflw_98")
    assert (card.scheme, card.num_points, card.input_size, card.heatmap_size, card.decoder) == ("98", 98, 256, 64, "quarter")
    assert card.weights is None
    cpu = get_model_card("propnet_cpu_68")
    assert (cpu.scheme, cpu.num_points, cpu.input_size, cpu.heatmap_size) == ("68", 68, 128, 32)
    model = create_model("propnet_cpu_68", num_points=5, num_boundaries=2)
    assert model.num_points == 5 and model.num_boundaries == 2


def test_cpu_model_sizes() -> None:
    # 0.96 M parameters / 0.50 G multiply-adds with the module; 0.62 M / 0.29 G without (128 px)
    with_lpm = model_info(propnet_cpu_68(), 128)
    without = model_info(propnet_cpu_68_nolpm(), 128)
    assert with_lpm.params == 959_386 and without.params == 621_944
    assert with_lpm.gmacs == pytest.approx(0.502, abs=0.001) and without.gmacs == pytest.approx(0.290, abs=0.001)


def test_paper_model_against_table_eight() -> None:
    # Table 8: 36.30 M parameters, 42.83 G (multiply-adds). Ours: 34.47 M (-5.0 %) and 44.41 G (+3.7 %);
    # without the module 23.88 M, next to AWing's 24.15 M (a 4-stack FAN like ours). One 256 px forward.
    model = propnet_wflw_98()
    assert model.num_boundaries == 15 and model.heatmap_size == 64
    assert sum(p.numel() for p in model.parameters()) == 34_470_056
    assert sum(p.numel() for p in propnet_wflw_98(use_lpm=False).parameters()) == 23_880_776
    info = model_info(model, 256)
    assert info.gmacs == pytest.approx(44.41, abs=0.01)
    assert info.gmacs == pytest.approx(42.83, rel=0.05) and info.params / 1e6 == pytest.approx(36.30, rel=0.06)


def test_errors() -> None:
    with pytest.raises(ValueError, match="input_size must be a positive multiple of 16"):
        _small(input_size=40)
    with pytest.raises(ValueError, match="channels must be a positive multiple of 16, got 24"):
        _small(channels=24)
    with pytest.raises(ValueError, match="num_boundaries must be >= 1 with use_lpm=True"):
        _small(num_boundaries=0)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3, H, W\)"):
        _small()(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="multiples of 16"):
        _small()(torch.randn(1, 3, 40, 40))
    with pytest.raises(ValueError, match=r"kernel_size must be one of \[1, 2, 3, 4, 5\], got 7"):
        BlurPool2d(4, kernel_size=7)
