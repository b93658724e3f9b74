"""FoxNet: Fox Block values, the Fox hourglass, the network's outputs, zoo entries and their cost."""

from __future__ import annotations

import pytest
import torch

from facealign.models import foxnet
from facealign.models.foxnet import FoxBlock, FoxHourglass, FoxNet, FoxNetOutput
from facealign.models.info import model_info
from facealign.models.registry import create_model, get_model_card


def _small(**kw: object) -> FoxNet:
    args = dict(num_points=5, input_size=32, embedding_dim=3, backbone="resnet18", backbone_blocks=1, channels=8, depth=2)
    args.update(kw)
    return FoxNet(**args)


def test_fox_block_pools_count_only_real_cells() -> None:
    block = FoxBlock(1)
    x = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    pooled = [pool(x) for pool in block.pools]
    assert torch.equal(pooled[0], x)  # kernel 1: identity
    # kernel 3 at the corner (0, 0): only the 4 real cells count, (1 + 2 + 4 + 5) / 4 = 3; centre: 45 / 9 = 5
    assert pooled[1][0, 0, 0, 0].item() == pytest.approx(3.0)
    assert pooled[1][0, 0, 1, 1].item() == pytest.approx(5.0)
    # kernels 5 and 7 cover the whole 3 x 3 map from every cell: 45 / 9 = 5 everywhere
    assert torch.allclose(pooled[2], torch.full_like(x, 5.0)) and torch.allclose(pooled[3], torch.full_like(x, 5.0))
    assert block.fuse[0].in_channels == 4 and block.fuse[0].out_channels == 1  # 4 pools concatenated -> C
    assert block(torch.randn(2, 1, 5, 7)).shape == (2, 1, 5, 7)


def test_fox_block_rejects_even_kernels() -> None:
    with pytest.raises(ValueError, match="odd"):
        FoxBlock(4, kernels=(1, 2))


def test_fox_hourglass_has_a_fox_block_before_every_skip() -> None:
    hg = FoxHourglass(3, 8)
    assert sum(isinstance(m, FoxBlock) for m in hg.modules()) == 3  # one per level
    assert isinstance(hg.inner, FoxHourglass) and isinstance(hg.inner.inner, FoxHourglass)
    assert hg(torch.randn(1, 8, 16, 16)).shape == (1, 8, 16, 16)


def test_small_forward_shapes_and_backward_reaches_every_parameter() -> None:
    model = _small().train()
    out = model(torch.randn(2, 3, 32, 32))
    assert isinstance(out, FoxNetOutput)
    assert out.segmentation.shape == (2, 5, 8, 8) and out.embedding.shape == (2, 3, 8, 8)  # stride 4
    (out.segmentation.pow(2).mean() + out.embedding.pow(2).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_attributes_and_input_checks() -> None:
    model = _small(input_size=64)
    assert (model.num_points, model.input_size, model.heatmap_size, model.embedding_dim, model.stride) == (5, 64, 16, 3, 4)
    with pytest.raises(ValueError, match="multiple of 16"):
        _small(input_size=40)  # 4 * 2**2 = 16
    with pytest.raises(ValueError, match="backbone must be one of"):
        _small(backbone="vgg")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.randn(1, 3, 24, 32))


def test_cpu_entry_runs_and_fits_the_cpu_budget() -> None:
    card = get_model_card("foxnet_cpu_68")
    model = create_model("foxnet_cpu_68").eval()
    assert (card.input_size, card.heatmap_size, card.stride, model.heatmap_size) == (256, 64, 4, 64)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))  # fully convolutional: the smallest side, for speed
    assert out.segmentation.shape == (1, 68, 16, 16) and out.embedding.shape == (1, foxnet.EMBEDDING_DIM, 16, 16)
    info = model_info(model, 256)
    assert info.params < 5_000_000 and info.gflops < 1.5  # 0.57 M, 1.31 GFLOPs


def test_paper_entry_is_resnet50_stem_at_640() -> None:
    card = get_model_card("foxnet_resnet_68")
    model = create_model("foxnet_resnet_68")
    assert (card.input_size, card.heatmap_size, card.weights) == (640, 160, None)
    assert model.head[-1].conv3.out_channels == 256  # ResNet-50 layer1 (bottleneck, 4 x 64) = the hourglass width
    assert len(model.head) == 1 + 3  # stem + three layer1 blocks, no width adapter
