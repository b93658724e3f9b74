"""How well landmarks follow a face over video, against known motion (:mod:`facealign.synthetic_video`).

* :func:`jitter_std`: on a still clip, the RMS distance of each point from its mean position.
* :func:`lag_frames`: on a moving clip, how far the points trail the truth along the motion, in frames.
* :func:`speed_error`: the error of the points' frame-to-frame motion, relative to the true motion.

Shape: tracks are ``(T, K, 2)`` (frames, points, x y) in pixels; frames where a method found no
face may be NaN in ``pred`` and are left out.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lag_frames", "speed_error", "jitter_std"]


def _track(track: np.ndarray, name: str = "track") -> np.ndarray:
    tr = np.asarray(track, dtype=np.float64)
    if tr.ndim != 3 or tr.shape[-1] != 2:
        raise ValueError(f"{name} must be (T, K, 2), got {tr.shape}")
    return tr


def jitter_std(track: np.ndarray) -> float:
    """``mean_k sqrt(mean_t ||p[t, k] - mean_t p[t, k]||^2)``: the standard deviation over frames of
    each point's position (x and y together), averaged over points. On a still clip this is jitter.
    Shape: ``(T, K, 2) -> scalar`` (pixels)."""
    tr = _track(track)
    dev = tr - np.nanmean(tr, axis=0, keepdims=True)
    return float(np.sqrt(np.nanmean((dev**2).sum(-1), axis=0)).mean())


def _pair(pred: np.ndarray, truth: np.ndarray, skip: int) -> tuple[np.ndarray, np.ndarray]:
    p, q = _track(pred, "pred"), _track(truth, "truth")
    if p.shape != q.shape:
        raise ValueError(f"pred and truth must have the same shape, got {p.shape} and {q.shape}")
    if len(p) < skip + 2:
        raise ValueError(f"need at least {skip + 2} frames after skipping {skip}, got {len(p)}")
    return p, q


def lag_frames(pred: np.ndarray, truth: np.ndarray, *, skip: int = 0) -> float:
    """How many frames ``pred`` trails ``truth``: the least-squares ``tau`` of
    ``pred[t] - truth[t] = -tau * (truth[t] - truth[t - 1])`` over frames ``t > skip`` and all points,
    ``tau = -sum(e . v) / sum(|v|^2)``. Positive: behind the motion; 0: on time; negative: ahead.
    ``truth`` must be in the method's own landmark definition (e.g. its own points on the still photo
    moved by the known motion), so that a constant offset does not read as lag.
    Shape: ``(T, K, 2), (T, K, 2) -> scalar`` (frames)."""
    p, q = _pair(pred, truth, skip)
    v = np.diff(q, axis=0)[skip:]
    e = (p - q)[skip + 1 :]
    found = np.isfinite(e).all(axis=(1, 2))
    vv = float((v[found] ** 2).sum())
    if vv == 0:
        raise ValueError("truth does not move: lag is undefined on a still clip")
    return float(-(e[found] * v[found]).sum() / vv)


def speed_error(pred: np.ndarray, truth: np.ndarray, *, skip: int = 0) -> float:
    """``mean ||dp - dq|| / mean ||dq||`` over frames ``t > skip`` and points, with ``dp``, ``dq`` the
    frame-to-frame motion of ``pred`` and ``truth``: the error of the points' velocity relative to the
    true speed (0 = exact; it includes jitter). Shape: ``(T, K, 2), (T, K, 2) -> scalar`` (fraction)."""
    p, q = _pair(pred, truth, skip)
    dp, dq = np.diff(p, axis=0)[skip:], np.diff(q, axis=0)[skip:]
    found = np.isfinite(dp).all(axis=(1, 2))
    speed = float(np.linalg.norm(dq[found], axis=-1).mean()) if found.any() else 0.0
    if speed == 0:
        raise ValueError("truth does not move: speed error is undefined on a still clip")
    return float(np.linalg.norm(dp[found] - dq[found], axis=-1).mean() / speed)
