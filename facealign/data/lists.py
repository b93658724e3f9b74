"""The face lists of a training config: paths relative to ``data_root``, the excluded faces left out, and
the table of detector 5 points that crops are aligned on (``data.align_points``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..types import Sample
from .readers import read_annotations, read_excluded_paths

__all__ = ["FaceLists"]


class FaceLists:
    """The face lists under ``data_root`` (itself relative to ``config_root`` when given), with the faces
    of the ``exclude`` file (``data.exclude``) left out."""

    def __init__(self, data_root: str | Path, *, exclude: str = "", config_root: Path | None = None) -> None:
        self.root = Path(data_root)
        if not self.root.is_absolute() and config_root is not None:
            self.root = (config_root / self.root).resolve()
        self.exclude = exclude
        self._align_tables: dict[Path, dict[str, list]] = {}

    def path(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def key(self, image_path: Path) -> str:
        """An image's path relative to ``data_root`` (the key of exclude / align_points files; ``../`` for
        the other sources beside ``faces/``, e.g. ``../300w_human/afw/123_1.jpg``)."""
        return Path(os.path.relpath(Path(image_path).resolve(), self.root.resolve())).as_posix()

    def excluded(self) -> set[str]:
        return read_excluded_paths(self.exclude) if self.exclude else set()

    def read(self, rel: str, limit: int) -> list[Sample]:
        """The samples of list ``rel`` (any :func:`~facealign.data.readers.read_annotations` format) less
        the excluded ones, the first ``limit`` of them when ``limit > 0``; ``[]`` for ``rel = ""``."""
        if not rel:
            return []
        excluded = self.excluded()
        samples = [s for s in read_annotations(self.path(rel)) if self.key(s.image_path) not in excluded]
        return samples[:limit] if limit > 0 else samples

    def attach_align_points(self, records: Iterable, table: str | Path) -> None:
        """Set ``align`` of every record whose photo the JSON ``table`` (``{key: 5 x [x, y]}``, keys as
        :meth:`key`) names; the others keep theirs. The table is read once per path."""
        path = Path(table)
        if path not in self._align_tables:
            self._align_tables[path] = json.loads(path.read_text())
        points = self._align_tables[path]
        for rec in records:
            pts = points.get(self.key(rec.image_path))
            if pts is not None:
                rec.align = np.asarray(pts, dtype=np.float64).reshape(5, 2)
