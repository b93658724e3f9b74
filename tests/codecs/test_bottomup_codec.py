"""Bottom-up (FoxNet) codec: targets, NMS, sub-pixel refinement, mean shift, grouping, round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logit

from facealign.codecs import BottomUpCodec, mean_shift, nms_peaks, refine_peaks
from facealign.codecs.bottomup import BANDWIDTH, log_sigmoid, sigmoid
from facealign.codecs.heatmap import gaussian_heatmaps

#: A 5-point face (eyes, nose, mouth corners) in input pixels, 20 px wide.
FACE = np.array([[10.0, 10.0], [30.0, 10.0], [20.0, 20.0], [12.0, 30.0], [28.0, 30.0]])


def _codec(**kw: object) -> BottomUpCodec:
    return BottomUpCodec(input_size=128, heatmap_size=32, num_points=5, **kw)


def _perfect_outputs(codec: BottomUpCodec, faces: list[np.ndarray], dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose sigmoid is the target exactly; one-hot embeddings per instance (basis vector f for
    face f, the last basis vector off the faces)."""
    t = codec.encode(faces)
    logits = logit(np.clip(t.segmentation.astype(np.float64), 1e-6, 1 - 1e-6))
    emb = np.zeros((dim, codec.heatmap_size, codec.heatmap_size))
    for f in range(len(faces)):
        emb[f][t.instance == f + 1] = 1.0
    emb[dim - 1][t.instance == 0] = 1.0
    return logits, emb


def test_round_trip_three_faces_with_a_missing_point() -> None:
    codec = _codec()
    faces = [FACE + [5.3, 7.1], FACE + [60.2, 3.7], FACE + [30.6, 70.9]]
    faces[1][2] = np.nan  # face 2's nose is not visible
    out = codec.decode(*_perfect_outputs(codec, faces))
    assert len(out) == 3
    got = sorted(out, key=lambda f: np.nanmean(f.points[:, 0]) + 10 * np.nanmean(f.points[:, 1]))
    want = sorted(faces, key=lambda f: np.nanmean(f[:, 0]) + 10 * np.nanmean(f[:, 1]))
    for g, w in zip(got, want):
        missing = np.isnan(w).any(axis=1)
        assert np.array_equal(np.isnan(g.points).any(axis=1), missing)  # never invented
        assert np.all(g.scores[missing] == 0.0) and np.all(g.scores[~missing] > 0.5)
        np.testing.assert_allclose(g.points[~missing], w[~missing], atol=0.05)  # sub-pixel: exact for a Gaussian


def test_encode_targets() -> None:
    codec = _codec(sigma=1.5)
    t = codec.encode([FACE, FACE + 8.0])  # the second face (shifted 2 cells) overlaps and covers the first
    assert t.segmentation.shape == (5, 32, 32) and t.segmentation.dtype == np.float32
    assert t.instance.shape == (32, 32) and t.instance.dtype == np.int64
    # nose of face 1 at input (20, 20) -> cell (20 + 0.5) / 4 - 0.5 = 4.625: Gaussian peak exp(-2 * 0.125^2 / 4.5)
    assert t.segmentation[2, 5, 5] == pytest.approx(np.exp(-2 * 0.375**2 / 4.5), abs=1e-6)  # (5, 5) is 0.375 away each way
    assert t.instance[6, 6] == 2  # inside both hulls: the later face wins
    assert t.instance[2, 2] == 1  # face 1's left eye, input (10, 10) -> cell (2.125, 2.125); face 2's hull starts at 4.125
    assert t.instance[31, 31] == 0
    empty = codec.encode([])
    assert empty.segmentation.max() == 0 and empty.instance.max() == 0
    with pytest.raises(ValueError, match=r"face 0 must have points of shape \(5, 2\)"):
        codec.encode([FACE[:4]])


def test_nms_hand_worked() -> None:
    probs = np.array([[[0.1, 0.9, 0.2, 0.1], [0.3, 0.4, 0.2, 0.8], [0.1, 0.2, 0.1, 0.7]]])
    # 0.9 at (0, 1) and 0.8 at (1, 3) are the maxima of their 3 x 3 windows; 0.7 at (2, 3) sees 0.8, 0.4 sees 0.9
    ch, row, col, score = nms_peaks(probs, kernel=3, threshold=0.5)
    assert ch.tolist() == [0, 0] and row.tolist() == [0, 1] and col.tolist() == [1, 3]
    assert score.tolist() == pytest.approx([0.9, 0.8])
    assert nms_peaks(probs, kernel=3, threshold=0.85)[3].tolist() == pytest.approx([0.9])
    assert nms_peaks(probs, kernel=3, threshold=0.5, max_per_channel=1)[1].tolist() == [0]
    # kernel 1: every cell is its own maximum; 0.9, 0.8, 0.7 pass 0.5
    assert nms_peaks(probs, kernel=1, threshold=0.5)[3].tolist() == pytest.approx([0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match="odd"):
        nms_peaks(probs, kernel=2)
    # two channels, a tie: both cells of equal score are kept, in raster order, channel 0 first
    two = np.stack([probs[0], np.array([[0.6, 0.0, 0.0, 0.6], [0.0, 0.0, 0.0, 0.0], [0.0, 0.95, 0.0, 0.0]])])
    ch, row, col, score = nms_peaks(two, kernel=3, threshold=0.5)
    assert ch.tolist() == [0, 0, 1, 1, 1] and row.tolist() == [0, 1, 2, 0, 0] and col.tolist() == [1, 3, 1, 0, 3]
    assert score.tolist() == pytest.approx([0.9, 0.8, 0.95, 0.6, 0.6])
    assert nms_peaks(two, kernel=3, threshold=0.5, max_per_channel=1)[0].tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"probabilities must be \(K, h, w\), got \(3, 4\)"):
        nms_peaks(probs[0])


def test_refine_is_exact_on_a_gaussian() -> None:
    probs = gaussian_heatmaps(torch.tensor([[2.3, 1.8]], dtype=torch.float64), width=6, height=6, sigma=1.0).numpy()
    xy = refine_peaks(logit(probs), np.array([0]), np.array([2]), np.array([2]))  # log sigmoid(logit p) = log p
    assert xy.dtype == np.float64
    np.testing.assert_allclose(xy, [[2.3, 1.8]], atol=1e-9)
    # at the border there is no neighbour on one side: the integer cell is kept
    edge = refine_peaks(logit(probs), np.array([0]), np.array([0]), np.array([0]))
    np.testing.assert_allclose(edge, [[0.0, 0.0]])


def test_mean_shift_finds_two_blobs() -> None:
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(3, 0.1, (30, 2))])
    labels, modes = mean_shift(pts, bandwidth=1.0)
    assert len(modes) == 2
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1 and labels[0] != labels[20]
    assert labels[20] == 0  # modes by density: the blob of 30 first
    np.testing.assert_allclose(modes[0], pts[20:].mean(axis=0), atol=1e-9)
    labels, modes = mean_shift(np.zeros((0, 3)), bandwidth=1.0)
    assert labels.shape == (0,) and modes.shape == (0, 3)
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        mean_shift(pts, bandwidth=0.0)


def test_mean_shift_seeds_a_bin_whose_centre_is_out_of_reach() -> None:
    """In 8 dimensions the bin centre of (0.49, ..., 0.49) is the origin, 0.49 * sqrt(8) = 1.386 away:
    more than the bandwidth 1, so no point is within reach of that seed (scikit-learn drops it; this
    used to leave no mode at all and fail). The bin's own point seeds it instead."""
    x = np.full((1, 8), 0.49)
    labels, modes = mean_shift(x, bandwidth=1.0)
    np.testing.assert_array_equal(labels, [0])
    np.testing.assert_allclose(modes, x)
    # two such lonely bins far apart stay two faces, each point with its own
    two = np.concatenate([x, x + 5.0, x + 5.1])
    labels, modes = mean_shift(two, bandwidth=1.0)
    assert len(modes) == 2 and labels[1] == labels[2] != labels[0]
    np.testing.assert_allclose(modes[0], x[0] + 5.05)  # the denser mode first, at its points' mean
    with pytest.raises(ValueError, match="finite"):
        mean_shift(np.array([[0.0, np.nan]]), bandwidth=1.0)


def test_assemble_keeps_the_best_candidate_per_landmark_and_drops_small_groups() -> None:
    codec = _codec(min_points=2)
    labels = np.array([0, 0, 0, 1])
    channel = np.array([1, 1, 0, 3])
    points = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])
    score = np.array([0.4, 0.9, 0.5, 0.99])
    faces = codec.assemble(labels, channel, points, score)
    assert len(faces) == 1  # group 1 has a single landmark (< min_points 2)
    np.testing.assert_array_equal(faces[0].points[1], [2.0, 2.0])  # 0.9 beats 0.4 for landmark 1
    np.testing.assert_array_equal(faces[0].scores, [0.5, 0.9, 0.0, 0.0, 0.0])
    assert np.isnan(faces[0].points[2:]).all()


def test_decode_checks_shapes_and_handles_no_candidates() -> None:
    codec = _codec()
    assert codec.decode(np.full((5, 32, 32), -10.0, dtype=np.float32), np.zeros((8, 32, 32), dtype=np.float32)) == []
    with pytest.raises(ValueError, match=r"logits must be \(5, h, w\)"):
        codec.decode(np.zeros((4, 32, 32)), np.zeros((8, 32, 32)))
    with pytest.raises(ValueError, match="embedding must be"):
        codec.decode(np.zeros((5, 32, 32)), np.zeros((8, 16, 32)))
    with pytest.raises(ValueError, match="multiple of heatmap_size"):
        BottomUpCodec(input_size=100, heatmap_size=32, num_points=5)


def test_replace_changes_only_what_it_is_given_and_checks_it():
    codec = BottomUpCodec(input_size=64, heatmap_size=16, num_points=68, sigma=1.5, min_points=5)
    other = codec.replace(threshold=0.25, bandwidth=1.0)
    assert (other.threshold, other.bandwidth) == (0.25, 1.0) and (codec.threshold, codec.bandwidth) == (0.3, BANDWIDTH)
    assert (other.input_size, other.heatmap_size, other.num_points, other.sigma, other.min_points) == (64, 16, 68, 1.5, 5)
    assert (other.nms_kernel, other.max_per_channel) == (codec.nms_kernel, codec.max_per_channel)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        codec.replace(threshold=1.5)
    with pytest.raises(TypeError, match=r"unknown settings \['radius'\]"):
        codec.replace(radius=2)


def test_sigmoid_hand_worked_and_the_candidate_threshold() -> None:
    # log sigmoid(0) = -log 2; sigmoid(log 3) = 3 / 4; far out: no overflow, log sigmoid(-800) = -800 exactly
    np.testing.assert_allclose(log_sigmoid(np.array([0.0, -800.0, 800.0])), [-np.log(2.0), -800.0, 0.0])
    assert sigmoid(np.float32(np.log(3.0))) == pytest.approx(0.75)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is the answer
        assert sigmoid(np.array([-800.0]))[0] == 0.0
    # a peak just over logit(0.3) = log(3 / 7) and one just under it: threshold 0.3 keeps the first only
    codec = _codec(threshold=0.3)
    logits = np.full((5, 32, 32), -20.0)
    logits[0, 10, 10] = np.log(0.3 / 0.7) + 1e-9
    logits[1, 10, 10] = np.log(0.3 / 0.7) - 1e-9
    channel, cell, xy, score = codec.candidates(logits)
    assert channel.tolist() == [0] and cell.tolist() == [[10, 10]] and score == pytest.approx([0.3])
    np.testing.assert_allclose(xy, [[10.0, 10.0]])  # a symmetric peak: no sub-pixel step
