"""AnnotationError and the small parsing helpers every text reader raises it through.

Every malformed input -- a wrong point count, a non-numeric value, a truncated file, an empty file,
a missing image -- becomes an :class:`AnnotationError` whose message starts with ``FILE:LINE:`` (the
line 1-based) and says what was expected and what came, e.g.
``train5.txt:12: expected 11 fields (path + 5 x,y pairs), got 9``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ...landmarks import SCHEMES

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_INT_DIGITS",
    "AnnotationError",
    "find_image",
    "parse_int",
    "parse_number",
    "read_text_lines",
    "scheme_for_count",
    "where",
]

#: File suffixes tried, in this order, when an annotation names an image only by its stem.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


#: Integers in annotation files are counts, flags and frame numbers; longer ones are junk.
MAX_INT_DIGITS = 18


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and the 1-based line."""


def where(path: str | os.PathLike[str], line: int) -> str:
    """``"path:line"``: the prefix of every message and the ``Sample.source`` of a face."""
    return f"{os.fspath(path)}:{line}"


def _show(token: str, limit: int = 40) -> str:
    return repr(token if len(token) <= limit else token[:limit] + "...")


def read_text_lines(path: str | os.PathLike[str]) -> list[str]:
    """The lines of a UTF-8 text file (a BOM and ``\\r`` line ends dropped), index 0 is line 1.

    Lines are split on ``\\n`` only, so the numbers match an editor's. Raises
    :class:`AnnotationError` for an empty file (no non-blank line) or bytes that are not UTF-8.
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise AnnotationError(
            f"{where(p, line)}: expected UTF-8 text, got byte 0x{data[e.start]:02x} that is not UTF-8"
        ) from None
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    if not any(ln.strip() for ln in lines):
        raise AnnotationError(f"{where(p, 1)}: expected annotations, got an empty file")
    return lines


def parse_number(token: str, at: str, what: str, *, allow_nan: bool = False) -> float:
    """``float(token)``, or an :class:`AnnotationError` at ``at`` naming ``what`` was expected.

    Infinity is always refused; NaN only with ``allow_nan`` (it marks a missing point).
    """
    try:
        value = float(token)
    except ValueError:
        raise AnnotationError(f"{at}: expected {what} to be a number, got {_show(token)}") from None
    if math.isinf(value) or (math.isnan(value) and not allow_nan):
        raise AnnotationError(f"{at}: expected {what} to be a finite number, got {_show(token)}")
    return value


def parse_int(token: str, at: str, what: str) -> int:
    """``int(token)`` for a plain decimal integer, or an :class:`AnnotationError` at ``at``."""
    t = token.strip()
    body = t[1:] if t[:1] in "+-" else t
    if not (body.isascii() and body.isdigit()):
        raise AnnotationError(f"{at}: expected {what} to be an integer, got {_show(token)}")
    if len(body) > MAX_INT_DIGITS:
        raise AnnotationError(
            f"{at}: expected {what} to be an integer of at most {MAX_INT_DIGITS} digits, got {_show(token)}"
        )
    return int(t)


def find_image(stem_path: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> Path | None:
    """The first existing ``stem_path`` + suffix (lower or upper case), or None."""
    for suffix in suffixes:
        for s in (suffix, suffix.upper()):
            candidate = stem_path.with_name(stem_path.name + s)
            if candidate.is_file():
                return candidate
    return None


def scheme_for_count(count: int, at: str, what: str = "the point count") -> str:
    """The name of the landmark scheme with ``count`` points, or an :class:`AnnotationError` at ``at``."""
    for name, scheme in SCHEMES.items():
        if scheme.num_points == count:
            return name
    known = ", ".join(str(n) for n in sorted(s.num_points for s in SCHEMES.values()))
    raise AnnotationError(f"{at}: expected {what} to be one of {known} (a known landmark scheme), got {count}")
