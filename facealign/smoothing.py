"""Temporal smoothing of landmarks in video.

* :class:`KalmanFilterCV` (the default of :class:`facealign.tracking.FaceTracker`): a Kalman filter
  (Kalman 1960) per coordinate with a constant-velocity motion model driven by continuous white-noise
  acceleration (Bar-Shalom, Li and Kirubarajan, "Estimation with Applications to Tracking and
  Navigation", 2001, Sec. 6.2.2). It estimates each point's velocity, so a face moving at constant
  speed is followed with no steady-state lag, while a still face is averaged over many frames.
* :class:`OneEuroFilter` (Casiez, Roussel and Vogel, "1 Euro Filter: A Simple Speed-based Low-pass
  Filter for Noisy Input in Interactive Systems", CHI 2012): an exponential smoother whose cut-off
  frequency rises with the signal's speed, ``fc = min_cutoff + beta * |dx_hat|`` (Eq. 4), with
  smoothing factor ``alpha = 1 / (1 + tau / Te)``, ``tau = 1 / (2 pi fc)`` (Eq. 2-3). It always trails
  a moving signal (by about 2 frames at 3 px a frame with its former defaults here).

Both take samples with their time in seconds and a ``scale`` (the face size in pixels) that makes
their parameters independent of the face's size in the image.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["KalmanFilterCV", "OneEuroFilter", "jitter", "smoothing_alpha"]


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


class KalmanFilterCV:
    """Constant-velocity Kalman filter over arrays of any fixed shape (e.g. ``(K, 2)`` landmarks).

    Each coordinate ``x`` has the state ``(x, dx/dt)``; between samples ``dt`` apart it moves as
    ``F = [[1, dt], [0, 1]]`` with process noise ``Q = q^2 [[dt^3/3, dt^2/2], [dt^2/2, dt]]`` (continuous
    white-noise acceleration of spectral density ``q^2``, Bar-Shalom et al. Eq. 6.2.2-12), and is
    measured as ``x`` with noise variance ``r^2``. Every coordinate shares one model, so the covariance
    ``P`` and the gain are one 2 x 2 recursion for the whole array. Noise is in units of ``scale``
    (the face size), so the same parameters suit small and large faces.

    A face that stops or turns breaks the constant-velocity model; the filter notices from the
    normalised innovation squared, ``nis = mean((x - x_pred)^2 / scale^2) / (P_xx + r^2)`` (about 1
    or less while the model holds), and when it exceeds ``manoeuvre`` the predicted covariance is
    scaled by ``nis / manoeuvre`` for that step, so the filter follows the new motion at once
    (adjustable process noise: Bar-Shalom et al. Ch. 11, here as one scaling of ``P``).

    Args:
        measurement_noise: ``r``, the per-frame error of the landmarks, in face sizes (lower =
            follows the measurements more closely, less smoothing).
        process_noise: ``q``, how fast the velocity may change, in face sizes / s^1.5 (higher = less
            lag on accelerating faces, less smoothing).
        manoeuvre: the ``nis`` above which the filter widens its covariance (``inf``: never).
    """

    def __init__(self, *, measurement_noise: float = 0.004, process_noise: float = 0.03, manoeuvre: float = 1.0) -> None:
        if measurement_noise <= 0 or process_noise <= 0 or not manoeuvre > 0:
            raise ValueError(
                f"need measurement_noise > 0, process_noise > 0 and manoeuvre > 0; got {measurement_noise}, "
                f"{process_noise}, {manoeuvre}"
            )
        self.r, self.q, self.manoeuvre = float(measurement_noise), float(process_noise), float(manoeuvre)
        self.reset()

    def reset(self) -> None:
        """Forget the past (a new track starts)."""
        self._x: np.ndarray | None = None
        self._v: np.ndarray | None = None
        self._t: float | None = None
        self._p = np.zeros((2, 2))

    @property
    def velocity(self) -> np.ndarray | None:
        """The estimated velocity (units of ``x`` per second), ``None`` before the first sample."""
        return None if self._v is None else self._v.copy()

    def predict(self, t: float) -> np.ndarray | None:
        """Where the filter expects the signal at time ``t`` (no update); ``None`` before any sample."""
        if self._x is None or self._t is None:
            return None
        return self._x + self._v * (t - self._t)

    def __call__(self, x: np.ndarray, t: float, *, scale: float = 1.0) -> np.ndarray:
        """Filter the sample ``x`` taken at time ``t`` (seconds). ``scale``: the face size in the
        units of ``x`` (the state stays in the units of ``x``, ``P`` in face sizes)."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or x.shape != self._x.shape or t <= self._t:
            # first sample: position as measured, velocity unknown (a wide prior, so that the
            # second sample sets it)
            self._x, self._v, self._t = x.copy(), np.zeros_like(x), t
            self._p = np.diag([self.r**2, 1.0])
            return x.copy()
        dt = t - self._t
        f = np.array([[1.0, dt], [0.0, 1.0]])
        q = self.q**2 * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
        p = f @ self._p @ f.T + q
        x_pred = self._x + self._v * dt
        innovation = x - x_pred
        nis = float(np.mean((innovation / max(scale, 1e-9)) ** 2)) / (p[0, 0] + self.r**2)
        if nis > self.manoeuvre:
            p = p * (nis / self.manoeuvre)
        gain = p[:, 0] / (p[0, 0] + self.r**2)
        self._x = x_pred + gain[0] * innovation
        self._v = self._v + gain[1] * innovation
        self._p = p - np.outer(gain, p[0, :])
        self._t = t
        return self._x.copy()


def jitter(track: np.ndarray) -> float:
    """Mean frame-to-frame motion of the points of a ``(T, K, 2)`` track, in its units (pixels):
    ``mean_t mean_k ||p[t+1, k] - p[t, k]||``. On a still clip this is pure jitter."""
    tr = np.asarray(track, dtype=np.float64)
    if tr.ndim != 3 or tr.shape[-1] != 2:
        raise ValueError(f"track must be (T, K, 2), got {tr.shape}")
    if len(tr) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(tr, axis=0), axis=-1).mean())
