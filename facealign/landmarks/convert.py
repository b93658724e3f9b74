"""Conversions between landmark schemes: 98 -> 68, any -> 5, and a dispatcher over them.

All functions keep the leading batch dimensions and the ``(x, y)`` order: ``(..., K, 2) -> (..., K', 2)``.
"""

from __future__ import annotations

import numpy as np

from .scheme import LandmarkScheme

__all__ = ["WFLW98_TO_IBUG68", "can_convert", "convert", "convert_points", "to_five", "wflw98_to_ibug68"]

# For each 68-point index, the WFLW (98-point) index that stands for it. The approximate mapping in
# common use (e.g. the WFLW -> iBUG-68 tables of several public face-tracking codebases): WFLW's
# 33-point contour sampled every second point (17 points, 0 and 32 the temples, 16 the chin); the
# upper brow edges 33-37 and 42-46; the nose bridge 51-54 and base 55-59 as they are; the eye corners
# and the two lid points beside each 68-point lid point (WFLW's lid midpoints 62, 66, 70, 74 have no
# 68-point counterpart); both lips as they are. It commutes with the two schemes' flip maps.
WFLW98_TO_IBUG68: tuple[int, ...] = (
    tuple(range(0, 33, 2))  # jaw 0-16
    + (33, 34, 35, 36, 37, 42, 43, 44, 45, 46)  # brows 17-26
    + tuple(range(51, 60))  # nose 27-35
    + (60, 61, 63, 64, 65, 67)  # left eye 36-41
    + (68, 69, 71, 72, 73, 75)  # right eye 42-47
    + tuple(range(76, 96))  # lips 48-67
)


def _scheme(s: str | int | LandmarkScheme) -> LandmarkScheme:
    # The registry lives in the package __init__, which imports this module; look it up at call time.
    from . import get_scheme

    return get_scheme(s)


def _check_points(points: np.ndarray, num_points: int, what: str) -> np.ndarray:
    pts = np.asarray(points)
    if pts.ndim < 2 or pts.shape[-2:] != (num_points, 2):
        raise ValueError(f"{what} expects points of shape (..., {num_points}, 2), got {pts.shape}")
    return pts


def wflw98_to_ibug68(points: np.ndarray) -> np.ndarray:
    """WFLW 98 points to the approximate iBUG 68 points (a subset, :data:`WFLW98_TO_IBUG68`).

    Shape: ``(..., 98, 2) -> (..., 68, 2)``, ``(x, y)``; the dtype is kept.
    """
    pts = _check_points(points, 98, "wflw98_to_ibug68")
    return pts[..., list(WFLW98_TO_IBUG68), :]


def to_five(points: np.ndarray, scheme: str | int | LandmarkScheme | None = None) -> np.ndarray:
    """Reduce any scheme's points to the 5 points (left eye centre, right eye centre, nose tip,
    left mouth corner, right mouth corner; left = viewer's left), each the mean of the scheme's
    ``five_point`` group. ``scheme=None`` picks the scheme by the number of points.

    Shape: ``(..., K, 2) -> (..., 5, 2)``, ``(x, y)``, float.
    """
    pts = np.asarray(points)
    if pts.ndim < 2 or pts.shape[-1] != 2:
        raise ValueError(f"to_five expects points of shape (..., K, 2), got {pts.shape}")
    if scheme is None:
        from . import scheme_for_count

        s = scheme_for_count(pts.shape[-2])
    else:
        s = _scheme(scheme)
    return s.to_five(pts)


def _direct(src: str, dst: str) -> bool:
    return src == dst or dst == "5" or (src, dst) == ("98", "68")


def can_convert(src: str | int | LandmarkScheme, dst: str | int | LandmarkScheme) -> bool:
    """Whether :func:`convert` supports ``src -> dst`` (both must be registered schemes)."""
    try:
        return _direct(_scheme(src).name, _scheme(dst).name)
    except KeyError:
        return False


def convert(
    points: np.ndarray, src: str | int | LandmarkScheme, dst: str | int | LandmarkScheme
) -> np.ndarray:
    """Express points of scheme ``src`` in scheme ``dst``.

    Supported: identity (``src == dst``; a copy), ``"98" -> "68"`` (:func:`wflw98_to_ibug68`) and any
    scheme to ``"5"`` (:func:`to_five`). Shape: ``(..., K_src, 2) -> (..., K_dst, 2)``, ``(x, y)``.

    Raises:
        KeyError: for an unregistered scheme name.
        ValueError: for an unsupported pair, or points whose shape does not match ``src``.
    """
    s, d = _scheme(src), _scheme(dst)
    pts = _check_points(points, s.num_points, f"convert from scheme {s.name}")
    if s.name == d.name:
        return np.array(pts, copy=True)
    if d.name == "5":
        return s.to_five(pts)
    if (s.name, d.name) == ("98", "68"):
        return wflw98_to_ibug68(pts)
    raise ValueError(
        f"no conversion from landmark scheme {s.name} to {d.name}; supported: identity, 98 -> 68, "
        f"and any scheme -> 5"
    )


# The name facealign.evaluation looks for.
convert_points = convert
