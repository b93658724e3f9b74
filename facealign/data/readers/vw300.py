"""300-VW video clips: ``CLIP/annot/NNNNNN.pts`` with the frame ``CLIP/imgs/NNNNNN.jpg``.

Each annotation is an iBUG ``.pts`` file (68 points, 1-based; see :mod:`.pts`, which shifts them
by -1 to the 0-based convention). The 6-digit stem is the frame number (1-based, as in the
300-VW release); it goes to ``Sample.attributes["frame"]``. Samples come in frame order.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...types import Sample
from .errors import IMAGE_SUFFIXES, AnnotationError, find_image, where
from .pts import read_pts

__all__ = ["is_300vw_clip", "is_300vw_root", "read_300vw", "read_300vw_clip", "read_300vw_frame"]

ANNOT_DIR = "annot"
IMAGES_DIR = "imgs"


def is_300vw_clip(folder: str | os.PathLike[str]) -> bool:
    """True for a folder holding ``annot/`` with at least one ``.pts`` file."""
    annot = Path(folder) / ANNOT_DIR
    return annot.is_dir() and any(annot.glob("*.pts"))


def is_300vw_root(folder: str | os.PathLike[str]) -> bool:
    """True for a folder whose sub-folders include 300-VW clips (the dataset's top folder)."""
    root = Path(folder)
    return root.is_dir() and any(d.is_dir() and is_300vw_clip(d) for d in root.iterdir())


def _frame_number(pts: Path) -> int:
    if not (pts.stem.isascii() and pts.stem.isdigit()):
        raise AnnotationError(
            f"{where(pts, 1)}: expected a frame number as the file name (e.g. 000001.pts), got {pts.name!r}"
        )
    return int(pts.stem)


def read_300vw_frame(pts: str | os.PathLike[str], *, check_images: bool = True) -> Sample:
    """One frame: ``CLIP/annot/NNNNNN.pts`` with its image ``CLIP/imgs/NNNNNN.jpg``.

    ``attributes["frame"]`` is ``NNNNNN``; another image suffix is taken when only that exists.
    With ``check_images`` a missing frame image raises :class:`AnnotationError`.
    """
    p = Path(pts)
    frame = _frame_number(p)
    stem = p.parent.parent / IMAGES_DIR / p.stem
    image = find_image(stem, (".jpg",) + tuple(s for s in IMAGE_SUFFIXES if s != ".jpg"))
    if image is None and check_images:
        raise AnnotationError(f"{where(p, 1)}: expected the frame image {stem}.jpg, but it does not exist")
    image = image if image is not None else stem.with_suffix(".jpg")
    return read_pts(p, image_path=image, check_images=False, attributes={"frame": frame})


def read_300vw_clip(clip: str | os.PathLike[str], *, check_images: bool = True) -> list[Sample]:
    """All annotated frames of one clip folder, in frame order (see :func:`read_300vw_frame`)."""
    root = Path(clip)
    annot = root / ANNOT_DIR
    files = sorted(annot.glob("*.pts"))
    if not files:
        raise AnnotationError(f"{root}: expected 300-VW annotations in {annot}/NNNNNN.pts, found none")
    numbered = sorted(((_frame_number(f), f) for f in files), key=lambda nf: nf[0])
    return [read_300vw_frame(f, check_images=check_images) for _, f in numbered]


def read_300vw(folder: str | os.PathLike[str], *, check_images: bool = True) -> list[Sample]:
    """One clip folder, or the dataset's top folder (every clip, clips sorted by name)."""
    root = Path(folder)
    if is_300vw_clip(root):
        return read_300vw_clip(root, check_images=check_images)
    clips = sorted(d for d in root.iterdir() if d.is_dir() and is_300vw_clip(d)) if root.is_dir() else []
    if not clips:
        raise AnnotationError(
            f"{root}: expected a 300-VW clip (CLIP/annot/NNNNNN.pts) or a folder of clips, found none"
        )
    return [s for c in clips for s in read_300vw_clip(c, check_images=check_images)]
