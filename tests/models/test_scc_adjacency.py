"""SCC data-driven adjacency (Eqs. 4-5) on hand-worked shapes and on the real 68-point teacher labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facealign.models.scc.adjacency import build_adjacency, check_adjacency, landmark_correlation

TRAIN68 = Path("/work/shared/data/faces/train68.txt")

# Five shapes of four points. With t = [-2, -1, 0, 1, 2] (mean 0, sum of squares 10) and
# s = t**2 - 2 = [2, -1, -2, -1, 2] (mean 0, sum of squares 14, s . t = 0):
#   p0: x = t,               y = t
#   p1: x = t,               y = -t
#   p2: x = s,               y = s
#   p3: x = u = [-1,-1,0,1,1] (ss 4), y = v = [1, 0, -2, 0, 1] (ss 6)
# Pearson: corr(t, u) = 6 / sqrt(10 * 4) = 0.948683; corr(s, u) = 0 (s . u = -2+1+0-1+2);
#          corr(t, v) = 0 (-2+0+0+0+2); corr(s, v) = 8 / sqrt(14 * 6) = 0.872872.
# Eq. 4, C = (|Cx| + |Cy|) / 2:
#   C01 = (1 + 1) / 2 = 1        C02 = 0              C03 = (0.948683 + 0) / 2 = 0.474342
#   C12 = 0                      C13 = 0.474342       C23 = (0 + 0.872872) / 2 = 0.436436
T = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
S = T**2 - 2
U = np.array([-1.0, -1.0, 0.0, 1.0, 1.0])
V = np.array([1.0, 0.0, -2.0, 0.0, 1.0])
SHAPES = np.stack(
    [np.stack([T, T], 1), np.stack([T, -T], 1), np.stack([S, S], 1), np.stack([U, V], 1)], axis=1
) + np.array([100.0, 50.0])  # a constant translation changes no correlation
C_EXPECTED = np.array(
    [
        [1.0, 1.0, 0.0, 0.474342],
        [1.0, 1.0, 0.0, 0.474342],
        [0.0, 0.0, 1.0, 0.436436],
        [0.474342, 0.474342, 0.436436, 1.0],
    ]
)


def test_correlation_matches_the_hand_computation() -> None:
    assert SHAPES.shape == (5, 4, 2)
    np.testing.assert_allclose(landmark_correlation(SHAPES), C_EXPECTED, atol=1e-6)


@pytest.mark.parametrize(
    ("k", "neighbours"),
    [
        # k = 0: only the self-loop, even in row 1 where C10 = C11 = 1 ties with a lower index.
        (0, [[0], [1], [2], [3]]),
        # k = 1: row 3's tie C30 = C31 = 0.474 goes to the lower index 0.
        (1, [[0, 1], [0, 1], [2, 3], [0, 3]]),
        # k = 2: row 2 takes 3 (0.436), then the tie C20 = C21 = 0 goes to 0.
        (2, [[0, 1, 3], [0, 1, 3], [0, 2, 3], [0, 1, 3]]),
    ],
)
def test_top_k_plus_one_per_row_with_self_loops(k: int, neighbours: list[list[int]]) -> None:
    mask = build_adjacency(SHAPES, k=k)
    assert mask.dtype == np.float32 and mask.shape == (4, 4)
    assert [list(np.flatnonzero(row)) for row in mask] == neighbours
    np.testing.assert_array_equal(mask.sum(axis=1), k + 1)
    np.testing.assert_array_equal(np.diag(mask), 1.0)


def test_constant_landmark_has_no_correlation_but_keeps_its_self_loop() -> None:
    shapes = SHAPES.copy()
    shapes[:, 2, :] = 7.0  # p2 never moves: its correlations are undefined -> 0
    c = landmark_correlation(shapes)
    assert c[2, 2] == 1.0 and c[2, [0, 1, 3]].tolist() == [0.0, 0.0, 0.0]
    assert np.isfinite(c).all()


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"shapes must be \(M, N, 2\).*got \(5, 4\)"):
        build_adjacency(np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 3\] for 4 landmarks, got 4"):
        build_adjacency(SHAPES, k=4)
    with pytest.raises(ValueError, match="NaN or inf"):
        build_adjacency(np.full((3, 4, 2), np.nan))
    with pytest.raises(ValueError, match=r"rows must each hold k \+ 1 = 2 ones, row 0 holds 1"):
        check_adjacency(np.eye(3), num_points=3, k=1)
    with pytest.raises(ValueError, match=r"must be \(4, 4\), got \(3, 3\)"):
        check_adjacency(np.eye(3), num_points=4, k=0)


def _load_train68() -> np.ndarray:
    rows = [line.split() for line in TRAIN68.read_text().splitlines() if line.strip()]
    return np.array([[float(v) for v in r[1:]] for r in rows]).reshape(len(rows), 68, 2)


@pytest.mark.skipif(not TRAIN68.is_file(), reason="shared 68-point labels not present")
def test_real_68_point_labels_give_anatomical_neighbours() -> None:
    shapes = _load_train68()
    assert shapes.shape[1:] == (68, 2) and shapes.shape[0] > 1000
    mask = build_adjacency(shapes, k=3)
    np.testing.assert_array_equal(mask.sum(axis=1), 4)
    nbrs = {i: set(np.flatnonzero(mask[i])) - {i} for i in range(68)}
    # 0-based iBUG 68: jaw 0-16, right eye 36-41, left eye 42-47.
    right_eye, left_eye = set(range(36, 42)), set(range(42, 48))
    for i in right_eye:
        assert nbrs[i] <= right_eye, (i, nbrs[i])
    for i in left_eye:
        assert nbrs[i] <= left_eye, (i, nbrs[i])
    # Every jaw point's three neighbours are jaw points at most 3 positions along the contour.
    for i in range(17):
        assert all(j <= 16 and abs(j - i) <= 3 for j in nbrs[i]), (i, nbrs[i])
