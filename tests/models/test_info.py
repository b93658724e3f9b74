"""model_info: parameters, MB and FLOPs on hand-countable layers, and the paper's conventions."""

from __future__ import annotations

import math

import pytest
from torch import nn

from facealign.models import count_flops, create_model, model_info


def test_single_conv_hand_counted() -> None:
    # Conv2d(3 -> 4, k=3, no padding) on 8 x 8: output 6 x 6.
    # params = 4 * 3 * 3 * 3 + 4 = 112; MACs = 6 * 6 * 4 * (3 * 3 * 3) = 3,888; FLOPs = 2 * MACs = 7,776
    info = model_info(nn.Conv2d(3, 4, 3), 8)
    assert info.params == 112
    assert info.size_mb == 112 * 4 / 2**20
    assert info.size_mb_decimal == 112 * 4 / 1e6
    assert math.isclose(info.gmacs, 3888e-9)
    assert math.isclose(info.gflops, 7776e-9)
    assert info.gflops_macs == info.gmacs
    assert info.input_size == 8


def test_transposed_grouped_and_linear_layers_hand_counted() -> None:
    # ConvTranspose2d(3 -> 2, k4, s2, p1) on 4 x 4: every input pixel meets 2 * 4 * 4 weights per input
    # channel: 16 * 3 * 2 * 16 = 1,536 MACs
    assert count_flops(nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, bias=False), 4) == 2 * 1536
    # depthwise-style Conv2d(3 -> 6, k3, p1, groups=3) on 5 x 5: 25 * 6 * (1 * 9) = 1,350 MACs
    assert count_flops(nn.Conv2d(3, 6, 3, padding=1, groups=3), 5) == 2 * 1350
    # Flatten + Linear(12 -> 5) on 3 x 2 x 2: 12 * 5 = 60 MACs; BN / ReLU / pixel shuffle count nothing
    seq = nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 5))
    assert count_flops(seq, 2) == 2 * 60
    assert count_flops(nn.Conv2d(3, 4, 1), (2, 5)) == 2 * 10 * 4 * 3  # non-square (H, W)


def test_model_mode_is_restored_and_bad_size_raises() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    model_info(net, 8)
    assert net.training
    with pytest.raises(ValueError, match="input_size must be a positive integer, got 0"):
        model_info(net, 0)


def test_paper_table3_conventions() -> None:
    # Earp et al. Table 2-3 "GFLOPS" are multiply-adds: SSSS 0.56, DDDD 3.50 (ours 0.538 / 3.455)
    ssss = model_info(create_model("sertis_mnv2_025_ssss_106"), 192)
    dddd = model_info(create_model("sertis_mnv2_025_dddd_106"), 192)
    assert abs(ssss.gmacs - 0.56) < 0.03 and abs(dddd.gmacs - 3.50) < 0.05
    assert ssss.gflops > 1.9 * 0.56 and dddd.gflops > 1.9 * 3.50  # the 2 x MACs convention does not fit
    # "Size (MB)": row differences match in MiB (fp32 bytes / 2**20): SDDD - SSSS = 13.51 - 6.12 = 7.39,
    # DDDD - DDDS = 18.26 - 16.44 = 1.82 (the paper adds a constant per first block on top)
    sddd = model_info(create_model("sertis_mnv2_025_sddd_106"), 32)
    ddds = model_info(create_model("sertis_mnv2_025_ddds_106"), 32)
    assert abs((sddd.size_mb - ssss.size_mb) - 7.39) < 0.01
    assert abs((dddd.size_mb - ddds.size_mb) - 1.82) < 0.01
    assert abs((sddd.size_mb_decimal - ssss.size_mb_decimal) - 7.39) > 0.3  # 10**6-byte MB does not fit
