"""HIHCodec: hand-worked maps (Eq. 1-3), decode (Eq. 4), round trip within Proposition III.1's bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facealign.codecs import HIHCodec


def test_hand_worked_encode_and_decode() -> None:
    # input 16 px, 4 x 4 integer maps (stride 4), 4 x 4 decimal maps; point (x, y) = (5, 10).
    # x: t = (5 + 0.5) / 4 = 1.375 -> c_I = 1, f = 0.375, c_D = floor(0.375 * 4) = 1.
    # y: t = (10 + 0.5) / 4 = 2.625 -> c_I = 2, f = 0.625, c_D = floor(0.625 * 4) = 2.
    codec = HIHCodec(16, 4, 4, sigma=1.5, decimal_sigma=1.0)
    t = codec.encode_batch(torch.tensor([[[5.0, 10.0]]]))
    assert t.integer.shape == (1, 1, 4, 4) and t.decimal.shape == (1, 1, 4, 4)
    assert t.integer[0, 0, 2, 1] == 1.0 and t.decimal[0, 0, 2, 1] == 1.0
    assert t.integer[0, 0].argmax() == 2 * 4 + 1 and t.decimal[0, 0].argmax() == 2 * 4 + 1
    # one cell right on the integer map: exp(-1 / (2 * 1.5^2)) = exp(-0.2222) = 0.8007
    assert t.integer[0, 0, 2, 2].item() == pytest.approx(math.exp(-1 / 4.5), abs=1e-6)
    # two cells right on the decimal map: exp(-4 / 2) = 0.1353 (d = 2 <= 3 sigma = 3)
    assert t.decimal[0, 0, 2, 3].item() == pytest.approx(math.exp(-2.0), abs=1e-6)
    assert t.weights.tolist() == [[1.0]]
    # Eq. 4 with the decimal cell's centre: x = (1 + 1.5 / 4) * 4 - 0.5 = 5.0, y = (2 + 2.5 / 4) * 4 - 0.5 = 10.0
    xy, score = codec.decode(t.integer, t.decimal)
    assert xy[0, 0].tolist() == pytest.approx([5.0, 10.0], abs=1e-6)
    assert score.item() == 1.0


def test_gaussian_is_cut_at_three_sigma() -> None:
    # decimal_sigma 0.5 -> 3 sigma = 1.5 decimal cells: a cell 2 away is 0, one 1 away is exp(-1 / 0.5) = e^-2.
    codec = HIHCodec(16, 4, 4, sigma=1.5, decimal_sigma=0.5)
    t = codec.encode_batch(torch.tensor([[[5.0, 10.0]]]))  # decimal cell (1, 2) as above
    assert t.decimal[0, 0, 2, 3].item() == 0.0
    assert t.decimal[0, 0, 2, 2].item() == pytest.approx(math.exp(-2.0), abs=1e-6)


@pytest.mark.parametrize(("size", "heatmap", "decimal"), [(256, 64, 8), (128, 32, 4), (128, 32, 8)])
def test_round_trip_within_proposition_bound(size: int, heatmap: int, decimal: int) -> None:
    # Proposition III.1: a decimal cell is stride / h_d input px; decoding at its centre leaves at most half:
    # 256/64/8: 4 / 8 / 2 = 0.25 px; 128/32/4: 4 / 4 / 2 = 0.5 px; 128/32/8: 4 / 8 / 2 = 0.25 px.
    codec = HIHCodec(size, heatmap, decimal, sigma=1.5, decimal_sigma=1.0)
    bound = size / heatmap / decimal / 2
    assert codec.precision == pytest.approx(2 * bound)
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(8, 50, 2, generator=g, dtype=torch.float64) * size - 0.5  # the whole input [-0.5, S - 0.5)
    t = codec.encode_batch(pts)
    xy, _ = codec.decode(t.integer, t.decimal)
    err = (xy.double() - pts).abs()
    assert err.max().item() <= bound + 1e-5
    assert err.max().item() > 0.8 * bound  # the bound is attained, not loose


def test_decimal_cell_centres_round_trip_exactly() -> None:
    # The representable points: x = (c_I + (c_D + 0.5) / h_d) * s - 0.5.
    codec = HIHCodec(256, 64, 8, sigma=1.5, decimal_sigma=1.0)
    ci = torch.tensor([0, 7, 31, 63], dtype=torch.float64)
    cd = torch.tensor([0, 3, 5, 7], dtype=torch.float64)
    x = (ci + (cd + 0.5) / 8) * 4 - 0.5  # 0.5 / 8 * 4 - 0.5 = -0.25, ...
    pts = torch.stack([x, x.flip(0)], dim=-1)[None]
    t = codec.encode_batch(pts)
    xy, _ = codec.decode(t.integer, t.decimal)
    assert torch.allclose(xy.double(), pts, atol=1e-5)


def test_numpy_encode_matches_torch_and_handles_visibility() -> None:
    codec = HIHCodec(128, 32, 4, sigma=1.5, decimal_sigma=1.0)
    pts = np.array([[10.3, 20.7], [100.0, 64.2], [50.0, 50.0]])
    vis = np.array([True, True, False])
    integer, decimal, weights = codec.encode(pts, vis)
    t = codec.encode_batch(torch.from_numpy(pts)[None], torch.from_numpy(vis)[None])
    np.testing.assert_array_equal(integer, t.integer[0].numpy())
    np.testing.assert_array_equal(decimal, t.decimal[0].numpy())
    assert weights.tolist() == [1.0, 1.0, 0.0]
    assert integer[2].max() == 0.0 and decimal[2].max() == 0.0


def test_points_outside_the_map() -> None:
    codec = HIHCodec(128, 32, 8, sigma=1.5, decimal_sigma=1.0)
    # x = -1: t = -0.5 / 4 = -0.125, clamped to cell 0, fraction 0 -> decoded at (0 + 0.5 / 8) * 4 - 0.5 = -0.25,
    # the nearest representable position; weight stays 1 (0.125 cells out, well within 3 sigma = 4.5 cells).
    # x = 200: t = 50.1 is more than 4.5 cells beyond 32 -> weight 0, zero maps. NaN -> weight 0.
    pts = torch.tensor([[[-1.0, 60.0], [200.0, 60.0], [float("nan"), 3.0]]])
    t = codec.encode_batch(pts)
    assert t.weights.tolist() == [[1.0, 0.0, 0.0]]
    assert t.integer[0, 1:].abs().sum() == 0 and t.decimal[0, 1:].abs().sum() == 0
    xy, _ = codec.decode(t.integer, t.decimal)
    assert xy[0, 0, 0].item() == pytest.approx(-0.25, abs=1e-6)


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="decimal_size must be a positive integer"):
        HIHCodec(128, 32, 0, sigma=1.5, decimal_sigma=1.0)
    with pytest.raises(ValueError, match="decimal_sigma must be positive"):
        HIHCodec(128, 32, 4, sigma=1.5, decimal_sigma=0.0)
    codec = HIHCodec(128, 32, 4, sigma=1.5, decimal_sigma=1.0)
    with pytest.raises(ValueError, match=r"points must be a tensor of shape \(B, K, 2\)"):
        codec.encode_batch(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"decimal must have shape \(B, K, 4, 4\), got \(1, 3, 8, 8\)"):
        codec.decode(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="must agree on"):
        codec.decode(torch.zeros(1, 3, 32, 32), torch.zeros(1, 2, 4, 4))
