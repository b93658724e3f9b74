"""UpsampleHead (S / D strategies of Earp et al. Sec. 4) and HeatmapModel."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facealign.models import HeatmapModel, MobileNetV2, UpsampleHead
from facealign.models.heads import parse_strategy


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_parse_strategy() -> None:
    assert parse_strategy("sdd") == "SDD"
    with pytest.raises(ValueError, match=r"invalid letters \['U', 'X'\]"):
        parse_strategy("SXDU")
    with pytest.raises(ValueError, match="empty string"):
        parse_strategy("")
    with pytest.raises(TypeError, match="string of S and D letters"):
        parse_strategy(3)  # type: ignore[arg-type]


def test_bad_head_arguments_raise() -> None:
    with pytest.raises(ValueError, match=r"invalid letters \['P'\]"):
        UpsampleHead(8, 3, strategy="SPD")
    with pytest.raises(ValueError, match="multiple of 4 for pixel-shuffle"):
        UpsampleHead(8, 3, strategy="SD", filters=30)
    UpsampleHead(8, 3, strategy="DD", filters=30)  # no S block: any filter count
    with pytest.raises(ValueError, match="heatmap_conv must be one of"):
        UpsampleHead(8, 3, strategy="SS", heatmap_conv="middle")
    with pytest.raises(ValueError, match="needs a strategy ending in 'S'"):
        UpsampleHead(8, 3, strategy="SD", heatmap_conv="before_final_block")
    with pytest.raises(ValueError, match="num_points must be a positive integer, got 0"):
        UpsampleHead(8, 0)


def test_head_parameters_hand_counted() -> None:
    # S: conv3x3 8->8 (576) + BN (16), shuffle -> 2 channels; D: deconv 2->8 k4 (2*8*16 = 256) + BN (16);
    # heatmap conv 1x1 8->3 with bias (27). Total 576 + 16 + 256 + 16 + 27 = 891.
    head = UpsampleHead(8, 3, strategy="SD", filters=8)
    assert _count(head) == 891
    assert head.upsample_factor == 4
    out = head([torch.zeros(2, 8, 3, 5)])
    assert out.shape == (2, 3, 12, 20)


def test_paper_sssd_channel_flow() -> None:
    # 256 filters: each S block returns 256 / 4 = 64 channels, the D block 256; heatmap conv 256 -> 106
    head = UpsampleHead(80, 106, strategy="SSSD", filters=256)
    convs = [m for m in head.blocks.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(80, 256), (64, 256), (64, 256), (64, 256)]
    assert isinstance(convs[-1], nn.ConvTranspose2d)
    assert (head.final_conv.in_channels, head.final_conv.out_channels) == (256, 106)


def test_literal_before_final_block_layout() -> None:
    # SS with the heatmap conv before the last block: S (8 -> 8, shuffle -> 2), 1x1 2 -> 3 heatmaps,
    # then the last S block: conv3x3 3 -> 12, BN, ReLU, shuffle -> 3 heatmaps at 4x resolution.
    head = UpsampleHead(8, 3, strategy="SS", filters=8, heatmap_conv="before_final_block")
    assert (head.final_conv.in_channels, head.final_conv.out_channels) == (2, 3)
    assert head.final_block[0].out_channels == 12
    out = head([torch.randn(1, 8, 2, 2)])
    assert out.shape == (1, 3, 8, 8)
    assert torch.all(out >= 0)  # the last block ends in ReLU before the shuffle


def test_head_uses_last_feature_and_rejects_a_bare_tensor() -> None:
    head = UpsampleHead(4, 2, strategy="D", filters=4).eval()
    x = torch.randn(1, 4, 3, 3)
    with torch.no_grad():
        assert torch.equal(head([torch.randn(1, 7, 9, 9), x]), head([x]))
    with pytest.raises(TypeError, match="list of feature maps"):
        head(x)


def test_heatmap_model_stride_and_sizes() -> None:
    backbone = MobileNetV2(width=0.25)
    model = HeatmapModel(backbone, UpsampleHead(80, 5, strategy="DDDD", filters=16), input_size=192)
    assert model.stride == 2.0  # 32 / 2**4
    assert model.heatmap_size == 96  # 192 / 2
    assert model.heatmap_size_for(64) == 32
    with pytest.raises(ValueError, match="multiple of the backbone stride 32, got 100"):
        model.heatmap_size_for(100)
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 64, 96)).shape == (1, 5, 32, 48)
    with pytest.raises(ValueError, match="multiple of the backbone stride 32, got 120"):
        HeatmapModel(backbone, UpsampleHead(80, 5), input_size=120)
    with pytest.raises(ValueError, match="built without input_size"):
        _ = HeatmapModel(backbone, UpsampleHead(80, 5)).heatmap_size
    with pytest.raises(TypeError, match="backbone Identity lacks the 'out_channels' attribute"):
        HeatmapModel(nn.Identity(), UpsampleHead(80, 5))
