"""Frames from video files, cameras and stream URLs, with their timestamps (OpenCV ``VideoCapture``).

Faces over video are tracked by :class:`facealign.tracking.FaceTracker` (re-exported here);
:func:`tracked_frames` is the one loop of a source's frames through a tracker, for every caller
(``facealign detect``, its drawings and preview, and the shards of ``facealign.distributed``).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from .imageio import to_rgb_uint8
from .tracking import FaceTracker, TrackedFace

__all__ = ["FaceTracker", "TruncatedVideoError", "VideoFrame", "VideoSource", "is_stream_url", "read_frames",
           "tracked_frames", "tracker_options"]

#: Inputs OpenCV opens as network streams rather than files.
STREAM_SCHEMES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://")


def is_stream_url(source: str | Path) -> bool:
    """Whether ``source`` names a network stream (``rtsp://...``, ``http://...``) rather than a file."""
    return str(source).lower().startswith(STREAM_SCHEMES)


@dataclass
class VideoFrame:
    """One decoded frame: ``index`` from 0, ``time_ms`` its timestamp, ``rgb`` ``(H, W, 3)`` uint8."""

    index: int
    time_ms: float
    rgb: np.ndarray


class VideoSource:
    """Frames of a video file, a camera (an ``int`` index, e.g. ``0``) or a stream URL.

    Timestamps (``time_ms``) are the container's (``CAP_PROP_POS_MSEC`` of each decoded frame) as long
    as they increase; a camera or stream that gives none (OpenCV reports 0 for many cameras) is timed by
    the clock instead, milliseconds since its first frame. ``timing`` says which: ``"container"`` or
    ``"clock"``. ``fps`` is the container's frame rate (``None`` when it gives none); ``frame_count``
    the number of frames its header announces (0 for cameras and streams); ``frames_read`` how many
    were decoded so far, and :attr:`truncated` whether a file ended before its announced frames.

    Raises ``ValueError`` when the source cannot be opened.
    """

    def __init__(self, source: str | Path | int) -> None:
        self.source = source
        self.live = isinstance(source, int) or is_stream_url(source)
        if not isinstance(source, int) and not self.live and not Path(source).is_file():
            raise ValueError(f"no such video file: {source}")
        self._cap = cv2.VideoCapture(source if isinstance(source, int) else str(source))
        if not self._cap.isOpened():
            kind = "camera" if isinstance(source, int) else "stream" if self.live else "video"
            raise ValueError(f"cannot open {kind} {source}")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps: float | None = float(fps) if np.isfinite(fps) and fps > 0 else None
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if not self.live and np.isfinite(count) and count > 0 else 0
        self.frames_read = 0
        self.timing = "container"

    @property
    def truncated(self) -> bool:
        """A file that ended before the frames its header announces (check after reading it all)."""
        return 0 < self.frames_read < self.frame_count

    def __iter__(self) -> Iterator[VideoFrame]:
        last = -1.0
        t0 = None
        try:
            while True:
                ok, frame = self._cap.read()
                if not ok or frame is None:
                    break
                now = time.monotonic()
                t0 = now if t0 is None else t0
                t = float(self._cap.get(cv2.CAP_PROP_POS_MSEC))
                if self.timing == "container" and not (np.isfinite(t) and t > last):
                    if not self.live:  # a file whose timestamps stall: one frame interval on
                        t = last + 1000.0 / (self.fps or 30.0)
                    else:  # a camera or stream without timestamps: the clock from here on
                        self.timing = "clock"
                if self.timing == "clock":
                    t = max(1000.0 * (now - t0), last + 1e-3)
                last = t
                yield VideoFrame(self.frames_read, t, to_rgb_uint8(frame, color="bgr"))  # OpenCV decodes to BGR (or gray)
                self.frames_read += 1
        finally:
            self._cap.release()
        if self.frames_read == 0 and not self.live:
            raise ValueError(f"no frame could be decoded from {self.source}")


class TruncatedVideoError(ValueError):
    """A video file ended before the frames its header announces (the frames read were yielded)."""


def tracker_options(options: dict[str, Any] | None = None, *, smooth: bool = True) -> dict[str, Any]:
    """The keyword arguments of :class:`FaceTracker` for a run: ``options`` (e.g. ``{"smoothing":
    "one-euro", "beta": 1.0}``), with ``smoothing="none"`` when ``smooth`` is false. Raises the tracker's
    ``ValueError`` for a bad option here, once, before any video is read."""
    out = dict(options or {})
    known = sorted(set(inspect.signature(FaceTracker).parameters) - {"aligner"})
    unknown = sorted(set(out) - set(known))
    if unknown:
        raise ValueError(f"unknown tracker option(s) {unknown}; expected some of {known}")
    if not smooth:
        out["smoothing"] = "none"
    FaceTracker(None, **out)  # checks the options' values (no predictor needed)
    return out


def tracked_frames(
    aligner: Any, source: VideoSource | str | Path | int, options: dict[str, Any] | None = None
) -> Iterator[tuple[VideoFrame, list[TrackedFace]]]:
    """Every frame of ``source`` with its faces, tracked by a fresh ``FaceTracker(aligner, **options)``.

    After the last frame of a file that ended before the frames its header announces, raises
    :class:`TruncatedVideoError` saying how many were read (those were yielded: a caller keeps them);
    a caller that stops early (``break``) is not told.
    """
    src = source if isinstance(source, VideoSource) else VideoSource(source)
    tracker = FaceTracker(aligner, **(options or {}))
    for fr in src:
        yield fr, tracker.track(fr.rgb, fr.time_ms, color="rgb")
    if src.truncated:
        raise TruncatedVideoError(
            f"video ends after {src.frames_read} of the {src.frame_count} frames its header announces "
            "(truncated or damaged); the frames read were kept"
        )


def read_frames(path: str | Path) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(frame_index, time_s, rgb)`` from a video file (container timestamps); raises
    ``ValueError`` if unreadable."""
    for f in VideoSource(path):
        yield f.index, f.time_ms / 1000.0, f.rgb
