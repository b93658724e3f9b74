"""Landmarks over video: tracking by re-alignment on the previous frame's landmarks, detector
fall-back when a face is lost, and One-Euro smoothing (:mod:`facealign.smoothing`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator

import cv2
import numpy as np

from .geometry import apply_affine, umeyama
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
    face: FaceLandmarks  # what was reported (smoothed)
    raw: np.ndarray  # (K, 2) unsmoothed landmarks of the last frame
    align5: np.ndarray  # (5, 2) alignment points in the detector's convention for the next crop
    filter: OneEuroFilter = field(default_factory=OneEuroFilter)


class FaceTracker:
    """Per-frame landmarks with tracking.

    A tracked face is re-cropped without a detector call: its alignment points (in the detector's
    5-point convention) are carried from frame to frame by the face's motion, the similarity
    transform between its landmarks in consecutive frames (Umeyama over all K points, so noise
    averages out; re-aligning on the model's own 5 points instead drifts, because they follow the
    landmark definition, not the detector's). When its mean point score falls under ``min_score`` it is dropped, and the
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
        return self.aligner(rgb, color="rgb")

    def __call__(self, rgb: np.ndarray, t: float) -> list[FaceLandmarks]:
        faces: list[FaceLandmarks] = []
        carried: list[np.ndarray] = []
        if self.tracks:
            tracked = self.aligner.landmarks_from_five(
                rgb, [tr.align5 for tr in self.tracks],
                scores=[tr.face.detector_score for tr in self.tracks], boxes=[tr.face.box for tr in self.tracks],
            )
            for tr, f in zip(self.tracks, tracked):
                if float(np.mean(f.scores)) < self.min_score:
                    continue
                motion = umeyama(tr.raw, f.points.astype(np.float64))
                faces.append(replace(f, box=Box.from_points(f.points)))
                carried.append(apply_affine(motion, tr.align5))
        need = not faces or len(faces) < len(self.tracks) or (
            self.redetect_every > 0 and self.frame % self.redetect_every == 0
        )
        if need:
            detected = self._detect(rgb)
            if self.redetect_every > 0 and self.frame % self.redetect_every == 0:
                # a fresh detection replaces the carried alignment of the face it overlaps
                for d in detected:
                    for i, f in enumerate(faces):
                        if box_iou(Box.from_points(d.points), f.box) >= 0.3:
                            faces[i], carried[i] = d, d.align_points.astype(np.float64)
            for d in detected:
                if all(box_iou(Box.from_points(d.points), f.box) < 0.3 for f in faces):
                    faces.append(d)
                    carried.append(d.align_points.astype(np.float64))
        self.tracks = self._update_tracks(faces, carried, t)
        self.frame += 1
        return [tr.face for tr in self.tracks]

    def _update_tracks(self, faces: list[FaceLandmarks], carried: list[np.ndarray], t: float) -> list[_Track]:
        new_tracks = []
        free = list(self.tracks)
        for f, align5 in zip(faces, carried):
            fbox = Box.from_points(f.points)
            best = max(free, key=lambda tr: box_iou(Box.from_points(tr.raw), fbox), default=None)
            if best is not None and box_iou(Box.from_points(best.raw), fbox) > 0.3:
                free.remove(best)
                flt = best.filter
            else:
                flt = OneEuroFilter(**self.filter_args)
            raw = f.points.astype(np.float64)
            if self.smooth:
                size = max(fbox.width, fbox.height)
                f = replace(f, points=flt(raw, t, scale=size).astype(np.float32))
            new_tracks.append(_Track(f, raw, align5, flt))
        return new_tracks
