"""Temporal smoothing of landmarks in video: the One-Euro filter (Casiez, Roussel and Vogel,
"1 Euro Filter: A Simple Speed-based Low-pass Filter for Noisy Input in Interactive Systems",
CHI 2012).

The filter is an exponential smoother whose cut-off frequency rises with the signal's speed:
``fc = min_cutoff + beta * |dx_hat|`` (Eq. 4 of the paper), with smoothing factor
``alpha = 1 / (1 + tau / Te)``, ``tau = 1 / (2 pi fc)`` (Eq. 2-3). Slow motion is smoothed hard
(less jitter), fast motion passes with little lag.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OneEuroFilter", "jitter", "smoothing_alpha"]


def smoothing_alpha(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
    """``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)`` (Casiez et al. Eq. 2-3)."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over arrays of any fixed shape (e.g. ``(K, 2)`` landmarks).

    Args:
        min_cutoff: Hz, the cut-off at rest (lower = smoother when still).
        beta: speed coefficient (higher = less lag when moving). The defaults suit landmarks in
            pixels normalised by the face size (see :meth:`__call__`'s ``scale``).
        d_cutoff: Hz, cut-off of the derivative's own smoothing.
    """

    def __init__(self, *, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(
                f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {min_cutoff}, {d_cutoff}, {beta}"
            )
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past (a new track starts)."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float, *, scale: float = 1.0) -> np.ndarray:
        """Filter the sample ``x`` taken at time ``t`` (seconds). ``scale`` (e.g. the face size in
        pixels) makes the speed term size-independent: speed is measured in ``x / scale`` units."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or x.shape != self._x.shape or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = smoothing_alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat) / max(scale, 1e-9)
        a = smoothing_alpha(cutoff, dt)
        x_hat = a * x + (1 - a) * self._x
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat.copy()


def jitter(track: np.ndarray) -> float:
    """Mean frame-to-frame motion of the points of a ``(T, K, 2)`` track, in its units (pixels):
    ``mean_t mean_k ||p[t+1, k] - p[t, k]||``. On a still clip this is pure jitter."""
    tr = np.asarray(track, dtype=np.float64)
    if tr.ndim != 3 or tr.shape[-1] != 2:
        raise ValueError(f"track must be (T, K, 2), got {tr.shape}")
    if len(tr) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(tr, axis=0), axis=-1).mean())
