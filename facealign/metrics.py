"""Landmark accuracy metrics: NME, failure rate, CED curve and its AUC, WFLW-style subsets.

Plain numpy functions on ``(N, K, 2)`` arrays of ``(x, y)`` pixel coordinates in the pixel
convention of :mod:`facealign.types`; a small :class:`NMEAccumulator` gathers them batch by batch.

* NME, Eq. (4) of Earp et al., "Sub-pixel face landmarks using heatmaps and a bag of tricks"
  (``/work/shared/papers/subpixel-heatmaps-bag-of-tricks.txt``, following Liu et al. 2019, the
  JD-landmark challenge): per face, the mean over its landmarks of ``||y_k - y^_k||_2 / d``; the
  reported NME is the mean of that over faces.
* The normaliser ``d``: inter-ocular (outer eye corners, 300-W / WFLW / COFW practice),
  inter-pupil (eye centres), ``sqrt(w * h)`` of the ground-truth box (JD-106, Eq. 4 above) or the
  box diagonal (Menpo profile faces).
* Failure rate: fraction of faces with NME above a threshold (0.1 for 300-W / WFLW, 0.08 in the
  JD-106 challenge). CED: the fraction of faces with NME <= x, for x in ``[0, threshold]``; AUC is
  its area divided by ``threshold`` (AUC@0.1 / AUC@0.08 of the PropagationNet and HIH papers).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes
from .landmarks import LandmarkScheme, get_scheme
from .types import Box

__all__ = [
    "NORMS",
    "WFLW_ATTRIBUTES",
    "NMEAccumulator",
    "auc",
    "auc_numeric",
    "ced",
    "failure_rate",
    "nme",
    "normalizer",
    "plot_ced",
    "subset_breakdown",
    "summarize",
]

NORMS = ("interocular", "interpupil", "box", "diagonal")
WFLW_ATTRIBUTES = ("pose", "expression", "illumination", "makeup", "occlusion", "blur")
# Points on the CED curve from 0 to the threshold (inclusive), enough for a smooth plot and for
# the numeric AUC to agree with the exact one to about 1 / CED_STEPS.
CED_STEPS = 1000


def _as_numpy(x: Any) -> np.ndarray:
    """numpy array of float64 from a numpy array, list or (CPU/GPU, grad or not) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _check_points(name: str, pts: np.ndarray) -> None:
    if pts.ndim != 3 or pts.shape[2] != 2:
        raise ValueError(f"{name} must be (N, K, 2) (x, y) points, got shape {pts.shape}")


def _resolve_scheme(scheme: str | int | LandmarkScheme | None, num_points: int, norm: str) -> LandmarkScheme | None:
    if scheme is None:
        if norm in ("interocular", "interpupil"):
            raise ValueError(f"norm={norm!r} needs a landmark scheme (which points are the eyes); got scheme=None")
        return None
    s = get_scheme(scheme)
    if s.num_points != num_points:
        raise ValueError(f"scheme {s.name} has {s.num_points} points but the arrays have K={num_points}")
    return s


def _box_sizes(gt: np.ndarray, boxes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Width and height ``(N,), (N,)`` of the ground-truth boxes; tight point boxes where none is given."""
    n = gt.shape[0]
    arr = np.full((n, 4), np.nan)
    if boxes is not None:
        if isinstance(boxes, np.ndarray) or (hasattr(boxes, "detach")):
            b = _as_numpy(boxes)
            if b.shape != (n, 4):
                raise ValueError(f"boxes must be (N, 4) [x1, y1, x2, y2] with N={n}, got shape {b.shape}")
            arr = b.copy()
        else:
            if len(boxes) != n:
                raise ValueError(f"boxes must hold one Box (or None) per sample: expected {n}, got {len(boxes)}")
            for i, b in enumerate(boxes):
                if b is None:
                    continue
                arr[i] = b.as_array() if isinstance(b, Box) else np.asarray(b, dtype=np.float64).reshape(4)
    for i in np.flatnonzero(~np.isfinite(arr).all(axis=1)):
        arr[i] = Box.from_points(gt[i]).as_array()  # tight box of the GT points (JD-106 definition)
    return arr[:, 2] - arr[:, 0], arr[:, 3] - arr[:, 1]


def normalizer(
    gt: np.ndarray,
    scheme: str | int | LandmarkScheme | None,
    norm: str = "interocular",
    *,
    boxes: np.ndarray | Sequence[Box | None] | None = None,
) -> np.ndarray:
    """Per-face normalising distance ``d`` of Eq. (4). Shape: ``(N, K, 2) -> (N,)``.

    Args:
        gt: ground-truth ``(x, y)`` points ``(N, K, 2)``; NaN marks a point left out.
        scheme: the landmark scheme of the K points (name or :class:`LandmarkScheme`); may be
            ``None`` for the box norms.
        norm: ``"interocular"`` (distance between the scheme's outer eye corners,
            ``scheme.interocular``), ``"interpupil"`` (distance between eye centres,
            ``scheme.eye_centres``), ``"box"`` (``sqrt(w * h)`` of the ground-truth box, JD-106) or
            ``"diagonal"`` (``sqrt(w^2 + h^2)`` of that box). For the 5-point scheme the first two
            coincide (its "eye corners" are the eye centres).
        boxes: ground-truth boxes for the box norms: ``(N, 4)`` ``[x1, y1, x2, y2]`` (a NaN row:
            none) or one :class:`Box` / ``None`` per face. Where none is given, the tight box of
            the finite GT points is used, as JD-106 defines its box.

    Raises:
        ValueError: on a bad shape or norm, or where ``d`` is not finite and positive.
    """
    gt = _as_numpy(gt)
    _check_points("gt", gt)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; expected one of {NORMS}")
    s = _resolve_scheme(scheme, gt.shape[1], norm)
    if norm == "interocular":
        i, j = s.interocular
        d = np.linalg.norm(gt[:, i] - gt[:, j], axis=-1)
    elif norm == "interpupil":
        left, right = s.eye_centres(gt)
        d = np.linalg.norm(left - right, axis=-1)
    else:
        w, h = _box_sizes(gt, boxes)
        d = np.sqrt(w * h) if norm == "box" else np.hypot(w, h)
    bad = np.flatnonzero(~(np.isfinite(d) & (d > 0)))
    if len(bad):
        raise ValueError(
            f"{norm} normaliser must be finite and > 0, got {d[bad[:5]].tolist()} for samples {bad[:5].tolist()}"
            + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
            + "; are the ground-truth points needed for it missing (NaN) or coincident?"
        )
    return d


def nme(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    scheme: str | int | LandmarkScheme | None,
    norm: str = "interocular",
    visible: np.ndarray | None = None,
    boxes: np.ndarray | Sequence[Box | None] | None = None,
) -> np.ndarray:
    """Per-face normalised mean error, Eq. (4) of Earp et al. Shape: ``(N, K, 2), (N, K, 2) -> (N,)``.

    ``nme[n] = mean over counted points k of ||pred[n, k] - gt[n, k]||_2 / d[n]``, with ``d`` from
    :func:`normalizer`. A point counts unless its GT is NaN or ``visible[n, k]`` is False (the mean
    is over the remaining points). The benchmark NME is ``nme(...).mean()``.

    Args:
        pred, gt: ``(x, y)`` points ``(N, K, 2)``, same shape.
        scheme, norm, boxes: as for :func:`normalizer`.
        visible: optional ``(N, K)`` bool; False excludes a point (e.g. COFW occluded points).

    Raises:
        ValueError: shape mismatch, a face with no countable point, or a NaN prediction at a
            counted point.
    """
    pred, gt = _as_numpy(pred), _as_numpy(gt)
    _check_points("pred", pred)
    _check_points("gt", gt)
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt must have the same shape (N, K, 2), got pred {pred.shape} and gt {gt.shape}")
    mask = np.isfinite(gt).all(axis=-1)
    if visible is not None:
        vis = np.asarray(visible.detach().cpu().numpy() if hasattr(visible, "detach") else visible, dtype=bool)
        if vis.shape != gt.shape[:2]:
            raise ValueError(f"visible must be (N, K) = {gt.shape[:2]}, got shape {vis.shape}")
        mask &= vis
    counts = mask.sum(axis=1)
    if (counts == 0).any():
        empty = np.flatnonzero(counts == 0)[:5].tolist()
        raise ValueError(f"samples {empty} have no visible, annotated point to measure")
    bad_pred = mask & ~np.isfinite(pred).all(axis=-1)
    if bad_pred.any():
        which = np.flatnonzero(bad_pred.any(axis=1))[:5].tolist()
        raise ValueError(f"pred has NaN/inf at {int(bad_pred.sum())} annotated points (samples {which})")
    d = normalizer(gt, scheme, norm, boxes=boxes)
    err = np.linalg.norm(np.where(mask[..., None], pred - gt, 0.0), axis=-1)  # (N, K)
    return err.sum(axis=1) / counts / d


def _check_nmes(nmes: Any) -> np.ndarray:
    e = _as_numpy(nmes).reshape(-1)
    if not np.isfinite(e).all():
        raise ValueError(f"per-sample errors must be finite, got {int((~np.isfinite(e)).sum())} NaN/inf of {e.size}")
    return e


def _check_threshold(threshold: float) -> float:
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    return float(threshold)


def failure_rate(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """Fraction in ``[0, 1]`` of faces with NME strictly above ``threshold``. Shape: ``(N,) -> ()``."""
    e, t = _check_nmes(nmes), _check_threshold(threshold)
    if e.size == 0:
        raise ValueError("failure_rate needs at least one per-sample error, got none")
    return float(np.mean(e > t))


def ced(nmes: np.ndarray, threshold: float = 0.1, steps: int = CED_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: ``y[i]`` = fraction of faces with NME <= ``x[i]``.

    ``x`` runs evenly from 0 to ``threshold`` inclusive in ``steps`` intervals.
    Shape: ``(N,) -> (steps + 1,), (steps + 1,)``.
    """
    e, t = _check_nmes(nmes), _check_threshold(threshold)
    if e.size == 0:
        raise ValueError("ced needs at least one per-sample error, got none")
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    x = np.linspace(0.0, t, int(steps) + 1)
    y = np.searchsorted(np.sort(e), x, side="right") / e.size
    return x, y


def auc(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """Area under the CED curve on ``[0, threshold]`` divided by ``threshold``, in ``[0, 1]``.

    Exact: the CED is the step function ``F(x) = mean_n [e_n <= x]``, so
    ``(1/T) * integral_0^T F(x) dx = mean_n max(0, T - e_n) / T``. Shape: ``(N,) -> ()``.
    """
    e, t = _check_nmes(nmes), _check_threshold(threshold)
    if e.size == 0:
        raise ValueError("auc needs at least one per-sample error, got none")
    return float(np.mean(np.clip(1.0 - e / t, 0.0, 1.0)))  # per-face terms in [0, 1]: no rounding past 1


def auc_numeric(nmes: np.ndarray, threshold: float = 0.1, steps: int = CED_STEPS) -> float:
    """Trapezoid-rule AUC of :func:`ced` (as the 300-W / WFLW scripts compute it); agrees with
    :func:`auc` to within ``1 / steps``."""
    x, y = ced(nmes, threshold, steps)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0 / x[-1])


def summarize(nmes: np.ndarray, threshold: float = 0.1) -> dict[str, float]:
    """``{"nme", "fr", "auc", "count"}`` of per-face errors; NaN metrics for an empty set."""
    e = _check_nmes(nmes)
    if e.size == 0:
        return {"nme": float("nan"), "fr": float("nan"), "auc": float("nan"), "count": 0}
    return {"nme": float(e.mean()), "fr": failure_rate(e, threshold), "auc": auc(e, threshold), "count": int(e.size)}


def subset_breakdown(
    nmes: np.ndarray,
    attributes: Sequence[Mapping[str, int]],
    names: Sequence[str] = WFLW_ATTRIBUTES,
    threshold: float = 0.1,
) -> dict[str, dict[str, float]]:
    """NME / FR / AUC over the full set and each attribute subset (WFLW test-set protocol).

    The subset ``name`` holds the faces whose ``attributes[name] == 1`` (a missing key counts as
    0). Returns ``{"full": {...}, name: {...}, ...}`` of :func:`summarize` dicts; an empty subset
    has ``count`` 0 and NaN metrics. Shape: ``(N,), N dicts -> dict``.
    """
    e = _check_nmes(nmes)
    if len(attributes) != e.size:
        raise ValueError(f"attributes must hold one dict per sample: expected {e.size}, got {len(attributes)}")
    out = {"full": summarize(e, threshold)}
    for name in names:
        sel = np.array([int(a.get(name, 0)) == 1 for a in attributes], dtype=bool)
        out[name] = summarize(e[sel], threshold)
    return out


class NMEAccumulator:
    """Gathers per-face NMEs batch by batch; :meth:`summary` gives NME / FR / AUC / count.

    >>> acc = NMEAccumulator(scheme="5", norm="interocular", threshold=0.1)
    >>> acc.add(pred, gt)          # (B, K, 2) each, numpy or torch   # doctest: +SKIP
    >>> acc.summary()              # {"nme": ..., "fr": ..., "auc": ..., "count": ...}  # doctest: +SKIP
    """

    def __init__(
        self, *, scheme: str | int | LandmarkScheme | None, norm: str = "interocular", threshold: float = 0.1
    ) -> None:
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; expected one of {NORMS}")
        self.scheme = scheme
        self.norm = norm
        self.threshold = _check_threshold(threshold)
        self._parts: list[np.ndarray] = []

    def add(
        self,
        pred: np.ndarray,
        gt: np.ndarray,
        *,
        visible: np.ndarray | None = None,
        boxes: np.ndarray | Sequence[Box | None] | None = None,
    ) -> np.ndarray:
        """Add one batch; returns its per-face NMEs ``(B,)``."""
        e = nme(pred, gt, scheme=self.scheme, norm=self.norm, visible=visible, boxes=boxes)
        self._parts.append(e)
        return e

    @property
    def nmes(self) -> np.ndarray:
        """All per-face NMEs so far, in order of addition. Shape ``(N,)``."""
        return np.concatenate(self._parts) if self._parts else np.zeros(0)

    def __len__(self) -> int:
        return int(sum(p.size for p in self._parts))

    def reset(self) -> None:
        self._parts.clear()

    def summary(self) -> dict[str, float]:
        """``{"nme", "fr", "auc", "count"}`` over everything added (NaN metrics if nothing was)."""
        return summarize(self.nmes, self.threshold)


def plot_ced(
    curves: Mapping[str, np.ndarray],
    path: str | Path,
    threshold: float = 0.1,
    *,
    title: str | None = None,
) -> Path:
    """Draw the CED curves of several methods (``{label: per-face NMEs}``) into a PNG.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change). The file is
    written atomically: to a temporary file in the same folder, then ``os.replace``. Returns the path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = _check_threshold(threshold)
    if not curves:
        raise ValueError("plot_ced needs at least one curve, got an empty mapping")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"plot_ced writes PNG; the path must end in .png, got {str(path)!r}")
    fig = Figure(figsize=(6.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for label, errs in curves.items():
        x, y = ced(errs, t)
        s = summarize(errs, t)
        ax.plot(x, y, label=f"{label} (NME {100 * s['nme']:.2f}%, AUC {s['auc']:.4f}, n={s['count']})")
    ax.set_xlim(0.0, t)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("NME")
    ax.set_ylabel("fraction of faces")
    ax.set_title(title or f"Cumulative error distribution (AUC@{t:g})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())
    return path
