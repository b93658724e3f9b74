"""Landmark schemes (5, 29, 68, 98, 106 points) and conversions between them."""

from __future__ import annotations

from .cofw29 import COFW29
from .convert import WFLW98_TO_IBUG68, can_convert, convert, convert_points, to_five, wflw98_to_ibug68
from .five import FIVE
from .ibug68 import IBUG68
from .jd106 import JD106
from .scheme import Boundary, LandmarkScheme
from .wflw98 import WFLW98

SCHEMES: dict[str, LandmarkScheme] = {s.name: s for s in (FIVE, COFW29, IBUG68, WFLW98, JD106)}

__all__ = [
    "Boundary",
    "COFW29",
    "FIVE",
    "IBUG68",
    "JD106",
    "LandmarkScheme",
    "SCHEMES",
    "WFLW98",
    "WFLW98_TO_IBUG68",
    "can_convert",
    "convert",
    "convert_points",
    "get_scheme",
    "scheme_for_count",
    "to_five",
    "wflw98_to_ibug68",
]


def get_scheme(name: str | int | LandmarkScheme) -> LandmarkScheme:
    """Look a scheme up by name (``"68"`` or ``68``); a scheme passes through."""
    if isinstance(name, LandmarkScheme):
        return name
    key = str(name)
    if key not in SCHEMES:
        raise KeyError(f"unknown landmark scheme {name!r}; expected one of {sorted(SCHEMES, key=int)}")
    return SCHEMES[key]


def scheme_for_count(num_points: int) -> LandmarkScheme:
    """The scheme with ``num_points`` points."""
    for s in SCHEMES.values():
        if s.num_points == num_points:
            return s
    raise ValueError(f"no landmark scheme has {num_points} points; known: {sorted(s.num_points for s in SCHEMES.values())}")
