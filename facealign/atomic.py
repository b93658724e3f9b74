"""Atomic file writes: nothing a user saved is ever half-written or lost to a crash.

Every file is written as a hidden temporary sibling (``.NAME.XXXX.tmp``) and moved into place with
``os.replace``. The result has the permissions a plain ``open(path, "w")`` would give: those of the file
it replaces, or ``0o666`` less the process's umask for a new file (``tempfile.mkstemp`` alone makes 0600).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TextIO

__all__ = ["AtomicLines", "atomic_write_bytes", "atomic_write_text", "check_writable", "file_mode", "temp_sibling"]

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask (from ``/proc/self/status`` where it exists; else set and restored)."""
    try:
        found = re.search(r"^Umask:\s*([0-7]+)", Path("/proc/self/status").read_text(), re.M)
        if found:
            return int(found.group(1), 8)
    except OSError:
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode(path: str | Path) -> int:
    """Permission bits for writing ``path``: the existing file's, or ``0o666 & ~umask`` for a new one."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def temp_sibling(path: str | Path, *, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new hidden temporary file beside ``path`` (folders made as needed) with the mode of
    :func:`file_mode`: ``(open descriptor, its path)``. Move it into place with ``os.replace``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=suffix, dir=p.parent)
    try:
        os.chmod(tmp, file_mode(p))  # mkstemp makes 0600; os.chmod (not fchmod) works on every platform
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, Path(tmp)


def check_writable(path: str | Path, *, folder: bool = False, what: str = "output") -> None:
    """Raise ``ValueError`` (one line, starting with ``what`` and the path) unless ``path`` can be
    written as a file (``folder=False``) or used as a folder: nothing of the other kind in its place,
    no file where a parent folder must be, and the nearest existing folder writable."""
    p = Path(path)
    if p.exists() and p.is_dir() != folder:
        found, wanted = ("a file", "a folder") if folder else ("a folder", "a file path")
        raise ValueError(f"{what} {p}: is {found}; expected {wanted}")
    parent = p if folder else p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{what} {p}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {p}: cannot write in {parent} (permission denied)")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``,
    so a reader never sees a half-written file and a crash never destroys the previous one."""
    p = Path(path)
    fd, tmp = temp_sibling(p)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return p


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


class AtomicLines:
    """A text file written line by line into a hidden temporary sibling and moved into place by
    :meth:`commit` (also after an interruption: the lines written so far are whole lines) or deleted by
    :meth:`discard`. Each line is flushed as written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        fd, self.tmp = temp_sibling(self.path, suffix=".partial")
        self.fh: TextIO = os.fdopen(fd, "w", encoding="utf-8")
        self.lines = 0

    def write_line(self, line: str) -> None:
        self.fh.write(line + "\n")
        self.fh.flush()
        self.lines += 1

    def commit(self) -> Path:
        self.fh.close()
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)
