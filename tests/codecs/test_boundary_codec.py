"""Boundary heatmaps (PropagationNet Sec. 3.1): hand-drawn polylines, visibility, schemes, flips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facealign.codecs import BoundaryCodec, boundary_flip_index, boundary_heatmaps, gaussian_heatmaps
from facealign.landmarks import Boundary, get_scheme

E = math.exp


def _draw(points: list[list[float]], boundaries: list[Boundary], *, width: int, height: int, sigma: float = 1.0):
    pts = torch.tensor(points, dtype=torch.float64)
    return boundary_heatmaps(pts, boundaries, width=width, height=height, sigma=sigma)


def test_horizontal_segment_hand_drawn() -> None:
    # segment (1, 2) - (4, 2) in cells on a 9 x 5 grid, sigma 1
    maps = _draw([[1.0, 2.0], [4.0, 2.0]], [Boundary("line", (0, 1))], width=9, height=5)
    assert maps.shape == (1, 5, 9)
    m = maps[0]
    assert m[2, 1:5].tolist() == [1.0, 1.0, 1.0, 1.0]  # on the line
    # one cell above / below the line: d = 1 -> exp(-1 / 2) = 0.606531
    assert m[1, 1:5].tolist() == pytest.approx([E(-0.5)] * 4)
    assert m[3, 1:5].tolist() == pytest.approx([E(-0.5)] * 4)
    # beyond the end caps the distance is to the end point: (0, 2) d = 1; (6, 2) d = 2 -> exp(-2) = 0.135335
    assert m[2, 0].item() == pytest.approx(E(-0.5))
    assert m[2, 6].item() == pytest.approx(E(-2.0))
    # corner (0, 0): d^2 = 1 + 4 = 5 -> exp(-2.5) = 0.082085; (6, 4): d^2 = 4 + 4 = 8 -> exp(-4) = 0.018316
    assert m[0, 0].item() == pytest.approx(E(-2.5))
    assert m[4, 6].item() == pytest.approx(E(-4.0))
    # cut at 3 sigma: (7, 2) is d = 3 -> exp(-4.5) = 0.011109 kept; (8, 2) is d = 4 > 3 -> 0 (not exp(-8))
    assert m[2, 7].item() == pytest.approx(E(-4.5))
    assert m[2, 8].item() == 0.0


def test_sub_pixel_segment() -> None:
    # the line y = 1.5 sits between rows 1 and 2: both are d = 0.5 away -> exp(-0.25 / 2) = 0.882497
    maps = _draw([[0.0, 1.5], [3.0, 1.5]], [Boundary("line", (0, 1))], width=4, height=4)
    assert maps[0, 1].tolist() == pytest.approx([E(-0.125)] * 4)
    assert maps[0, 2].tolist() == pytest.approx([E(-0.125)] * 4)
    # rows 0 and 3: d = 1.5 -> exp(-2.25 / 2) = 0.324652
    assert maps[0, 0].tolist() == pytest.approx([E(-1.125)] * 4)


def test_l_shaped_polyline_hand_drawn() -> None:
    # (1, 1) -> (4, 1) -> (4, 4): an L, sigma 1, on 6 x 6
    m = _draw([[1.0, 1.0], [4.0, 1.0], [4.0, 4.0]], [Boundary("L", (0, 1, 2))], width=6, height=6)[0]
    assert m[1, 2].item() == 1.0 and m[3, 4].item() == 1.0  # on either arm
    # (x, y) = (1, 3): 2 below the horizontal arm, 3 left of the vertical one -> d = 2 -> exp(-2)
    assert m[3, 1].item() == pytest.approx(E(-2.0))
    # (3, 2), inside the corner: 1 from both arms -> exp(-0.5)
    assert m[2, 3].item() == pytest.approx(E(-0.5))
    # (5, 0), outside the corner: nearest is the corner (4, 1), d^2 = 1 + 1 = 2 -> exp(-1)
    assert m[0, 5].item() == pytest.approx(E(-1.0))


def test_closed_boundary_joins_last_to_first() -> None:
    pts = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0]]
    open_ = _draw(pts, [Boundary("open", (0, 1, 2))], width=5, height=5)[0]
    closed = _draw(pts, [Boundary("closed", (0, 1, 2), closed=True)], width=5, height=5)[0]
    # (2, 2) lies on the closing segment (4, 4) - (0, 0); open, it is 2 from both arms -> exp(-2)
    assert closed[2, 2].item() == 1.0
    assert open_[2, 2].item() == pytest.approx(E(-2.0))


def test_single_point_boundary_is_the_cut_gaussian() -> None:
    maps = _draw([[2.5, 1.0]], [Boundary("dot", (0,))], width=6, height=4, sigma=1.5)
    blob = gaussian_heatmaps(torch.tensor([[2.5, 1.0]], dtype=torch.float64), width=6, height=4, sigma=1.5)
    # cells within 3 sigma = 4.5 are the Gaussian; (2, 1) is d = 0.5 from it: exp(-0.25 / 4.5) = 0.945959
    assert maps[0, 1, 2].item() == pytest.approx(E(-0.25 / 4.5))
    assert torch.allclose(maps, blob)  # the farthest cell, (5, 3), is d^2 = 6.25 + 4 < 4.5^2 away


def test_batch_and_several_boundaries() -> None:
    pts = torch.tensor([[[1.0, 1.0], [5.0, 1.0], [3.0, 4.0]], [[0.0, 0.0], [2.0, 3.0], [6.0, 2.0]]], dtype=torch.float64)
    bnds = [Boundary("a", (0, 1)), Boundary("b", (1, 2)), Boundary("c", (2,))]
    maps = boundary_heatmaps(pts, bnds, width=7, height=6, sigma=1.0)
    assert maps.shape == (2, 3, 6, 7)
    for i in range(2):
        assert torch.equal(maps[i], boundary_heatmaps(pts[i], bnds, width=7, height=6, sigma=1.0))
    assert boundary_heatmaps(pts, [], width=7, height=6, sigma=1.0).shape == (2, 0, 6, 7)


def test_codec_maps_input_pixels_with_the_pixel_convention() -> None:
    scheme = get_scheme("68")
    codec = BoundaryCodec(scheme, 128, 32, 1.0)
    assert codec.stride == 4.0 and codec.num_boundaries == 13
    pts = np.full((68, 2), np.nan)
    # contour points 0 and 1 at cells (3, 10) and (9, 10): input x = (u + 0.5) * 4 - 0.5
    pts[0] = [(3 + 0.5) * 4 - 0.5, (10 + 0.5) * 4 - 0.5]
    pts[1] = [(9 + 0.5) * 4 - 0.5, (10 + 0.5) * 4 - 0.5]
    maps, weights = codec.encode(pts)
    assert maps.shape == (13, 32, 32) and maps.dtype == np.float32
    expected = _draw([[3.0, 10.0], [9.0, 10.0]], [Boundary("line", (0, 1))], width=32, height=32)[0]
    np.testing.assert_allclose(maps[0], expected.numpy(), atol=1e-6)
    # only the contour has a drawable segment (the rest of the points are NaN): weights (1, 0, ..., 0)
    assert weights.tolist() == [1.0] + [0.0] * 12
    assert not maps[1:].any()


def test_invisible_points_drop_their_segments() -> None:
    bnds = [Boundary("chain", (0, 1, 2, 3)), Boundary("pair", (1, 2))]
    pts = torch.tensor([[[1.0, 1.0], [5.0, 1.0], [5.0, 5.0], [1.0, 5.0]]], dtype=torch.float64)
    full = boundary_heatmaps(pts, bnds, width=7, height=7, sigma=1.0)
    visible = torch.tensor([[True, True, True, False]])
    part = boundary_heatmaps(pts, bnds, width=7, height=7, sigma=1.0, valid=visible)
    # the segment 2 - 3 (bottom edge, y = 5) is gone: (3, 5) was on it; now the nearest arm is the right
    # one (x = 5), 2 cells away -> exp(-4 / 2) = 0.135335 (the top edge is 4 away)
    assert full[0, 0, 5, 3].item() == 1.0
    assert part[0, 0, 5, 3].item() == pytest.approx(E(-2.0))
    assert torch.equal(part[0, 1], full[0, 1])
    codec = BoundaryCodec(get_scheme("68"), 64, 16, 1.0)
    face = np.random.default_rng(0).uniform(10, 50, size=(68, 2))
    vis = np.ones(68, dtype=bool)
    vis[[18, 20]] = False  # left brow 17-21: segments 17-18, 18-19, 19-20, 20-21 all touch 18 or 20
    maps, weights = codec.encode(face, vis)
    assert weights[1] == 0.0 and not maps[1].any()
    assert weights.sum() == 12.0


def test_one_map_per_scheme_boundary() -> None:
    for name, m in (("68", 13), ("98", 15)):
        scheme = get_scheme(name)
        assert len(scheme.boundaries) == m
        codec = BoundaryCodec(scheme, 256, 64, 1.5)
        pts = np.random.default_rng(1).uniform(40, 210, size=(scheme.num_points, 2))
        maps, weights = codec.encode(pts)
        assert maps.shape == (m, 64, 64) and weights.tolist() == [1.0] * m
        assert maps.max() <= 1.0 and np.all(maps.max(axis=(1, 2)) > 0.5)


@pytest.mark.parametrize("name", ["68", "98", "106", "29"])
def test_flip_consistency(name: str) -> None:
    scheme = get_scheme(name)
    flip = boundary_flip_index(scheme)
    assert all(flip[flip[m]] == m for m in range(len(flip)))  # an involution
    codec = BoundaryCodec(scheme, 128, 32, 1.5)
    pts = np.random.default_rng(2).uniform(20, 108, size=(scheme.num_points, 2))
    maps, _ = codec.encode(pts)
    mirrored, _ = codec.encode(scheme.flip(pts, 128))
    # boundary m of the mirrored face = boundary flip[m] of the original, mirrored along x
    np.testing.assert_allclose(mirrored, maps[list(flip)][:, :, ::-1], atol=1e-5)


def test_symmetric_face_gives_symmetric_maps() -> None:
    scheme = get_scheme("68")
    codec = BoundaryCodec(scheme, 128, 32, 1.5)
    half = np.random.default_rng(3).uniform(10, 60, size=(68, 2))
    # make the face symmetric about x = 63.5 (the centre of a 128 px crop): point i mirrors point flip[i]
    pts = half.copy()
    for i, j in enumerate(scheme.flip_index):
        if i < j:
            pts[j] = [127.0 - half[i, 0], half[i, 1]]
        elif i == j:
            pts[i, 0] = 63.5
    maps, _ = codec.encode(pts)
    np.testing.assert_allclose(maps, maps[list(codec.flip_index)][:, :, ::-1], atol=1e-5)
    assert codec.flip_index[0] == 0  # the contour is its own mirror image
    np.testing.assert_allclose(maps[0], maps[0][:, ::-1], atol=1e-5)


def test_encode_batch_matches_encode() -> None:
    codec = BoundaryCodec(get_scheme("98"), 64, 16, 1.0)
    pts = np.random.default_rng(4).uniform(5, 60, size=(2, 98, 2))
    maps, weights = codec.encode_batch(torch.from_numpy(pts))
    for i in range(2):
        one, w = codec.encode(pts[i])
        np.testing.assert_allclose(maps[i].numpy(), one, atol=1e-6)
        assert weights[i].tolist() == w.tolist()


def test_errors() -> None:
    codec = BoundaryCodec(get_scheme("68"), 128, 32, 1.0)
    with pytest.raises(ValueError, match=r"points must have shape \(K, 2\)"):
        codec.encode(np.zeros((68, 3)))
    with pytest.raises(ValueError, match=r"shape \(B, 68, 2\)"):
        codec.encode(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"visible must have shape \(68,\)"):
        codec.encode(np.zeros((68, 2)), np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="sigma must be positive"):
        BoundaryCodec(get_scheme("68"), 128, 32, 0.0)
    with pytest.raises(ValueError, match="has no boundaries"):
        BoundaryCodec(get_scheme("5"), 128, 32, 1.0)
    with pytest.raises(ValueError, match="boundaries use point index 3, got K = 2"):
        _draw([[0.0, 0.0], [1.0, 1.0]], [Boundary("x", (0, 3))], width=4, height=4)
    with pytest.raises(ValueError, match=r"points must be a tensor of shape \(\.\.\., K, 2\)"):
        boundary_heatmaps(np.zeros((3, 2)), [Boundary("x", (0, 1))], width=4, height=4, sigma=1.0)  # type: ignore[arg-type]
