"""Anchor grouping (near-linear FoxNet decoding): a hand-worked case, ideal outputs grouped exactly
(as by the paper's mean shift), forty noisy faces recovered."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facealign.codecs import BottomUpCodec
from facealign.codecs.anchor_grouping import anchor_grouping


def test_hand_worked_three_faces_one_without_its_anchor() -> None:
    # 2-D unit embeddings, bandwidth 0.5. Channels 0, 1, 2 have 2 candidates each; channel 0 has the
    # largest summed score (0.9 + 0.8 = 1.7 vs 1.3 and 0.9), so it is the anchor: seeds A = (1, 0), B = (0, 1).
    # (0.96, 0.28) is 0.283 from A (1.2 from B): joins A. (-1, 0) is 2 from A and 1.41 from B: seeds C.
    # (-0.96, -0.28) is 0.283 from C: joins C. (0.28, 0.96) is 0.283 from B: joins B.
    # Refined means (0.990, 0.141), (0.141, 0.990), (-0.990, -0.141) are > 0.5 apart: nothing merges.
    # All groups hold 2: labels by seed order A, B, C.
    emb = np.array([[1, 0], [0, 1], [0.96, 0.28], [-1, 0], [-0.96, -0.28], [0.28, 0.96]])
    channel = np.array([0, 0, 1, 1, 2, 2])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = anchor_grouping(emb, channel, score, bandwidth=0.5)
    np.testing.assert_array_equal(labels, [0, 1, 0, 2, 2, 1])


def test_anchor_twin_within_bandwidth_joins_the_same_face_and_largest_face_comes_first() -> None:
    # Two anchor peaks 0.447 apart (< 0.5): one seed. Face B has 3 members, A 2 + twin = 3 ... B gets a third.
    emb = np.array([[1, 0], [0.9, 0.436], [0, 1], [0.1, 0.995], [-0.1, 0.995], [0.96, -0.28]])
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    channel = np.array([0, 0, 0, 1, 2, 2])
    score = np.array([0.9, 0.5, 0.8, 0.7, 0.6, 0.4])
    labels = anchor_grouping(emb, channel, score, bandwidth=0.5)
    assert labels[0] == labels[1] == labels[5] and labels[2] == labels[3] == labels[4] and labels[0] != labels[2]
    assert labels.max() == 1


def test_checks_its_inputs_and_handles_no_candidates() -> None:
    assert anchor_grouping(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0), bandwidth=0.5).shape == (0,)
    with pytest.raises(ValueError, match=r"expected \(M, d\) embeddings with \(M,\) channels"):
        anchor_grouping(np.zeros((3, 4)), np.zeros(2, int), np.zeros(3), bandwidth=0.5)
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        anchor_grouping(np.zeros((3, 4)), np.zeros(3, int), np.zeros(3), bandwidth=0.0)
    with pytest.raises(ValueError, match="grouping must be one of"):
        BottomUpCodec(input_size=128, heatmap_size=32, num_points=5, grouping="kmeans")


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


def test_recovers_forty_separated_noisy_faces() -> None:
    # 40 faces x 68 landmarks (a fifth missing), embeddings within ~0.15 of their face's direction (40
    # orthonormal directions in 48-D, chord 1.41 apart, as the Fox loss's distance margin asks)
    rng = np.random.default_rng(0)
    centres = np.linalg.qr(rng.normal(size=(48, 40)))[0].T
    face = np.repeat(np.arange(40), 68)
    channel = np.tile(np.arange(68), 40)
    keep = rng.random(len(face)) > 0.2
    face, channel = face[keep], channel[keep]
    emb = centres[face] + rng.normal(0, 0.02, (len(face), 48))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    score = rng.uniform(0.3, 1.0, len(face))
    labels = anchor_grouping(emb, channel, score, bandwidth=0.707)
    assert _same_partition(labels, face)


def test_ideal_outputs_grouped_exactly_both_ways() -> None:
    # 16 five-point faces on a 4 x 4 grid of a 256 px input; face 3 misses landmarks 0 and 2 (every
    # face's anchor candidate is one of the 5; 3 lacks two of them); perfect logits, one-hot embeddings.
    codec = BottomUpCodec(input_size=256, heatmap_size=64, num_points=5)
    base = np.array([[10.0, 10.0], [30.0, 10.0], [20.0, 20.0], [12.0, 30.0], [28.0, 30.0]])
    faces = [base + [64.0 * (i % 4) + 5.3, 64.0 * (i // 4) + 7.1] for i in range(16)]
    faces[3][[0, 2]] = np.nan
    t = codec.encode(faces)
    logits = torch.logit(torch.from_numpy(t.segmentation).double().clamp(1e-6, 1 - 1e-6))
    inst = torch.from_numpy(t.instance)
    emb = torch.stack([(inst == f).double() for f in range(17)])
    for grouping in ("anchor", "mean_shift"):
        out = codec.replace(grouping=grouping).decode(logits, emb)
        assert len(out) == 16
        got = sorted(out, key=lambda f: (np.nanmin(f.points[:, 1]) // 64, np.nanmin(f.points[:, 0])))
        for want, face in zip(faces, got):
            np.testing.assert_array_equal(np.isnan(face.points), np.isnan(want))
            np.testing.assert_allclose(face.points[np.isfinite(want)], want[np.isfinite(want)], atol=0.05)
