"""``facealign detect``: photos, folders (recursive) and videos -> JSON lines and drawings.

One unreadable file is reported and skipped; outputs are written to a temporary file and moved
into place when complete, so an interrupted run never leaves a half-written result behind.
"""

from __future__ import annotations

import csv
import io
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
from .video import FaceTracker, read_frames

__all__ = ["DetectSummary", "draw_faces", "expand_inputs", "run_detect"]

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


def expand_inputs(paths: list[str | Path]) -> list[Path]:
    """Files named directly (any extension) and, for folders, the image / video files under them
    (recursive, sorted). Missing paths are kept so that they are reported as failures."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS)
        else:
            out.append(p)
    return out


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
        self.file = _AtomicText(path)
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


def _record(image: str, frame: int | None, faces: list[FaceLandmarks], *, rgb: np.ndarray, model: str | None,
            time_s: float | None = None) -> str:
    """One JSON line (the schema is in the README, "Output"): image, width, height, model, for video
    frames frame and time_ms, then the faces (:meth:`FaceLandmarks.to_dict`)."""
    row: dict = {"image": image, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "model": model}
    if frame is not None:
        row["frame"] = frame
        row["time_ms"] = round(1000.0 * float(time_s or 0.0), 3)
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


def _video_frames(aligner, path: Path, smooth: bool) -> Iterator[tuple[int, np.ndarray, list[FaceLandmarks], float]]:
    """Frames with their faces: tracked (:class:`FaceTracker`) for top-down models, which can re-crop a
    face on its carried 5 points; every frame on its own for bottom-up models (their cost does not
    depend on the number of faces, and they have nothing to carry)."""
    tracker = FaceTracker(aligner, smooth=smooth) if hasattr(aligner, "landmarks_from_five") else aligner
    for i, t, rgb in read_frames(str(path)):
        yield i, rgb, (tracker(rgb, t) if tracker is not aligner else aligner(rgb, color="rgb")), t


def run_detect(
    aligner,
    paths: list[str | Path],
    *,
    json_out: str | Path | None = None,
    draw_dir: str | Path | None = None,
    smooth: bool = True,
    progress: bool = True,
    log: TextIO | None = None,
    model: str | None = None,
    csv_out: str | Path | None = None,
) -> DetectSummary:
    """``model``: the name written in every JSON line (default: the predictor's card name, if it has one);
    ``csv_out``: also one CSV row per face there (``_CsvOut``)."""
    log = log if log is not None else sys.stderr
    model = model if model is not None else getattr(getattr(aligner, "card", None), "name", None)
    files = expand_inputs(paths)
    summary = DetectSummary()
    out = _AtomicText(Path(json_out)) if json_out else None
    table = _CsvOut(Path(csv_out)) if csv_out else None
    draw = Path(draw_dir) if draw_dir else None
    t0 = time.perf_counter()
    bar = tqdm(files, desc="detect", unit="file", disable=not progress, file=log)
    for path in bar:
        try:
            if path.suffix.lower() in VIDEO_EXTS:
                writer = None
                tmp_video = None
                try:
                    for i, rgb, faces, t in _video_frames(aligner, path, smooth):
                        summary.frames += 1
                        summary.faces += len(faces)
                        if out:
                            out.write_line(_record(str(path), i, faces, rgb=rgb, model=model, time_s=t))
                        if table:
                            table.write(str(path), i, t, rgb, model, faces)
                        if draw:
                            if writer is None:
                                draw.mkdir(parents=True, exist_ok=True)
                                fd, tmp_video = tempfile.mkstemp(suffix=".mp4", dir=draw)
                                os.close(fd)
                                writer = cv2.VideoWriter(tmp_video, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (rgb.shape[1], rgb.shape[0]))
                            writer.write(draw_faces(rgb, faces))
                        bar.set_postfix(frame=i)
                finally:
                    if writer is not None:
                        writer.release()
                if tmp_video:
                    os.replace(tmp_video, draw / (path.stem + "_landmarks.mp4"))
            else:
                rgb = read_image(path)
                faces = aligner(rgb, color="rgb")
                summary.images += 1
                summary.faces += len(faces)
                if out:
                    out.write_line(_record(str(path), None, faces, rgb=rgb, model=model))
                if table:
                    table.write(str(path), None, None, rgb, model, faces)
                if draw:
                    ok, buf = cv2.imencode(".jpg", draw_faces(rgb, faces))
                    if ok:
                        atomic_write_bytes(draw / (path.stem + "_landmarks.jpg"), buf.tobytes())
        except (OSError, ValueError, cv2.error, MemoryError) as exc:
            summary.failures.append((str(path), str(exc)))
            print(f"facealign detect: skipped {path}: {exc}", file=log)
    if out:
        out.commit()
    if table:
        table.commit()
    summary.seconds = time.perf_counter() - t0
    print(summary.line(), file=log)
    return summary
