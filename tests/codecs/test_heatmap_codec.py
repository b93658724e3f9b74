import math

import numpy as np
import pytest
import torch

from facealign.codecs import (
    DECODER_NAMES,
    HeatmapCodec,
    argmax_decode,
    dark_decode,
    gaussian_blur,
    gaussian_heatmaps,
    quarter_offset_decode,
    soft_argmax_decode,
)


def _random_points(rng, n, size, sigma):
    """n sub-pixel heatmap positions at least 3 sigma from the border."""
    m = math.ceil(3 * sigma)
    return rng.uniform(m, size - 1 - m, size=(1, n, 2))


def _targets(codec, hm_points):
    """Encode heatmap-cell positions (via input pixels, so the mapping is exercised too)."""
    inp = (hm_points + 0.5) * codec.stride - 0.5
    maps, weights = codec.encode_batch(torch.from_numpy(inp))
    return maps, weights


# ------------------------------------------------------------------------------- coordinate mapping
def test_stride_4_mapping_hand_worked():
    codec = HeatmapCodec(256, 64, 2.0)
    assert codec.stride == 4.0
    # one-hot maps at cells x=0,y=0 and x=10,y=3; argmax decode -> input (u + 0.5) * 4 - 0.5
    hm = torch.zeros(1, 2, 64, 64)
    hm[0, 0, 0, 0] = 1.0
    hm[0, 1, 3, 10] = 1.0
    coords, scores = codec.decode(hm, method="argmax")
    # cell 0 -> 0.5 * 4 - 0.5 = 1.5; cell 10 -> 10.5 * 4 - 0.5 = 41.5; cell 3 -> 3.5 * 4 - 0.5 = 13.5
    np.testing.assert_allclose(coords[0].numpy(), [[1.5, 1.5], [41.5, 13.5]])
    np.testing.assert_allclose(scores.numpy(), [[1.0, 1.0]])


def test_encode_places_peak_at_mapped_cell():
    codec = HeatmapCodec(256, 64, 2.0)
    # input (41.5, 13.5) -> heatmap ((41.5 + 0.5) / 4 - 0.5, (13.5 + 0.5) / 4 - 0.5) = (10, 3)
    maps, weights = codec.encode(np.array([[41.5, 13.5]]))
    assert maps.shape == (1, 64, 64) and maps.dtype == np.float32
    assert weights.tolist() == [1.0]
    assert np.unravel_index(maps[0].argmax(), maps[0].shape) == (3, 10)
    assert maps[0, 3, 10] == pytest.approx(1.0)
    # one cell away: exp(-1 / (2 * 2^2)) = exp(-0.125) = 0.882497
    assert maps[0, 3, 11] == pytest.approx(math.exp(-0.125), rel=1e-6)
    assert maps[0, 4, 11] == pytest.approx(math.exp(-0.25), rel=1e-6)


def test_gaussian_is_centred_sub_pixel_not_rounded():
    # centre (3.2, 5.7), sigma 1: value at cell (x=3, y=6) = exp(-(0.2^2 + 0.3^2) / 2) = exp(-0.065)
    g = gaussian_heatmaps(torch.tensor([[3.2, 5.7]], dtype=torch.float64), width=8, height=10, sigma=1.0)
    assert g.shape == (1, 10, 8)
    assert float(g[0, 6, 3]) == pytest.approx(math.exp(-0.065), rel=1e-12)
    # cell (x=4, y=5): d^2 = 0.8^2 + 0.7^2 = 1.13 -> exp(-0.565)
    assert float(g[0, 5, 4]) == pytest.approx(math.exp(-0.565), rel=1e-12)


# ------------------------------------------------------------------------------------------ encode
def test_invisible_nan_and_far_outside_points_get_zero_weight_and_zero_map():
    codec = HeatmapCodec(128, 32, 1.5)
    pts = np.array([[60.0, 60.0], [50.0, 70.0], [np.nan, 10.0], [-1e6, -1e6], [130.0, 60.0], [200.0, 60.0]])
    vis = np.array([True, False, True, True, True, True])
    maps, weights = codec.encode(pts, vis)
    # point 4: x=130 -> heatmap (130.5 / 4) - 0.5 = 32.125, 0.625 cell past the edge 31.5 -> kept;
    # point 5: x=200 -> 49.625, 18.1 cells > 3 * 1.5 past the edge -> dropped
    assert weights.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert maps[0].max() > 0.9 and maps[4].max() > 0.5
    for k in (1, 2, 3, 5):
        assert not maps[k].any()
    assert np.isfinite(maps).all()


def test_encode_matches_encode_batch_and_checks_shapes():
    codec = HeatmapCodec(128, 32, 2.0)
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 127, size=(2, 5, 2))
    vis = rng.uniform(size=(2, 5)) > 0.3
    maps_b, w_b = codec.encode_batch(torch.from_numpy(pts), torch.from_numpy(vis))
    assert maps_b.shape == (2, 5, 32, 32) and w_b.shape == (2, 5) and maps_b.dtype == torch.float32
    for i in range(2):
        maps, w = codec.encode(pts[i], vis[i])
        np.testing.assert_array_equal(maps, maps_b[i].numpy())
        np.testing.assert_array_equal(w, w_b[i].numpy())
    with pytest.raises(ValueError, match=r"points must have shape \(K, 2\), got \(5,\)"):
        codec.encode(np.zeros(5))
    with pytest.raises(ValueError, match=r"visible must have shape \(5,\), got \(4,\)"):
        codec.encode(pts[0], vis[0, :4])
    with pytest.raises(ValueError, match=r"points must be a tensor of shape \(B, K, 2\)"):
        codec.encode_batch(torch.zeros(5, 2))


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown decoder 'median'"):
        HeatmapCodec(128, 32, 2.0, decoder="median")
    with pytest.raises(ValueError, match="sigma must be positive, got 0"):
        HeatmapCodec(128, 32, 0)
    with pytest.raises(ValueError, match="dark_kernel must be a positive odd integer, got 4"):
        HeatmapCodec(128, 32, 2.0, dark_kernel=4)
    assert HeatmapCodec(128, 32, 2.0).dark_kernel == 13  # 2 * ceil(3 * 2) + 1


# ------------------------------------------------------------------------------------------ decode
def test_argmax_hand_worked():
    # point at heatmap (3.2, 5.7): nearest cell (3, 6)
    hm = gaussian_heatmaps(torch.tensor([[[3.2, 5.7]]]), width=16, height=16, sigma=1.5)
    coords, scores = argmax_decode(hm)
    assert coords[0, 0].tolist() == [3.0, 6.0]
    # the peak value exp(-(0.2^2 + 0.3^2) / (2 * 1.5^2)) = exp(-0.13 / 4.5) = 0.97152
    assert float(scores[0, 0]) == pytest.approx(math.exp(-0.13 / 4.5), rel=1e-6)


def test_quarter_offset_hand_worked():
    # (3.2, 5.7): argmax (3, 6); right neighbour nearer (0.8 < 1.2) -> x = 3.25; upper (y=5) nearer
    # (0.7 < 1.3) -> y = 5.75
    hm = gaussian_heatmaps(torch.tensor([[[3.2, 5.7]]]), width=16, height=16, sigma=1.5)
    coords, _ = quarter_offset_decode(hm)
    assert coords[0, 0].tolist() == [3.25, 5.75]


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0])
def test_round_trip_all_decoders(size, sigma):
    rng = np.random.default_rng(int(size * 10 + sigma * 10))
    codec = HeatmapCodec(size * 4, size, sigma)
    pts = _random_points(rng, 64, size, sigma)
    maps, weights = _targets(codec, pts)
    assert weights.eq(1).all()
    err = {}
    for name in DECODER_NAMES:
        coords, scores = codec.decoder_fn(name)(maps)
        err[name] = np.abs(coords.double().numpy() - pts)
        assert scores.min() > 0.9  # the peak cell is within 0.71 cell: exp(-0.5 / (2 * 1.5^2)) = 0.895
    assert err["argmax"].max() <= 0.5 + 1e-6
    assert err["quarter"].max() <= 0.25 + 1e-6
    for name in ("dark", "softargmax"):
        euclid = np.hypot(err[name][..., 0], err[name][..., 1])
        assert euclid.max() < 0.05, f"{name}: {euclid.max():.4f} cell"
    # and through the codec in input pixels: 0.05 cell = 0.2 px at stride 4
    coords, _ = codec.decode(maps)
    np.testing.assert_allclose(coords.double().numpy(), (pts + 0.5) * 4 - 0.5, atol=0.2)


@pytest.mark.parametrize("name", DECODER_NAMES)
def test_cell_centre_decodes_exactly(name):
    # integer heatmap positions, at least 3 sigma + the soft-argmax window (6 cells) from the border
    codec = HeatmapCodec(128, 32, 2.0)
    pts = np.array([[[10.0, 17.0], [20.0, 12.0]]])
    maps, _ = _targets(codec, pts)
    coords, scores = codec.decoder_fn(name)(maps.double())
    np.testing.assert_allclose(coords.numpy(), pts, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), [[1.0, 1.0]], atol=1e-6)


def test_decode_batched_shapes_and_methods():
    codec = HeatmapCodec(192, 48, 2.0, decoder="quarter")
    rng = np.random.default_rng(7)
    pts = rng.uniform(10, 180, size=(3, 7, 2))
    maps, _ = codec.encode_batch(torch.from_numpy(pts))
    for method in (None, *DECODER_NAMES):
        coords, scores = codec.decode(maps, method=method)
        assert coords.shape == (3, 7, 2) and scores.shape == (3, 7)
        assert coords.dtype == torch.float32
    # batch elements are independent: decoding one face alone gives the same answer
    alone, _ = codec.decode(maps[1:2], method="dark")
    together, _ = codec.decode(maps, method="dark")
    torch.testing.assert_close(alone[0], together[1])
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(B, K, 48, 48\), got \(7, 48, 48\)"):
        codec.decode(maps[0])
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(B, K, 48, 48\), got \(3, 7, 32, 32\)"):
        codec.decode(torch.zeros(3, 7, 32, 32))
    with pytest.raises(ValueError, match="unknown decoder 'mean'"):
        codec.decode(maps, method="mean")
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        codec.decode(maps.numpy())


def test_argmax_breaks_ties_in_row_major_order_like_a_flat_argmax():
    # maps of 0 / 1 / 2 values: most maxima are tied; the row-then-column search must pick the same
    # cell as one argmax over the flattened map (the first in row-major order)
    hm = torch.randint(0, 3, (2, 7, 9, 11), generator=torch.Generator().manual_seed(0)).float()
    coords, scores = argmax_decode(hm)
    flat = hm.flatten(2).argmax(dim=-1)
    assert torch.equal(coords[..., 0].long(), flat % 11) and torch.equal(coords[..., 1].long(), flat // 11)
    assert torch.equal(scores, hm.amax(dim=(-2, -1)).clamp(0, 1))
    assert hm.flatten(2).eq(2).sum(-1).max() > 1  # the test has ties to break


def test_decoders_on_empty_and_border_maps_stay_finite():
    hm = torch.zeros(1, 3, 16, 16)
    hm[0, 1, 0, 15] = 0.7  # a peak on the corner: no neighbourhood for DARK / quarter
    hm[0, 2] = -0.1  # a negative map
    for fn in (argmax_decode, quarter_offset_decode, soft_argmax_decode):
        coords, scores = fn(hm)
        assert torch.isfinite(coords).all()
    coords, scores = dark_decode(hm, sigma=1.5)
    assert torch.isfinite(coords).all()
    assert coords[0, 1].tolist() == [15.0, 0.0]
    assert scores[0].tolist() == pytest.approx([0.0, 0.7, 0.0])


def test_dark_clamps_a_wild_step_and_skips_non_maxima():
    # a map that rises linearly to the right: the argmax is at the right border -> no step
    ramp = torch.arange(16.0).repeat(16, 1)[None, None] / 15.0
    coords, _ = dark_decode(ramp, sigma=1.0)
    assert coords[0, 0].tolist() == [15.0, 0.0]
    # a nearly flat top (two equal cells): the step stays within one cell of the argmax
    flat = torch.zeros(1, 1, 16, 16)
    flat[0, 0, 8, 8] = flat[0, 0, 8, 9] = 1.0
    coords, _ = dark_decode(flat, sigma=1.0)
    assert 8.0 <= float(coords[0, 0, 0]) <= 9.0 and float(coords[0, 0, 1]) == pytest.approx(8.0, abs=1e-5)


def test_soft_argmax_is_scale_invariant_differentiable_and_window_ignores_a_far_blob():
    centres = torch.tensor([[[20.3, 11.6]]], dtype=torch.float64)
    hm = gaussian_heatmaps(centres, width=32, height=32, sigma=2.0)
    a, _ = soft_argmax_decode(hm)
    b, _ = soft_argmax_decode(0.3 * hm)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, centres, atol=1e-3, rtol=0)
    # a second, weaker blob far away drags the full-map estimate but not the windowed one
    other = 0.8 * gaussian_heatmaps(torch.tensor([[[5.0, 25.0]]], dtype=torch.float64), width=32, height=32, sigma=2.0)
    full, _ = soft_argmax_decode(hm + other)
    local, _ = soft_argmax_decode(hm + other, radius=6)
    assert float((full - centres).norm()) > 1.0
    torch.testing.assert_close(local, centres, atol=1e-3, rtol=0)
    x = hm.clone().requires_grad_(True)
    soft_argmax_decode(x)[0].sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="beta must be positive, got 0"):
        soft_argmax_decode(hm, beta=0)


def test_gaussian_blur_preserves_mass_away_from_border_and_checks_kernel():
    hm = torch.zeros(1, 1, 21, 21)
    hm[0, 0, 10, 10] = 1.0
    out = gaussian_blur(hm, sigma=1.5)  # kernel 2 * ceil(4.5) + 1 = 11, normalised
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-6)
    assert float(out[0, 0, 10, 10]) == pytest.approx(float(out.max()))
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer, got 6"):
        gaussian_blur(hm, sigma=1.0, kernel_size=6)
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(B, K, h, w\), got \(21, 21\)"):
        gaussian_blur(hm[0, 0], sigma=1.0)


def test_gaussian_blur_export_form_equals_the_band_matrices():
    """An exported graph blurs with two depthwise convolutions, eager PyTorch with band matrices: the
    same zero-padded separable blur, equal to float rounding (non-square maps, two kernel sizes)."""
    from facealign.codecs.decoders import _depthwise_blur

    hm = torch.rand(2, 5, 20, 26, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for sigma, kernel in ((1.5, None), (2.0, 7)):
        radius = (kernel or 2 * math.ceil(3 * sigma) + 1) // 2
        torch.testing.assert_close(_depthwise_blur(hm, sigma, radius), gaussian_blur(hm, sigma=sigma, kernel_size=kernel), rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("name", ["dark", "softargmax"])
def test_decoders_export_to_onnx_and_match(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    codec = HeatmapCodec(128, 32, 2.0)

    class Decode(torch.nn.Module):
        def forward(self, hm):
            return codec.decode(hm, method=name)

    pts = torch.from_numpy(np.random.default_rng(0).uniform(20, 100, size=(2, 5, 2)))
    hm, _ = codec.encode_batch(pts)
    path = tmp_path / "decode.onnx"
    torch.onnx.export(
        Decode(), (hm,), str(path), input_names=["h"], output_names=["c", "s"], dynamo=False, opset_version=17
    )
    coords, scores = ort.InferenceSession(str(path)).run(None, {"h": hm.numpy()})
    ref_c, ref_s = codec.decode(hm, method=name)
    np.testing.assert_allclose(coords, ref_c.numpy(), atol=1e-3)
    np.testing.assert_allclose(scores, ref_s.numpy(), atol=1e-6)
