"""How well landmarks follow a face over video, against known motion (:mod:`facealign.synthetic_video`).

* :func:`jitter_std`: on a still clip, the RMS distance of each point from its mean position.
* :func:`lag_frames`: on a moving clip, how far the points trail the truth along the motion, in frames
  (apart from an error that grows with the displacement).
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
    """How many frames ``pred`` trails ``truth``: ``tau`` of the least-squares fit
    ``pred[t] - truth[t] = -tau * v[t] + beta * d[t]`` over frames ``t > skip`` and all points, where
    ``v[t] = truth[t] - truth[t - 1]`` is the true motion per frame and ``d[t] = truth[t] - truth[skip]``
    the displacement so far. ``beta`` takes up an error that grows with the displacement (a model
    that follows only part of a rotation or zoom on every frame alike), which is not lag; a constant
    speed keeps the two apart, as ``d`` grows while ``v`` does not. Positive: behind the motion; 0:
    on time; negative: ahead. ``truth`` must be in the method's own landmark definition (e.g. its own
    points on the still photo moved by the known motion), so that a constant offset does not read as
    lag. Shape: ``(T, K, 2), (T, K, 2) -> scalar`` (frames)."""
    p, q = _pair(pred, truth, skip)
    v = np.diff(q, axis=0)[skip:]
    d = (q - q[skip])[skip + 1 :]
    e = (p - q)[skip + 1 :]
    found = np.isfinite(e).all(axis=(1, 2))
    if float((v[found] ** 2).sum()) == 0:
        raise ValueError("truth does not move: lag is undefined on a still clip")
    a = np.stack([-v[found].ravel(), d[found].ravel()], axis=1)
    (tau, _beta), *_ = np.linalg.lstsq(a, e[found].ravel(), rcond=None)
    return float(tau)


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
