"""Data-driven landmark adjacency of the Structure Coherence Component (Zhu, Lin et al., "Fast and
Accurate: Structure Coherence Component for Face Alignment", Sec. 3.2 "Neighborhoods Construction").

Landmarks are graph nodes. Over a training set of shapes ``T (M, N, 2)`` the Pearson correlation of
the x coordinates (``C_x``) and of the y coordinates (``C_y``) between every pair of landmarks are
combined as ``C = (|C_x| + |C_y|) / 2`` (Eq. 4); each row keeps its ``k + 1`` largest entries, the
self-loop included, as a binary matrix ``M`` (Eq. 5). ``M`` fixes *which* nodes talk to each other;
their weights are learned per image (:mod:`facealign.models.scc.graph`, Eq. 6).

The correlations depend on the coordinate frame: build ``M`` on the training targets in the frame the
model regresses (aligned crops), not on augmented copies.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_K", "build_adjacency", "check_adjacency", "landmark_correlation"]

#: Neighbours per landmark besides itself (Sec. 4.2 and Table 7: k = 3 is best on WFLW).
DEFAULT_K = 3


def _check_shapes(shapes: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(shapes, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise ValueError(f"{name}: shapes must be (M, N, 2) landmark (x, y) coordinates, got {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: need at least 2 shapes of at least 2 landmarks, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: shapes contain NaN or inf")
    return arr


def _pearson_columns(values: np.ndarray) -> np.ndarray:
    """Pearson correlation between the columns of ``values (M, N)`` -> ``(N, N)``.

    A column that never varies has no defined correlation: its off-diagonal entries are 0 and its
    diagonal entry 1 (every landmark is perfectly correlated with itself).
    """
    centred = values - values.mean(axis=0, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=0))
    cov = centred.T @ centred
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(norms, norms)
    corr[~np.isfinite(corr)] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def landmark_correlation(shapes: np.ndarray) -> np.ndarray:
    """SCC Eq. 4: ``C = (|C_x| + |C_y|) / 2`` with ``C_x`` / ``C_y`` the Pearson correlations of the
    landmarks' x / y coordinates over the shapes.

    Shape: ``shapes (M, N, 2)`` (x, y) -> ``(N, N)`` float64, symmetric, values in [0, 1], diagonal 1.
    """
    arr = _check_shapes(shapes, "landmark_correlation")
    cx = _pearson_columns(arr[:, :, 0])
    cy = _pearson_columns(arr[:, :, 1])
    return 0.5 * (np.abs(cx) + np.abs(cy))


def build_adjacency(shapes: np.ndarray, k: int = DEFAULT_K) -> np.ndarray:
    """SCC Eq. 5: the binary adjacency ``M`` keeping, per row of :func:`landmark_correlation`, the
    self-loop and the ``k`` most correlated other landmarks (the top ``k + 1`` of the row).

    The self-loop is always kept (``C_ii = 1`` is a row maximum; a tie with another landmark at
    correlation 1 could otherwise push it out). Ties among the others go to the lower index. ``M`` is
    not symmetric in general: row ``i`` lists the neighbours node ``i`` gathers features from.

    Shape: ``shapes (M, N, 2)`` -> ``(N, N)`` float32 of 0 / 1, every row summing to ``k + 1``.
    """
    arr = _check_shapes(shapes, "build_adjacency")
    n = arr.shape[1]
    if int(k) != k or not 0 <= k <= n - 1:
        raise ValueError(f"build_adjacency: k must be an integer in [0, {n - 1}] for {n} landmarks, got {k}")
    corr = landmark_correlation(arr)
    np.fill_diagonal(corr, np.inf)  # the self-loop first
    order = np.argsort(-corr, axis=1, kind="stable")[:, : int(k) + 1]
    mask = np.zeros((n, n), dtype=np.float32)
    np.put_along_axis(mask, order, 1.0, axis=1)
    return mask


def check_adjacency(mask: np.ndarray, *, num_points: int, k: int) -> np.ndarray:
    """Validate an adjacency mask for ``num_points`` landmarks and ``k`` neighbours: ``(N, N)``, values
    0 / 1, self-loops on the diagonal, ``k + 1`` ones per row. Returns it as float32."""
    arr = np.asarray(mask, dtype=np.float32)
    if arr.shape != (num_points, num_points):
        raise ValueError(f"adjacency must be ({num_points}, {num_points}), got {arr.shape}")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("adjacency must hold only 0 and 1")
    if not (np.diag(arr) == 1.0).all():
        raise ValueError("adjacency must have self-loops (ones on the diagonal)")
    sums = arr.sum(axis=1)
    if not (sums == k + 1).all():
        bad = int(np.flatnonzero(sums != k + 1)[0])
        raise ValueError(f"adjacency rows must each hold k + 1 = {k + 1} ones, row {bad} holds {int(sums[bad])}")
    return arr
