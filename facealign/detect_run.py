"""``facealign detect``: photos, folders (recursive), videos, cameras and streams -> JSON lines and drawings.

Guarantees: the output targets are checked before any work (:func:`check_outputs`); one unreadable
file is reported and skipped; every file is written to a hidden temporary sibling and moved into
place complete (with the user's umask, :mod:`facealign.atomic`); drawings mirror the input tree under
``--draw`` (:func:`draw_targets`), so ``a/x.jpg`` and ``b/x.jpg`` never overwrite each other.
Ctrl-C (SIGINT) or SIGTERM stop the run after the current file's line: the lines written so far are
moved to the JSON path (valid JSON lines, one per finished image or video frame), no temporary file
is left behind, a drawn video in progress is deleted, and the summary says what stopped the run.

JSON lines (schema in the README, "Output"): image, width, height, model, for video frames frame and
time_ms, then the faces (``FaceLandmarks.to_dict()``); ``--csv`` writes one row per face. Coordinates are
pixels of the image as displayed (EXIF orientation applied, ``facealign.types``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
from tqdm import tqdm

from .atomic import AtomicLines, atomic_write_bytes, check_writable, temp_sibling
from .imageio import read_image
from .types import FaceLandmarks
from .video import TruncatedVideoError, VideoSource, is_stream_url, tracked_frames
from .video import tracker_options as video_tracker_options

__all__ = ["DetectSummary", "check_outputs", "check_show", "draw_faces", "draw_targets", "expand_inputs", "run_detect"]

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass
class DetectSummary:
    images: int = 0
    frames: int = 0
    faces: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_by: str = ""
    """``"SIGINT"`` / ``"SIGTERM"`` when a signal stopped the run, else ``""``."""

    def line(self) -> str:
        n = self.images + self.frames
        per = 1000 * self.seconds / n if n else 0.0
        text = (
            f"{self.images} images, {self.frames} video frames, {self.faces} faces, "
            f"{len(self.failures)} failures, {per:.1f} ms per image/frame"
        )
        if self.failures:
            names = ", ".join(Path(f).name for f, _ in self.failures[:SKIPPED_NAMED])
            more = f" and {len(self.failures) - SKIPPED_NAMED} more" if len(self.failures) > SKIPPED_NAMED else ""
            text += f"; skipped: {names}{more}"
        if self.stopped_by:
            text = f"stopped by {self.stopped_by}: " + text
        return text


SKIPPED_NAMED = 10
"""Skipped files named in the summary line (each is also reported on its own line as it is skipped)."""


class _Stop(BaseException):
    """Raised in the main thread by the SIGTERM handler of :func:`run_detect` (like KeyboardInterrupt
    for SIGINT): a BaseException, so that no ``except Exception`` on the way swallows it."""


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


def check_outputs(json_out: str | Path | None, draw_dir: str | Path | None, csv_out: str | Path | None = None) -> None:
    """Raise ``ValueError`` (one line) unless ``json_out`` and ``csv_out`` can be written as files and
    ``draw_dir`` used as a folder (:func:`facealign.atomic.check_writable`). Checked before any work."""
    if json_out is not None:
        check_writable(json_out, what="--json")
    if csv_out is not None:
        check_writable(csv_out, what="--csv")
    if draw_dir is not None:
        check_writable(draw_dir, folder=True, what="--draw")


def draw_targets(files: list[Path], draw_dir: str | Path) -> dict[Path, Path]:
    """Where the drawing of each input goes: the input's path relative to the inputs' common folder,
    under ``draw_dir``, as ``STEM_landmarks.jpg`` (``.mp4`` for videos). Two inputs of one folder with
    the same stem (``x.jpg``, ``x.png``) keep their extension in the name (``x_jpg_landmarks.jpg``)."""
    named = {f: Path(draw_dir) / _drawn_video_name(f) for f in files if isinstance(f, int) or is_stream_url(f)}
    files = [f for f in files if f not in named]
    if not files:
        return named
    resolved = [f.resolve() for f in files]
    root = Path(os.path.commonpath([r.parent for r in resolved]))
    stems: dict[Path, int] = {}
    for r in resolved:
        key = r.parent / r.stem
        stems[key] = stems.get(key, 0) + 1
    out = {}
    for f, r in zip(files, resolved):
        stem = r.stem if stems[r.parent / r.stem] == 1 else r.name.replace(".", "_")
        ext = ".mp4" if r.suffix.lower() in VIDEO_EXTS else ".jpg"
        out[f] = Path(draw_dir) / r.parent.relative_to(root) / f"{stem}_landmarks{ext}"
    return {**out, **named}


#: Face size (square root of the box area, px) per pixel of dot radius in drawings.
DOT_PER_FACE_PX = 100.0


def draw_faces(rgb: np.ndarray, faces: list[FaceLandmarks]) -> np.ndarray:
    """A BGR copy of the image with boxes and landmarks drawn (for ``cv2.imwrite``): the contours of the
    face's scheme (its boundaries: jaw, brows, nose, eyelids, lips) joined by lines, and a dot per point;
    dots, lines and box sized to each face (``sqrt(box area) / 100``: 1 px on a 100 px face, 4 px on 400)."""
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    for f in faces:
        b = f.box
        size = float(np.sqrt(max(b.width * b.height, 1.0)))
        dot = max(1, int(round(size / DOT_PER_FACE_PX)))
        line = max(1, dot // 2)
        cv2.rectangle(img, (int(b.x1), int(b.y1)), (int(b.x2), int(b.y2)), (255, 160, 0), line)
        pts = np.round(f.points).astype(np.int32)
        ok = np.isfinite(f.points).all(axis=1)
        for boundary in _boundaries(f.scheme, len(pts)):
            idx = [i for i in boundary.indices if ok[i]]
            if len(idx) > 1:
                cv2.polylines(img, [pts[idx].reshape(-1, 1, 2)], boundary.closed, (0, 200, 255), line, lineType=cv2.LINE_AA)
        for (x, y), good in zip(pts, ok):
            if good:
                cv2.circle(img, (int(x), int(y)), dot, (0, 255, 0), -1, lineType=cv2.LINE_AA)
    return img


def _boundaries(scheme: str, num_points: int) -> tuple:
    """The boundaries of a known scheme with ``num_points`` points, else none (dots only)."""
    from .landmarks import SCHEMES

    s = SCHEMES.get(scheme)
    return s.boundaries if s is not None and s.num_points == num_points else ()


class _CsvOut:
    """``--csv``: one row per face (header written with the first face, whose point count it names)."""

    FIELDS = ("image", "frame", "time_ms", "width", "height", "model", "face", "x1", "y1", "x2", "y2", "score")

    def __init__(self, path: Path) -> None:
        self.file = AtomicLines(path)
        self.points: int | None = None

    def write(self, image: str, frame: int | None, time_s: float | None, rgb: np.ndarray, model: str | None,
              faces: list[FaceLandmarks]) -> None:
        for n, f in enumerate(faces):
            if self.points is None:
                self.points = len(f.points)
                cols = [c for i in range(self.points) for c in (f"x{i}", f"y{i}")]
                self.file.write_line(",".join((*self.FIELDS, *cols)))
            if len(f.points) != self.points:
                raise ValueError(f"--csv: a face with {len(f.points)} points after faces with {self.points}")
            head = [image, "" if frame is None else str(frame), "" if frame is None else f"{1000.0 * (time_s or 0.0):.3f}",
                    str(rgb.shape[1]), str(rgb.shape[0]), model or "", str(n)]
            nums = [f"{v:.2f}" for v in f.box.as_array()] + [f"{f.detector_score:.4f}"]
            nums += [f"{v:.2f}" for v in np.asarray(f.points, dtype=np.float64).ravel()]
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(head + nums)
            self.file.write_line(buf.getvalue())

    def commit(self) -> None:
        self.file.commit()


def _row(image: str, frame: int | None, faces: list[FaceLandmarks], *, rgb: np.ndarray, model: str | None,
         time_s: float | None = None) -> dict:
    """One output record (the schema is in the README, "Output"): image, width, height, model, for video
    frames frame and time_ms, then the faces (:meth:`FaceLandmarks.to_dict`)."""
    row: dict = {"image": image, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "model": model}
    if frame is not None:
        row["frame"] = frame
        row["time_ms"] = round(1000.0 * float(time_s or 0.0), 3)
    row["faces"] = [f.to_dict() for f in faces]
    return row


def _record(image: str, frame: int | None, faces: list[FaceLandmarks], *, rgb: np.ndarray, model: str | None,
            time_s: float | None = None) -> str:
    """:func:`_row` as one JSON line."""
    return json.dumps(_row(image, frame, faces, rgb=rgb, model=model, time_s=time_s))


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


def run_detect(
    aligner,
    paths: list[str | Path],
    *,
    json_out: str | Path | None = None,
    draw_dir: str | Path | None = None,
    smooth: bool = True,
    progress: bool = True,
    log: TextIO | None = None,
    max_pixels: int | None = None,
    model: str | None = None,
    csv_out: str | Path | None = None,
    tracker_options: dict | None = None,
    show: bool = False,
    max_frames: int | None = None,
) -> DetectSummary:
    """Landmarks of every photo and video frame under ``paths`` (see the module docstring for what is
    guaranteed); image files above ``max_pixels`` (default ``facealign.imageio.MAX_PIXELS``) are
    skipped unread. Raises ``ValueError`` before any work when the outputs cannot be written
    (:func:`check_outputs`) or ``paths`` hold no image or video ("no images found"). ``model``: the name
    written in every JSON line (default: the predictor's card name, if it has one); ``csv_out``: also one
    CSV row per face there (``_CsvOut``). Videos, cameras (``int``) and stream URLs: faces tracked
    (:class:`facealign.tracking.FaceTracker` with ``tracker_options``; ``smooth=False``: no smoothing); ``show``
    previews them in a window, ``max_frames`` stops each video after that many frames."""
    log = log if log is not None else sys.stderr
    model = model if model is not None else getattr(getattr(aligner, "card", None), "name", None)
    check_outputs(json_out, draw_dir, csv_out)
    options = video_tracker_options(tracker_options, smooth=smooth)  # bad ones fail here, not on every video
    if show:
        check_show()
    files = expand_inputs(paths)
    if not files:
        shown = " ".join(map(str, paths))
        raise ValueError(f"no images found in {shown} (looked for {' '.join(sorted(IMAGE_EXTS | VIDEO_EXTS))})")
    targets = draw_targets(files, draw_dir) if draw_dir else {}
    summary = DetectSummary()
    out = AtomicLines(json_out) if json_out else None
    table = _CsvOut(Path(csv_out)) if csv_out else None
    t0 = time.perf_counter()
    bar = tqdm(files, desc="detect", unit="file", disable=not progress, file=log)
    handlers = _stop_on_sigterm()
    try:
        for path in bar:
            try:
                if _is_video(path):
                    _run_video(aligner, path, out, table, model, targets.get(path), summary, tracker_options=options,
                               show=show, max_frames=max_frames, bar=bar)
                else:
                    _one_photo(aligner, path, out, table, model, targets.get(path), summary, max_pixels)
            except (OSError, ValueError, cv2.error, MemoryError) as exc:
                summary.failures.append((str(path), str(exc)))
                print(f"facealign detect: skipped {path}: {exc}", file=log)
    except (KeyboardInterrupt, _Stop) as stop:
        summary.stopped_by = "SIGINT" if isinstance(stop, KeyboardInterrupt) else "SIGTERM"
    finally:
        bar.close()
        _ignore_signals(handlers)  # a second Ctrl-C must not interrupt the move into place
        if out:
            out.commit()
        if table:
            table.commit()
        _restore_signals(handlers)
    summary.seconds = time.perf_counter() - t0
    print(summary.line(), file=log)
    return summary


def _run_video(aligner, path: Path | str | int, out: AtomicLines | None, table: _CsvOut | None, model: str | None,
               target: Path | None, summary: DetectSummary, *, tracker_options: dict, show: bool, max_frames: int | None,
               bar) -> None:
    """Track faces over one video / camera / stream: one JSON line per frame, a drawn video at the
    input's frame rate (written beside ``target`` and moved into place complete; deleted when
    interrupted). A file that ends before the frames its header announces is reported."""
    source = VideoSource(path)
    name = _source_name(path)
    writer, tmp_video = None, None
    stopped = False  # by the user (q / Esc) or --max-frames, before the end of the input
    truncated: TruncatedVideoError | None = None
    try:
        try:
            for fr, faces in tracked_frames(aligner, source, tracker_options):
                summary.frames += 1
                summary.faces += len(faces)
                t = fr.time_ms / 1000.0
                if out:
                    out.write_line(_record(name, fr.index, faces, rgb=fr.rgb, model=model, time_s=t))
                if table:
                    table.write(name, fr.index, t, fr.rgb, model, faces)
                if target or show:
                    img = draw_faces(fr.rgb, faces)
                if target:
                    if writer is None:
                        fd, tmp_video = temp_sibling(target, suffix=".mp4")
                        os.close(fd)
                        fps = source.fps or 30.0  # the input's frame rate (30 when it gives none)
                        writer = cv2.VideoWriter(str(tmp_video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (fr.rgb.shape[1], fr.rgb.shape[0]))
                    writer.write(img)
                if show:
                    cv2.imshow("facealign", img)
                    stopped = cv2.waitKey(1) & 0xFF in (ord("q"), 27)  # q or Esc ends this input
                bar.set_postfix(frame=fr.index)
                stopped = stopped or (max_frames is not None and fr.index + 1 >= max_frames)
                if stopped:
                    break
        except TruncatedVideoError as exc:
            truncated = exc  # reported below, once the drawing of the frames read is in place
        if writer is not None:
            writer.release()
            writer = None
            os.replace(tmp_video, target)
    finally:
        if writer is not None:
            writer.release()
        if tmp_video is not None and tmp_video.exists():
            tmp_video.unlink()  # an interrupted or failed drawing: nothing half-written is left
        if show:
            cv2.destroyAllWindows()
    if truncated is not None:
        raise truncated


def _one_photo(aligner, path: Path, out: AtomicLines | None, table: _CsvOut | None, model: str | None,
               target: Path | None, summary: DetectSummary, max_pixels: int | None) -> None:
    """The JSON line, CSV rows and drawing of one photo."""
    rgb = read_image(path, max_pixels=max_pixels)
    faces = aligner(rgb, color="rgb")
    summary.images += 1
    summary.faces += len(faces)
    if out:
        out.write_line(_record(str(path), None, faces, rgb=rgb, model=model))
    if table:
        table.write(str(path), None, None, rgb, model, faces)
    if target:
        ok, buf = cv2.imencode(".jpg", draw_faces(rgb, faces))
        if ok:
            atomic_write_bytes(target, buf.tobytes())


def _stop_on_sigterm() -> dict:
    """In the main thread, make SIGTERM raise :class:`_Stop` (SIGINT raises KeyboardInterrupt already);
    returns the SIGINT and SIGTERM handlers to restore (``{}`` in other threads, which cannot set them)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum, frame):
        raise _Stop()

    saved = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
    saved[signal.SIGTERM] = signal.signal(signal.SIGTERM, stop)
    return saved


def _ignore_signals(handlers: dict) -> None:
    for signum in handlers:
        signal.signal(signum, signal.SIG_IGN)


def _restore_signals(handlers: dict) -> None:
    for signum, handler in handlers.items():
        if handler is not None:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signum, handler)
