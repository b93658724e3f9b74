"""Landmarks over video: tracking by re-alignment on the previous frame's landmarks, detector
fall-back when a face is lost, and One-Euro smoothing (:mod:`facealign.smoothing`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator

import cv2
import numpy as np

from .smoothing import OneEuroFilter
from .types import Box, FaceLandmarks

__all__ = ["FaceTracker", "box_iou", "read_frames"]


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    iw = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    ih = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = iw * ih
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def read_frames(path: str) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(frame_index, time_s, rgb)`` from a video file; raises ``ValueError`` if unreadable."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    if not np.isfinite(fps) or fps <= 0:
        fps = 30.0
    i = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield i, i / fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()
    if i == 0:
        raise ValueError(f"no frame could be decoded from {path}")


@dataclass
class _Track:
    face: FaceLandmarks
    filter: OneEuroFilter = field(default_factory=OneEuroFilter)


class FaceTracker:
    """Per-frame landmarks with tracking.

    A tracked face is re-cropped from the 5 points of its landmarks in the previous frame (no
    detector call); when its mean point score falls under ``min_score`` it is dropped, and the
    detector runs whenever no face is tracked or every ``redetect_every`` frames (0 = never) to
    pick up new faces. Smoothing (One-Euro, on by default) is applied per track.
    """

    def __init__(self, aligner, *, smooth: bool = True, min_score: float = 0.25, redetect_every: int = 30,
                 min_cutoff: float = 1.0, beta: float = 0.5) -> None:
        self.aligner = aligner
        self.smooth = smooth
        self.min_score = min_score
        self.redetect_every = redetect_every
        self.filter_args = {"min_cutoff": min_cutoff, "beta": beta}
        self.tracks: list[_Track] = []
        self.frame = 0
        self.detector_calls = 0

    def _detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        self.detector_calls += 1
        return self.aligner(rgb)

    def __call__(self, rgb: np.ndarray, t: float) -> list[FaceLandmarks]:
        scheme = self.aligner.scheme
        faces: list[FaceLandmarks] = []
        if self.tracks:
            fives = [scheme.to_five(tr.face.points.astype(np.float64)) for tr in self.tracks]
            tracked = self.aligner.landmarks_from_five(
                rgb, fives, scores=[tr.face.detector_score for tr in self.tracks], boxes=[tr.face.box for tr in self.tracks]
            )
            faces = [f for f in tracked if float(np.mean(f.scores)) >= self.min_score]
            faces = [replace(f, box=Box.from_points(f.points)) for f in faces]
        need = not faces or len(faces) < len(self.tracks) or (
            self.redetect_every > 0 and self.frame % self.redetect_every == 0
        )
        if need:
            detected = self._detect(rgb)
            # keep tracked faces, add detections that overlap none of them
            for d in detected:
                if all(box_iou(Box.from_points(d.points), f.box) < 0.3 for f in faces):
                    faces.append(d)
        self.tracks = self._update_tracks(faces, t)
        self.frame += 1
        return [tr.face for tr in self.tracks]

    def _update_tracks(self, faces: list[FaceLandmarks], t: float) -> list[_Track]:
        new_tracks = []
        free = list(self.tracks)
        for f in faces:
            fbox = Box.from_points(f.points)
            best = max(free, key=lambda tr: box_iou(Box.from_points(tr.face.points), fbox), default=None)
            if best is not None and box_iou(Box.from_points(best.face.points), fbox) > 0.3:
                free.remove(best)
                flt = best.filter
            else:
                flt = OneEuroFilter(**self.filter_args)
            if self.smooth:
                size = max(fbox.width, fbox.height)
                f = replace(f, points=flt(f.points, t, scale=size).astype(np.float32))
            new_tracks.append(_Track(f, flt))
        return new_tracks
