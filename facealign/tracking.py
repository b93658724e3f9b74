"""Landmarks over a stream of frames: :class:`FaceTracker`, faces with stable integer track ids.

    >>> tracker = FaceTracker(Aligner())
    >>> for frame, t_ms in stream:                   # RGB frames, timestamps in ms, increasing
    ...     for face in tracker.track(frame, t_ms, color="bgr"):  # list[TrackedFace], [] when no face
    ...         print(face.track, face.points)

A face is found by the detector once, then followed without it: each frame's crop is the last one
moved by the face's motion on the image (optical flow, :mod:`facealign.face_motion`), pulled a little
(``landmark_pull``, 3 % a frame) toward the crop placed on the face's own landmarks predicted at the
frame's time, and its points are smoothed over time (:mod:`facealign.smoothing`). Its track ends
when the face leaves the frame or is lost; a face that comes back gets a new id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .api import TURNED, TURNED_YAW, turned_faces
from .face_motion import face_motion
from .geometry import apply_affine, box_iou, umeyama
from .headpose import nose_offset_at_yaw, nose_offsets
from .imageio import ImageInput, to_rgb_uint8
from .smoothing import KalmanFilterCV, OneEuroFilter
from .types import Box, FaceLandmarks

__all__ = ["SMOOTHING", "FaceTracker", "TrackedFace", "fraction_inside"]

#: The smoothing methods of :class:`FaceTracker`.
SMOOTHING = ("kalman", "one-euro", "none")

#: The Kalman filter that places each crop (``measurement_noise``, ``process_noise``): more responsive
#: than the default smoothing, since the crop must keep up with the face.
PLACER_NOISE = (0.004, 0.1)
#: A crop moves only when one of its points would move by more than this many face sizes, so that a
#: still face is seen through one crop and its landmarks do not wander with the crop's own noise.
CROP_DEADBAND = 0.0025

#: A face of the next frame continues a track when their landmark boxes overlap this much.
MATCH_IOU = 0.3

#: Two tracks whose landmark boxes overlap this much follow the same face: the younger one ends.
DUPLICATE_IOU = 0.5
#: Degrees below the Aligner's ``turned_yaw`` at which a tracked face counts as frontal again (``FaceTracker._turned``).
TURNED_HYSTERESIS = 5.0


@dataclass(kw_only=True)
class TrackedFace(FaceLandmarks):
    """A :class:`FaceLandmarks` on a video frame, with ``track``: an integer id, the same on every
    frame of the face's track (ids count from 0 in the order faces appear; never reused).

    In video, ``box`` is on every frame the tight box around the reported (smoothed) ``points``
    (never the detector's box, which only exists on the frames where the detector runs);
    ``detector_score`` is the detector's score from the frame that started the track.
    """

    track: int

    def to_dict(self) -> dict[str, Any]:
        """:meth:`FaceLandmarks.to_dict` plus ``"track"``."""
        return {"track": self.track, **super().to_dict()}


def _box_iou(a: Box, b: Box) -> float:
    """:func:`~facealign.geometry.box_iou` of two :class:`Box` objects."""
    return float(box_iou(a.as_array(), b.as_array())[0, 0])


def fraction_inside(points: np.ndarray, width: int, height: int) -> float:
    """The fraction of ``(K, 2)`` points inside an image of ``width x height`` pixels (pixel
    centres at integers, so the image spans ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``)."""
    p = np.asarray(points, dtype=np.float64)
    inside = (p[:, 0] >= -0.5) & (p[:, 0] <= width - 0.5) & (p[:, 1] >= -0.5) & (p[:, 1] <= height - 0.5)
    return float(inside.mean())


@dataclass
class _Track:
    id: int
    ref_points: np.ndarray  # (K, 2) the landmarks on the frame that started the track
    ref_align5: np.ndarray  # (5, 2) the detector's 5 points on that frame (the crop convention)
    raw: np.ndarray  # (K, 2) the last unsmoothed landmarks
    face: TrackedFace  # the last reported face
    smoother: Any  # KalmanFilterCV | OneEuroFilter | None
    placer: KalmanFilterCV  # a lag-free estimate of the face's motion from its landmarks
    crop5: np.ndarray  # (5, 2) the crop of the last frame
    target5: np.ndarray  # (5, 2) where the crop would be without the deadband
    turned: bool = False  # with flip_test="turned": whether the face takes the flip-test graph (with hysteresis)

    def crop_points(self, t: float, motion: np.ndarray | None, pull: float, deadband: float) -> np.ndarray:
        """Where to crop at time ``t`` (detector-convention 5 points).

        On the landmarks: the 5 points of the start frame moved by the similarity from the start
        frame's landmarks to the landmarks ``placer`` expects at ``t``. With ``motion``, the image
        motion of the face since the last frame (:func:`~facealign.face_motion.face_motion`), the
        last crop is moved by it and then pulled the fraction ``pull`` of the way to that crop on the
        landmarks (a complementary filter: the image gives the frame-to-frame motion, the landmarks
        correct its slow drift); without, the crop on the landmarks. The crop itself stays where it
        was as long as none of its points would move by more than ``deadband`` face sizes (a still
        face keeps one crop, so its landmarks do not wander with the crop's own noise).
        """
        expected = self.placer.predict(t)
        on_points = apply_affine(umeyama(self.ref_points, expected), self.ref_align5)
        if motion is None:
            self.target5 = on_points
        else:
            self.target5 = (1.0 - pull) * apply_affine(motion, self.target5) + pull * on_points
        box = Box.from_points(expected)
        size = max(box.width, box.height)
        if np.abs(self.target5 - self.crop5).max() > deadband * size:
            self.crop5 = self.target5
        return self.crop5


class FaceTracker:
    """Faces with stable track ids over a stream of frames (video files, cameras, live streams).

    Args:
        aligner: an :class:`facealign.Aligner` (top-down: faces are found once, then followed by
            crops on their own points), or any predictor ``rgb -> list[FaceLandmarks]`` (e.g. the
            bottom-up FoxNet one), which then runs on every frame, its faces matched to the tracks by
            the overlap of their landmark boxes.
        smoothing: ``"kalman"`` (default: a constant-velocity Kalman filter, no lag on a face moving
            at constant speed), ``"one-euro"`` (Casiez et al. CHI 2012; trails moving faces) or ``"none"``.
        measurement_noise, process_noise, manoeuvre: the Kalman filter's parameters (:class:`KalmanFilterCV`).
        min_cutoff, beta: the One-Euro filter's parameters (:class:`OneEuroFilter`).
        landmark_pull: how each crop is placed (top-down aligners): the last crop moved by the
            face's optical flow, then pulled this fraction of the way to the crop on the face's
            predicted landmarks (see :meth:`_Track.crop_points`); ``1.0``: on the landmarks alone,
            no optical flow (the former behaviour; about 1.5 ms a face less). Crops placed on the
            landmarks alone let the network's own errors steer the next crop, and for some faces the
            network follows a crop's scale and angle more than the face's (indoor_020: a crop 3 %
            too large gives points 1.7 % too large), so the crops drift while the face moves (1.56
            frames of apparent rotation lag there). The flow is measured on the image and carries no
            such error; the pull corrects its slow drift within about ``1 / landmark_pull`` frames,
            and a bias of the flow itself (a face that turns out of the image plane, a changing
            expression) leaves the crop off by about that bias per frame / ``landmark_pull``.
        min_score: a track ends when its mean point score falls below this (the face is lost).
        min_inside: a track ends when less than this fraction of its points lies inside the frame
            (the face left it); the detector's faces start a track only above it.
        redetect_every: run the detector every this many frames to pick up new faces (0 = only when
            no face is tracked).

    Defaults were chosen by ``benchmarks/jitter.py`` (still-clip jitter against moving-face lag;
    ``landmark_pull`` from 0.01, 0.03, 0.1, 0.3, 0.5 and 1 on clips moving both ways; README, "Video").
    """

    def __init__(
        self,
        aligner: Any,
        *,
        smoothing: str = "kalman",
        measurement_noise: float = 0.004,
        process_noise: float = 0.03,
        manoeuvre: float = 1.0,
        min_cutoff: float = 1.0,
        beta: float = 0.5,
        landmark_pull: float = 0.03,
        min_score: float = 0.25,
        min_inside: float = 0.5,
        redetect_every: int = 30,
    ) -> None:
        if smoothing not in SMOOTHING:
            raise ValueError(f"smoothing must be one of {SMOOTHING}, got {smoothing!r}")
        if not 0.0 < min_inside <= 1.0:
            raise ValueError(f"min_inside must be in (0, 1], got {min_inside}")
        if not 0.0 < landmark_pull <= 1.0:
            raise ValueError(f"landmark_pull must be in (0, 1], got {landmark_pull}")
        if redetect_every < 0:
            raise ValueError(f"redetect_every must be >= 0, got {redetect_every}")
        self.aligner = aligner
        # a top-down Aligner can crop a face on given points; any other predictor (a bottom-up model)
        # runs on every frame and its faces are matched to the tracks
        self.top_down = hasattr(aligner, "landmarks_from_five")
        self.smoothing = smoothing
        # build one filter now so that bad parameters fail here, not on the first face
        self._filter_args: dict[str, float] = (
            {"measurement_noise": measurement_noise, "process_noise": process_noise, "manoeuvre": manoeuvre}
            if smoothing == "kalman"
            else {"min_cutoff": min_cutoff, "beta": beta}
        )
        self._new_smoother()
        self.landmark_pull = landmark_pull
        self.min_score = min_score
        self.min_inside = min_inside
        self.redetect_every = redetect_every
        self.reset()

    def reset(self) -> None:
        """End every track and forget the stream (the next frame may have any timestamp)."""
        self.tracks: list[_Track] = []
        self.frame = 0
        self.detector_calls = 0
        self._next_id = 0
        self._last_ms: float | None = None
        self._gray: np.ndarray | None = None  # the last frame in grey (optical flow)
        self._left: list[_Track] = []  # tracks that ended this frame by leaving it

    def _new_smoother(self) -> Any:
        if self.smoothing == "kalman":
            return KalmanFilterCV(**self._filter_args)
        if self.smoothing == "one-euro":
            return OneEuroFilter(**self._filter_args)
        return None

    def track(self, frame: ImageInput, timestamp_ms: float, *, color: str | None = None) -> list[TrackedFace]:
        """The faces of ``frame`` taken at ``timestamp_ms`` (milliseconds, strictly increasing along the
        stream). An array states its channel order (the package's colour contract,
        :func:`facealign.imageio.to_rgb_uint8`): ``color="bgr"`` for ``cv2.VideoCapture`` frames,
        ``color="rgb"`` for RGB ones; without it a ``ValueError`` names both."""
        if self._last_ms is not None and not timestamp_ms > self._last_ms:
            raise ValueError(
                f"timestamps must increase: got {timestamp_ms} ms after {self._last_ms} ms (reset() starts a new stream)"
            )
        rgb = to_rgb_uint8(frame, color=color)  # the one place frames are converted
        self._last_ms = float(timestamp_ms)
        prev_gray = self._gray
        flow = self.top_down and self.landmark_pull < 1.0
        self._gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if flow else None
        t = timestamp_ms / 1000.0
        h, w = rgb.shape[:2]
        if self.top_down:
            live = self._follow(rgb, t, w, h, prev_gray)
            periodic = self.redetect_every > 0 and self.frame % self.redetect_every == 0
            if not live or periodic:
                live += self._start_tracks(rgb, t, w, h, live)
        else:
            live = self._match(rgb, t, w, h)
        self.tracks = live
        self.frame += 1
        return [tr.face for tr in self.tracks]

    # ----------------------------------------------------------------------------------- internals
    def _detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """Every face of the RGB frame, by the predictor (the one place it is called on whole frames)."""
        self.detector_calls += 1
        return self.aligner(rgb, color="rgb")

    def _follow(self, rgb: np.ndarray, t: float, w: int, h: int, prev_gray: np.ndarray | None) -> list[_Track]:
        """Re-crop every track at its expected place; keep those still in the frame and found."""
        self._left = []
        if not self.tracks:
            return []
        crops = []
        for tr in self.tracks:
            motion = None
            if prev_gray is not None and self._gray is not None and prev_gray.shape == self._gray.shape:
                motion = face_motion(prev_gray, self._gray, tr.raw)
            crops.append(tr.crop_points(t, motion, self.landmark_pull, CROP_DEADBAND))
        turned = self._turned(crops)
        scores = [tr.face.detector_score for tr in self.tracks]
        found = (self.aligner.landmarks_from_five(rgb, crops, scores=scores) if turned is None
                 else self.aligner.landmarks_from_five(rgb, crops, scores=scores, turned=turned))
        live: list[_Track] = []
        for tr, f in zip(self.tracks, found):
            raw = f.points.astype(np.float64)
            if float(np.mean(f.scores)) < self.min_score:
                continue  # lost: the track ends
            if any(_box_iou(Box.from_points(raw), Box.from_points(o.raw)) > DUPLICATE_IOU for o in live):
                continue  # two tracks on one face: the older (earlier in the list) goes on
            self._report(tr, f, raw, t)
            if fraction_inside(tr.face.points, w, h) >= self.min_inside:
                live.append(tr)
            else:  # it left the frame: the track ends, and the detector may not restart it now
                self._left.append(tr)
        return live

    def _turned(self, crops: list[np.ndarray]) -> list[bool] | None:
        """With the Aligner's ``flip_test="turned"``: each track's face is turned (takes the flip-test graph) once
        its crop's 5 points say more than ``turned_yaw`` degrees, and stays so until they say less than
        :data:`TURNED_HYSTERESIS` degrees below that: a face held near the boundary does not switch graphs (and
        jump by the several % of the eye distance the two graphs differ by on turned faces: benchmarks/README.md,
        hard_faces.py) from frame to frame."""
        if getattr(self.aligner, "flip_test", False) != TURNED:
            return None
        yaw = getattr(self.aligner, "turned_yaw", TURNED_YAW)
        on, off = nose_offset_at_yaw(yaw), nose_offset_at_yaw(max(yaw - TURNED_HYSTERESIS, 0.0))
        offsets = nose_offsets(np.stack(crops))
        for tr, r in zip(self.tracks, offsets):
            tr.turned = bool(r > (off if tr.turned else on))
        return [tr.turned for tr in self.tracks]

    def _start_tracks(self, rgb: np.ndarray, t: float, w: int, h: int, live: list[_Track]) -> list[_Track]:
        """Detector faces that no live track follows and that lie in the frame start new tracks."""
        new: list[_Track] = []
        for d in self._detect(rgb):
            raw = d.points.astype(np.float64)
            box = Box.from_points(raw)
            if fraction_inside(raw, w, h) < self.min_inside:
                continue
            if any(_box_iou(box, Box.from_points(o.raw)) > MATCH_IOU for o in live + new + self._left):
                continue  # a face already followed, or the one whose track ended as it left the frame
            tr = self._new_track(d, raw)
            self._report(tr, d, raw, t)
            new.append(tr)
        return new

    def _match(self, rgb: np.ndarray, t: float, w: int, h: int) -> list[_Track]:
        """For predictors that cannot crop on given points: every frame's faces, each continuing the
        free track it overlaps most (IoU of the landmark boxes above ``MATCH_IOU``) or starting one."""
        free = list(self.tracks)
        live: list[_Track] = []
        for f in self._detect(rgb):
            raw = f.points.astype(np.float64)
            if fraction_inside(raw, w, h) < self.min_inside:
                continue
            box = Box.from_points(raw)
            best = max(free, key=lambda tr: _box_iou(box, Box.from_points(tr.raw)), default=None)
            if best is not None and _box_iou(box, Box.from_points(best.raw)) > MATCH_IOU:
                free.remove(best)
            else:
                best = self._new_track(f, raw)
            self._report(best, f, raw, t)
            if fraction_inside(best.face.points, w, h) >= self.min_inside:
                live.append(best)
        return live

    def _new_track(self, f: FaceLandmarks, raw: np.ndarray) -> _Track:
        five = f.align_points.astype(np.float64)
        placer = KalmanFilterCV(measurement_noise=PLACER_NOISE[0], process_noise=PLACER_NOISE[1])
        tr = _Track(self._next_id, raw, five, raw, None, self._new_smoother(), placer, five, five)  # type: ignore[arg-type]
        if getattr(self.aligner, "flip_test", False) == TURNED:
            tr.turned = bool(turned_faces(five[None], getattr(self.aligner, "turned_yaw", TURNED_YAW))[0])
        self._next_id += 1
        return tr

    def _report(self, tr: _Track, f: FaceLandmarks, raw: np.ndarray, t: float) -> None:
        """Smooth the new measurement ``raw`` of track ``tr`` and set what it reports."""
        tr.raw = raw
        box = Box.from_points(raw)
        size = max(box.width, box.height)
        tr.placer(raw, t, scale=size)
        pts = raw
        if tr.smoother is not None:
            pts = tr.smoother(raw, t, scale=size)
        score = f.detector_score if tr.face is None else tr.face.detector_score
        fields = {k: getattr(f, k) for k in ("scores", "align_points", "scheme", "image_size")}
        pts = pts.astype(np.float32)
        tr.face = TrackedFace(points=pts, box=Box.from_points(pts), detector_score=score, track=tr.id, **fields)
