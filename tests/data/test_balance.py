"""Pose-based data balancing (PDB): Procrustes, the pose axis, bins and oversampling."""

import numpy as np
import pytest

from facealign.data.balance import balanced_indices, pose_bins, pose_coefficients, procrustes_align

# a frontal 5-point face: eyes, nose tip, mouth corners
FACE = np.array([[30.0, 40.0], [70.0, 40.0], [50.0, 60.0], [35.0, 80.0], [65.0, 80.0]])


def _yawed(t):
    """Yaw as the nose tip sliding sideways by ``t`` px (the rest of the face fixed)."""
    s = FACE.copy()
    s[2, 0] += t
    return s


def _similar(shape, angle, scale, shift):
    c, s = np.cos(angle), np.sin(angle)
    return scale * shape @ np.array([[c, s], [-s, c]]) + shift


def test_procrustes_removes_similarity_transforms():
    shapes = np.stack([_similar(FACE, a, k, (dx, 3.0)) for a, k, dx in [(0, 1, 0), (0.3, 2, 10), (-0.5, 0.5, -7)]])
    aligned = procrustes_align(shapes)
    assert np.abs(aligned - aligned[0]).max() < 1e-9  # one shape under three similarity transforms


def test_pose_axis_orders_faces_by_yaw_whatever_their_position_and_scale():
    rng = np.random.default_rng(0)
    ts = np.linspace(-10, 10, 21)
    shapes = np.stack([_similar(_yawed(t), rng.uniform(-0.3, 0.3), rng.uniform(0.5, 2), rng.uniform(-20, 20, 2)) for t in ts])
    coef = pose_coefficients(shapes)
    order = np.argsort(coef)
    assert (order == np.arange(21)).all() or (order == np.arange(21)[::-1]).all()
    bins = pose_bins(shapes, 3)
    # 21 evenly spread yaws in 3 equal-width bins: 7 each (the range's top lands in the last bin)
    assert sorted(np.bincount(bins).tolist()) == [7, 7, 7]


def test_balanced_indices_oversample_the_rare_poses():
    # 8 frontal faces (t ~ 0) and 2 profile-ish ones (t = 10): with 2 bins the 2 rare faces are repeated 4x
    ts = [0, 0.1, -0.1, 0.2, -0.2, 0.05, -0.05, 0.15, 10, 10.1]
    shapes = np.stack([_yawed(t) for t in ts])
    idx = balanced_indices(shapes, 2)
    counts = np.bincount(idx, minlength=10)
    assert len(idx) == 16 and counts[:8].tolist() == [1] * 8 and counts[8:].tolist() == [4, 4]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="shapes must be fully labelled"):
        pose_bins(np.full((3, 5, 2), np.nan))
    with pytest.raises(ValueError, match=r"shapes must be \(M >= 2, K >= 2, 2\)"):
        pose_bins(np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        pose_bins(np.stack([FACE, FACE]), 0)
