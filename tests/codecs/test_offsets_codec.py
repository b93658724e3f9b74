"""OffsetCodec (WOV / WOM, Lan et al. Appendix B-C): hand-worked cells and fractions, exact round trips,
shared-map conflicts, exact flips, dropped points and errors."""

import numpy as np
import pytest
import torch

from facealign.codecs import HIHCodec, OffsetCodec, mirror_offset_maps, mirror_offsets

SIZE, HM, SIGMA = 128, 32, 1.5  # stride 4


def _codec(shared=False):
    return OffsetCodec(SIZE, HM, SIGMA, shared_maps=shared)


def _random_points(n=500, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).uniform(-0.5, SIZE - 0.5, size=(2, n, 2)))


def test_cells_and_fractions_by_hand():
    # t = (x + 0.5) / 4:  x = 10.3 -> t = 2.7: cell 2, fraction 0.7;  y = 20.7 -> 5.3: cell 5, 0.3
    #                      x = -0.5 -> t = 0: cell 0, fraction 0;  y = 127.4 -> 31.975: cell 31, 0.975
    #                      x = 1.5 -> t = 0.5: cell 0, fraction 0.5 (the cell centre, x = (0 + 0.5) 4 - 0.5)
    pts = torch.tensor([[[10.3, 20.7], [-0.5, 127.4], [1.5, 1.5]]], dtype=torch.float64)
    t = _codec().encode_batch(pts)
    assert t.cells.tolist() == [[[2, 5], [0, 31], [0, 0]]]
    np.testing.assert_allclose(t.offsets[0].numpy(), [[0.7, 0.3], [0.0, 0.975], [0.5, 0.5]], atol=1e-6)
    assert t.weights.tolist() == [[1.0, 1.0, 1.0]]
    # the integer maps are HIH's (Eq. 1), peaked at the cells
    np.testing.assert_array_equal(t.integer, HIHCodec(SIZE, HM, 1, SIGMA, 1.0).encode_batch(pts).integer)
    assert float(t.integer[0, 0, 5, 2]) == 1.0  # row y = 5, column x = 2


def test_offset_value_round_trip_is_exact():
    codec, pts = _codec(), _random_points()
    t = codec.encode_batch(pts)
    coords, scores = codec.decode(t.integer, t.offsets)
    assert coords.shape == pts.shape and scores.shape == pts.shape[:2] and bool((scores == 1).all())
    assert float((coords - pts).abs().max()) < 1e-4


def test_per_point_offset_maps_round_trip_is_exact():
    codec, pts = _codec(), _random_points(n=68, seed=1)
    t = codec.encode_batch(pts)
    maps = codec.offset_maps(t.cells, t.offsets, t.weights, groups=68)
    assert maps.shape == (2, 68, 2, HM, HM)
    # Appendix B: O^x at the point's cell is its fraction, 0 elsewhere
    assert int((maps[0, 7, 0] != 0).sum()) <= 1 and float(maps[0, 7, 0, t.cells[0, 7, 1], t.cells[0, 7, 0]]) == float(t.offsets[0, 7, 0])
    coords, _ = codec.decode_maps(t.integer, maps)
    assert float((coords - pts).abs().max()) < 1e-4


def test_shared_maps_average_points_that_share_a_cell():
    # (10.3, 20.7) and (11.0, 21.0) share cell (2, 5): fractions (0.7, 0.3) and (0.875, 0.375), mean
    # (0.7875, 0.3375), decoded to ((2 + 0.7875) 4 - 0.5, (5 + 0.3375) 4 - 0.5) = (10.65, 20.85) for both;
    # (100.2, 3.9) is alone in cell (25, 1) and decodes exactly
    codec = _codec(shared=True)
    pts = torch.tensor([[[10.3, 20.7], [11.0, 21.0], [100.2, 3.9]]], dtype=torch.float64)
    t = codec.encode_batch(pts)
    np.testing.assert_allclose(t.offsets[0].numpy(), [[0.7875, 0.3375], [0.7875, 0.3375], [0.175, 0.1]], atol=1e-6)
    maps = codec.offset_maps(t.cells, t.offsets, t.weights, groups=1)
    assert maps.shape == (1, 1, 2, HM, HM) and int((maps != 0).sum()) == 4  # two cells, x and y
    coords, _ = codec.decode_maps(t.integer, maps)
    np.testing.assert_allclose(coords[0].numpy(), [[10.65, 20.85], [10.65, 20.85], [100.2, 3.9]], atol=1e-4)
    # without the conflict every point is exact
    alone = torch.tensor([[[10.3, 20.7], [100.2, 3.9]]], dtype=torch.float64)
    t = codec.encode_batch(alone)
    coords, _ = codec.decode_maps(t.integer, codec.offset_maps(t.cells, t.offsets, t.weights, groups=1))
    assert float((coords - alone).abs().max()) < 1e-4


def test_mirrored_offsets_map_back_exactly():
    # x -> S - 1 - x sends t to w - t: cell c -> w - 1 - c, fraction f -> 1 - f (y unchanged)
    codec, pts = _codec(), _random_points(n=68, seed=2)
    flip = list(range(67, -1, -1))  # any involution
    mirrored = pts[:, flip].clone()
    mirrored[..., 0] = SIZE - 1 - mirrored[..., 0]
    t, tm = codec.encode_batch(pts), codec.encode_batch(mirrored)
    torch.testing.assert_close(mirror_offsets(tm.offsets, flip), t.offsets, atol=1e-5, rtol=0)
    maps = codec.offset_maps(t.cells, t.offsets, t.weights, groups=68)
    maps_m = codec.offset_maps(tm.cells, tm.offsets, tm.weights, groups=68)
    back = mirror_offset_maps(maps_m, flip)
    coords, _ = codec.decode_maps(t.integer, back)
    assert float((coords - pts).abs().max()) < 1e-4
    # both mirrors are involutions
    torch.testing.assert_close(mirror_offsets(mirror_offsets(t.offsets, flip), flip), t.offsets)
    torch.testing.assert_close(mirror_offset_maps(mirror_offset_maps(maps, flip), flip), maps)
    # a shared pair has nothing to re-index: only mirrored along x, O^x -> 1 - O^x
    shared = torch.zeros(1, 1, 2, 2, 3)
    shared[0, 0, 0, 1, 0], shared[0, 0, 1, 1, 0] = 0.25, 0.6
    out = mirror_offset_maps(shared, flip)
    assert float(out[0, 0, 0, 1, 2]) == 0.75 and float(out[0, 0, 1, 1, 2]) == pytest.approx(0.6)


def test_dropped_points_get_zero_weight_and_stay_out_of_shared_cells():
    codec = _codec(shared=True)
    pts = np.array([[10.3, 20.7], [11.0, 21.0], [np.nan, 5.0], [1e4, 1e4]])
    integer, cells, offsets, weights = codec.encode(pts, np.array([True, False, True, True]))
    assert weights.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert cells.dtype == np.int64 and cells[1:].tolist() == [[0, 0]] * 3 and not offsets[1:].any()
    np.testing.assert_allclose(offsets[0], [0.7, 0.3], atol=1e-6)  # the invisible point does not share the cell
    assert integer.shape == (4, HM, HM) and not integer[1:].any()


def test_decode_keeps_offsets_inside_the_argmax_cell():
    codec = _codec()
    integer = torch.zeros(1, 2, HM, HM)
    integer[0, :, 3, 4] = 1.0  # cell x = 4, y = 3
    coords, _ = codec.decode(integer, torch.tensor([[[1.5, -0.2], [0.25, 0.5]]]))
    # clamped to (1, 0): ((4 + 1) 4 - 0.5, (3 + 0) 4 - 0.5) = (19.5, 11.5); (4.25 * 4 - 0.5, 3.5 * 4 - 0.5)
    assert coords[0].tolist() == [[19.5, 11.5], [16.5, 13.5]]


def test_errors():
    codec = _codec()
    with pytest.raises(ValueError, match=r"points must have shape \(K, 2\)"):
        codec.encode(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"integer heatmaps must have shape \(B, K, 32, 32\)"):
        codec.decode(torch.zeros(1, 2, 16, 16), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=r"offsets must have shape \(1, 2, 2\)"):
        codec.decode(torch.zeros(1, 2, HM, HM), torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match=r"offset maps must have shape \(B, 1 or 2, 2, h, w\)"):
        codec.decode_maps(torch.zeros(1, 2, HM, HM), torch.zeros(1, 3, 2, HM, HM))
    with pytest.raises(ValueError, match="groups must be 1 or K = 2"):
        codec.offset_maps(torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 2, 2), torch.ones(1, 2), groups=3)
    with pytest.raises(ValueError, match="sigma must be positive"):
        OffsetCodec(SIZE, HM, 0.0)
