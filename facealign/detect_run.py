"""``facealign detect``: photos, folders (recursive), videos, cameras and streams -> JSON lines and drawings.

One unreadable file is reported and skipped; outputs are written to a temporary file and moved
into place when complete, so an interrupted run never leaves a half-written result behind.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, TextIO

import cv2
import numpy as np
from tqdm import tqdm

from .atomic import atomic_write_bytes
from .imageio import read_image
from .types import FaceLandmarks
from .tracking import FaceTracker
from .video import VideoSource, is_stream_url

__all__ = ["DetectSummary", "check_show", "draw_faces", "expand_inputs", "run_detect"]

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass
class DetectSummary:
    images: int = 0
    frames: int = 0
    faces: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        n = self.images + self.frames
        per = 1000 * self.seconds / n if n else 0.0
        return (
            f"{self.images} images, {self.frames} video frames, {self.faces} faces, "
            f"{len(self.failures)} failures, {per:.1f} ms per image/frame"
        )


def expand_inputs(paths: list[str | Path | int]) -> list[Path | str | int]:
    """Files named directly (any extension) and, for folders, the image / video files under them
    (recursive, sorted). Missing paths are kept so that they are reported as failures; camera
    indices (``int``) and stream URLs (``str``, e.g. ``rtsp://...``) are kept as they are."""
    out: list[Path | str | int] = []
    for p in paths:
        if isinstance(p, int) or is_stream_url(p):
            out.append(p)
            continue
        p = Path(p)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS)
        else:
            out.append(p)
    return out


def draw_faces(rgb: np.ndarray, faces: list[FaceLandmarks]) -> np.ndarray:
    """A BGR copy of the image with boxes and landmarks drawn (for ``cv2.imwrite``)."""
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    r = max(1, int(round(max(img.shape[:2]) / 400)))
    for f in faces:
        b = f.box
        cv2.rectangle(img, (int(b.x1), int(b.y1)), (int(b.x2), int(b.y2)), (255, 160, 0), r)
        for x, y in f.points:
            cv2.circle(img, (int(round(x)), int(round(y))), r + 1, (0, 255, 0), -1, lineType=cv2.LINE_AA)
    return img


def _record(image: str, frame: int | None, faces: list[FaceLandmarks], time_ms: float | None = None) -> str:
    row: dict = {"image": image}
    if frame is not None:
        row["frame"] = frame
        row["time_ms"] = round(float(time_ms), 3)  # type: ignore[arg-type]
    row["faces"] = [f.to_dict() for f in faces]
    return json.dumps(row)


class _AtomicText:
    """A text file written in a temporary sibling and moved into place on ``commit``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        self.fh: TextIO = os.fdopen(fd, "w")
        self.path = path

    def write_line(self, s: str) -> None:
        self.fh.write(s + "\n")
        self.fh.flush()

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)


def _is_video(path: Path | str | int) -> bool:
    return isinstance(path, int) or is_stream_url(path) or Path(path).suffix.lower() in VIDEO_EXTS


def _source_name(path: Path | str | int) -> str:
    """How a video input is named in the JSON lines: its path, its URL, or ``camera:N``."""
    return f"camera:{path}" if isinstance(path, int) else str(path)


def _drawn_video_name(path: Path | str | int) -> str:
    if isinstance(path, int):
        return f"camera{path}_landmarks.mp4"
    stem = Path(str(path).split("?")[0].rstrip("/")).stem if is_stream_url(path) else Path(path).stem
    return f"{stem or 'stream'}_landmarks.mp4"


def check_show() -> None:
    """Raise ``ValueError`` with one clear line when no preview window can open (no display, or an
    OpenCV build without GUI support such as ``opencv-python-headless``)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ValueError("--show needs a display: DISPLAY / WAYLAND_DISPLAY is not set (use --draw to write a video)")
    try:
        cv2.namedWindow("facealign")
        cv2.destroyWindow("facealign")
    except cv2.error as exc:
        raise ValueError(
            "--show needs OpenCV with GUI support (pip install opencv-python instead of opencv-python-headless); "
            f"this build says: {str(exc).strip().splitlines()[-1][:120]}"
        ) from None


def _run_video(aligner, path: Path | str | int, out, draw: Path | None, summary: DetectSummary, *,
               tracker_options: dict, show: bool, max_frames: int | None, bar) -> None:
    """Track faces over one video / camera / stream: one JSON line per frame, a drawn video at the
    input's frame rate. A file that ends before the frames its header announces is reported."""
    source = VideoSource(path)
    tracker = FaceTracker(aligner, **tracker_options)
    name = _source_name(path)
    writer = None
    tmp_video = None
    stopped = False  # by the user (q / Esc) or --max-frames, before the end of the input
    try:
        for fr in source:
            faces = tracker.track(fr.rgb, fr.time_ms)
            summary.frames += 1
            summary.faces += len(faces)
            if out:
                out.write_line(_record(name, fr.index, faces, fr.time_ms))
            if draw or show:
                img = draw_faces(fr.rgb, faces)
            if draw:
                if writer is None:
                    draw.mkdir(parents=True, exist_ok=True)
                    fd, tmp_video = tempfile.mkstemp(suffix=".mp4", dir=draw)
                    os.close(fd)
                    fps = source.fps or 30.0  # the input's frame rate (30 when it gives none)
                    writer = cv2.VideoWriter(tmp_video, cv2.VideoWriter_fourcc(*"mp4v"), fps, (fr.rgb.shape[1], fr.rgb.shape[0]))
                writer.write(img)
            if show:
                cv2.imshow("facealign", img)
                stopped = cv2.waitKey(1) & 0xFF in (ord("q"), 27)  # q or Esc ends this input
            bar.set_postfix(frame=fr.index)
            stopped = stopped or (max_frames is not None and fr.index + 1 >= max_frames)
            if stopped:
                break
    finally:
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    if tmp_video and draw:
        os.replace(tmp_video, draw / _drawn_video_name(path))
    if not stopped and source.truncated:
        raise ValueError(
            f"video ends after {source.frames_read} of the {source.frame_count} frames its header announces "
            "(truncated or damaged); the frames read were kept"
        )


def run_detect(
    aligner,
    paths: list[str | Path],
    *,
    json_out: str | Path | None = None,
    draw_dir: str | Path | None = None,
    smooth: bool = True,
    progress: bool = True,
    log: TextIO | None = None,
    tracker_options: dict | None = None,
    show: bool = False,
    max_frames: int | None = None,
) -> DetectSummary:
    """Landmarks of every photo, video, camera (``int``) and stream URL in ``paths``. Video faces are
    tracked (:class:`FaceTracker` with ``tracker_options``; ``smooth=False`` turns smoothing off);
    ``show`` previews them in a window, ``max_frames`` stops each video after that many frames."""
    log = log if log is not None else sys.stderr
    options = dict(tracker_options or {})
    if not smooth:
        options["smoothing"] = "none"
    FaceTracker(aligner, **options)  # bad tracking options fail here, once, not on every video
    if show:
        check_show()
    files = expand_inputs(paths)
    summary = DetectSummary()
    out = _AtomicText(Path(json_out)) if json_out else None
    draw = Path(draw_dir) if draw_dir else None
    t0 = time.perf_counter()
    bar = tqdm(files, desc="detect", unit="file", disable=not progress, file=log)
    for path in bar:
        try:
            if _is_video(path):
                _run_video(aligner, path, out, draw, summary, tracker_options=options, show=show,
                           max_frames=max_frames, bar=bar)
            else:
                rgb = read_image(path)
                faces = aligner(rgb)
                summary.images += 1
                summary.faces += len(faces)
                if out:
                    out.write_line(_record(str(path), None, faces))
                if draw:
                    ok, buf = cv2.imencode(".jpg", draw_faces(rgb, faces))
                    if ok:
                        atomic_write_bytes(draw / (path.stem + "_landmarks.jpg"), buf.tobytes())
        except (OSError, ValueError, cv2.error, MemoryError) as exc:
            summary.failures.append((str(path), str(exc)))
            print(f"facealign detect: skipped {path}: {exc}", file=log)
    if out:
        out.commit()
    summary.seconds = time.perf_counter() - t0
    print(summary.line(), file=log)
    return summary
