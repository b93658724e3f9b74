"""Pose-based data balancing, PDB (Feng et al., "Wing Loss for Robust Facial Landmark Localisation with
Convolutional Neural Networks", CVPR 2018, Sec. 5; used by SCC with 9 bins, Zhu et al. Sec. 4.2).

PDB in the paper's steps:

1. align every training shape to the mean shape by Procrustes analysis (similarity transforms; the
   mean is re-estimated from the aligned shapes, generalised Procrustes);
2. PCA of the aligned shapes; project each shape on the first principal component, the direction
   along which frontal and profile faces differ most (the paper's "eigenvector controlling pose");
3. split the range of projection coefficients into ``bins`` equal-width bins;
4. balance the training set by duplicating the samples of under-occupied bins until every non-empty
   bin holds as many samples as the fullest one.

:func:`balanced_indices` returns the oversampled index list (deterministic: a bin of ``n`` samples
raised to ``M`` repeats its samples in order, ``M // n`` times each plus the first ``M % n`` once more);
the trainer shuffles it every epoch, and augmentation makes the copies differ.
"""

from __future__ import annotations

import numpy as np

from ..geometry import apply_affine, umeyama

__all__ = ["DEFAULT_BINS", "balanced_indices", "pose_bins", "pose_coefficients", "procrustes_align"]

#: Bins of SCC's PDB (Zhu et al. Sec. 4.2).
DEFAULT_BINS = 9
#: Iterations of generalised Procrustes analysis (the mean shape settles within two or three).
PROCRUSTES_ITERATIONS = 3


def _check_shapes(shapes: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(shapes, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: shapes must be (M >= 2, K >= 2, 2), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: shapes must be fully labelled (finite); drop faces with missing points first")
    return arr


def procrustes_align(shapes: np.ndarray, *, iterations: int = PROCRUSTES_ITERATIONS) -> np.ndarray:
    """Generalised Procrustes analysis: every shape similarity-aligned (Umeyama) to the mean shape, the
    mean re-estimated from the aligned shapes ``iterations`` times (the first reference is shape 0).
    Shape: ``(M, K, 2) -> (M, K, 2)``."""
    arr = _check_shapes(shapes, "procrustes_align")
    ref = arr[0]
    aligned = arr
    for _ in range(max(1, int(iterations))):
        aligned = np.stack([apply_affine(umeyama(s, ref), s) for s in arr])
        ref = aligned.mean(axis=0)
    return aligned


def pose_coefficients(shapes: np.ndarray) -> np.ndarray:
    """Projection of each Procrustes-aligned shape on the first principal component (step 2).

    The component's sign is fixed so that the largest-magnitude coordinate of the eigenvector is
    positive (SVD leaves it arbitrary). Shape: ``(M, K, 2) -> (M,)``.
    """
    aligned = procrustes_align(shapes).reshape(len(shapes), -1)
    centred = aligned - aligned.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axis = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
    return centred @ axis


def pose_bins(shapes: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The bin (``0 .. bins - 1``) of each shape's pose coefficient, equal-width bins over the
    coefficients' range (step 3). Shape: ``(M, K, 2) -> (M,)`` int."""
    if int(bins) != bins or bins < 1:
        raise ValueError(f"pose_bins: bins must be a positive integer, got {bins}")
    coef = pose_coefficients(shapes)
    lo, hi = float(coef.min()), float(coef.max())
    if hi <= lo:
        return np.zeros(len(coef), dtype=np.int64)
    return np.clip(((coef - lo) / (hi - lo) * bins).astype(np.int64), 0, int(bins) - 1)


def balanced_indices(shapes: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Indices into ``shapes`` with every non-empty pose bin oversampled to the fullest bin's count
    (step 4). Shape: ``(M, K, 2) -> (bins_used * max_count,)`` int."""
    which = pose_bins(shapes, bins)
    groups = [np.flatnonzero(which == b) for b in range(int(bins))]
    target = max(len(g) for g in groups)
    out = [np.resize(g, target) for g in groups if len(g)]  # np.resize repeats the group cyclically
    return np.concatenate(out)
