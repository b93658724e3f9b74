"""The paths a job aligns, streamed: folders, globs, text and Parquet lists of paths."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable, Iterator

from ..detect_run import IMAGE_EXTS, VIDEO_EXTS

__all__ = ["LIST_EXTS", "iter_input_paths"]

LIST_EXTS = {".txt", ".lst"}


def _walk(folder: Path) -> Iterator[str]:
    """Image and video files under ``folder``, depth first, each folder's names sorted."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            if Path(f).suffix.lower() in IMAGE_EXTS | VIDEO_EXTS:
                yield os.path.join(root, f)


def _parquet_paths(path: Path) -> Iterator[str]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    strings = [f.name for f in pf.schema_arrow if f.type in ("string", "large_string")]
    col = "path" if "path" in names else (strings[0] if len(strings) == 1 else None)
    if col is None:
        raise ValueError(f"{path}: expected a Parquet list of paths (a 'path' column or one string column), got columns {names}")
    for batch in pf.iter_batches(columns=[col], batch_size=65536):
        for p in batch.column(0).to_pylist():
            if p:
                yield p if os.path.isabs(p) else os.path.join(path.parent, p)


def iter_input_paths(inputs: Iterable[str | Path]) -> Iterator[str]:
    """The photo / video paths named by ``inputs``, lazily, in a fixed order.

    Each input is a folder (image and video files under it, recursive), a text list (``.txt`` / ``.lst``:
    one path a line, ``#`` comments and blank lines skipped), a Parquet list (a ``path`` column, or its
    only string column), a glob pattern (``**`` recursive) or a file. Relative paths in a list are
    relative to the list's folder. A name that matches nothing is yielded as it is, so that it comes
    out as a failure record, as in the single-process run.
    """
    for item in map(str, inputs):
        p = Path(item)
        if p.is_dir():
            yield from _walk(p)
        elif p.suffix.lower() in LIST_EXTS and p.is_file():
            with open(p, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        yield line if os.path.isabs(line) else os.path.join(p.parent, line)
        elif p.suffix.lower() == ".parquet" and p.is_file():
            yield from _parquet_paths(p)
        elif glob.has_magic(item):
            found = False
            for m in glob.iglob(item, recursive=True):
                found = True
                if os.path.isdir(m):
                    yield from _walk(Path(m))
                else:
                    yield m
            if not found:
                yield item
        else:
            yield item
