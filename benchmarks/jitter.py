"""The video benchmark: still-clip jitter, moving-face lag and speed error on synthetic clips with
known motion, for facealign's tracking modes beside MediaPipe Face Mesh (video mode) and dlib.

Each photo (a real face from ``../shared/data/samples/300w``) is scaled to 400 px wide and warped onto a
640 x 480 canvas by a known motion (:mod:`facealign.synthetic_video`): still, translation (3 px a
frame), in-plane rotation (0.5 degrees a frame about the face centre) and zoom (0.5 % a frame about
the face centre), 60 frames at 30 fps, with fresh Gaussian noise (sigma 4 grey levels) and a JPEG
round trip (quality 85) on every frame. Every method is measured against its own landmark
definition: its mean points on the still clip, moved by the known motion, are the truth.

* jitter: on the still clip, the standard deviation over frames of each point (x and y together),
  averaged over points, in % of the inter-ocular (eye-centre) distance (:func:`jitter_std`);
* lag: how many frames the points trail the truth along the motion (:func:`lag_frames`; 0 = on
  time, negative = ahead), frames 10-59 (after the start-up of every method), each motion both ways
  (right / left, clockwise / anticlockwise, zoom in / out) and their mean. At 0.5 degrees a frame a
  point 80 px from the centre moves 0.7 px, so an error of 1 px that depends on the face's angle
  rather than on its speed reads as more than a frame of lag. Such an error mostly changes sign with
  the direction of the turn while a lag does not: the detector on every frame, which has no memory
  and so no lag, reads 2.70 frames clockwise and -1.65 anticlockwise on indoor_020. The mean of both
  directions keeps the lag and cancels most of it;
* speed error: the error of the points' frame-to-frame motion, % of the true motion (:func:`speed_error`);
* error after a stop: on a clip moving 3 px a frame for 30 frames, then still, the largest mean
  point error (% IOD) over the still half: what a filter's momentum costs when a face stops;
* ms: wall time per frame on 1 thread, detection included.

MediaPipe Face Mesh (``static_image_mode=False``: its own tracking from frame to frame) and dlib
(HOG detector + 68-point shape predictor on every frame; dlib has no video mode) run when importable,
i.e. in the peers environment (``bash benchmarks/setup_peers.sh``).

    .venv-peers/bin/python -m benchmarks.jitter [--frames 60] [--sweep] [--pull-sweep]
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy / onnxruntime load their thread pools; not when imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facealign.api import FLIP_CHOICES, Aligner
from facealign.geometry import apply_affine
from facealign.imageio import read_image
from facealign.card import DEFAULT_MODEL
from facealign.synthetic_video import motion_matrices, render_clip
from facealign.tracking import FaceTracker
from facealign.video_metrics import jitter_std, lag_frames, speed_error

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = [ROOT.parent / "shared/data/samples/300w" / n for n in ("indoor_029.png", "image_0010.png", "indoor_020.png")]
CANVAS = (640, 480)
PHOTO_WIDTH = 400
MOTIONS = ("translation", "rotation", "zoom")
#: Every motion both ways: clip name -> (kind, keyword arguments of motion_matrices).
DIRECTIONS = {
    "translation": ("translation", {}), "translation back": ("translation", {"px_per_frame": -3.0}),
    "rotation": ("rotation", {}), "rotation back": ("rotation", {"deg_per_frame": -0.5}),
    "zoom": ("zoom", {}), "zoom back": ("zoom", {"zoom_per_frame": -0.005}),
}
SKIP = 10  # frames left out of lag and speed error: every method's start-up

#: The 5-point eye groups of MediaPipe Face Mesh (PEERS.md) and dlib / iBUG 68.
MESH_EYES = ([33, 133, 160, 159, 158, 144, 145, 153], [362, 263, 387, 386, 385, 373, 374, 380])
IBUG_EYES = (list(range(36, 42)), list(range(42, 48)))

#: A method: a factory of a fresh per-clip function ``(rgb, time_ms) -> (K, 2) points or None``.
Method = Callable[[], Callable[[np.ndarray, float], "np.ndarray | None"]]


def clips_of(photo: Path, frames: int, fps: float = 30.0) -> tuple[dict[str, tuple[np.ndarray, list[np.ndarray]]], tuple[float, float]]:
    """``{clip: (mats, frames)}`` for the still clip, every motion both ways (``DIRECTIONS``) and the
    stop; motions about the face centre (found by the default model on the still canvas)."""
    rgb = read_image(photo)
    rgb = cv2.resize(rgb, (PHOTO_WIDTH, round(PHOTO_WIDTH * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    place = np.array([[1.0, 0, (CANVAS[0] - rgb.shape[1]) / 2], [0, 1.0, max(0.0, (CANVAS[1] - rgb.shape[0]) / 2)]])
    still = render_clip(rgb, place[None], size=CANVAS).frames[0]
    faces = Aligner(threads=1)(still, color="rgb")
    if len(faces) != 1:
        raise ValueError(f"{photo}: need one face, found {len(faces)}")
    centre = tuple(faces[0].points.mean(0))
    out = {}
    clips = {"still": ("still", {}), **DIRECTIONS, "stop": ("stop", {})}
    for name, (kind, speed) in clips.items():
        motion = motion_matrices(kind, frames, centre, **speed)
        mats = np.array([np.vstack([m, [0, 0, 1]]) @ np.vstack([place, [0, 0, 1]]) for m in motion])[:, :2]
        out[name] = (motion, render_clip(rgb, mats, size=CANVAS, fps=fps).frames)
    return out, centre


def _largest(faces: list) -> np.ndarray | None:
    """The points of the largest face (as for dlib; a spurious small detection does not count)."""
    return max(faces, key=lambda f: f.box.width * f.box.height).points if faces else None


def facealign_method(aligner: Aligner, **tracker_options) -> Method:
    def make():
        tracker = FaceTracker(aligner, **tracker_options)

        def run(rgb: np.ndarray, t_ms: float):
            return _largest(tracker.track(rgb, t_ms, color="rgb"))

        return run

    return make


def detector_every_frame(aligner: Aligner) -> Method:
    def make():
        def run(rgb: np.ndarray, t_ms: float):
            return _largest(aligner(rgb, color="rgb"))

        return run

    return make


def mediapipe_method() -> Method | None:
    try:
        import mediapipe as mp
    except ImportError:
        return None

    def make():
        mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False)

        def run(rgb: np.ndarray, t_ms: float):
            res = mesh.process(rgb)
            if not res.multi_face_landmarks:
                return None
            h, w = rgb.shape[:2]
            return np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark])

        return run

    return make


def dlib_method() -> Method | None:
    try:
        import dlib
        import face_recognition_models
    except ImportError:
        return None
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())

    def make():
        def run(rgb: np.ndarray, t_ms: float):
            dets = detector(rgb, 1)
            if not dets:
                return None
            shape = predictor(rgb, max(dets, key=lambda r: r.area()))
            return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

        return run

    return make


def _eyes(points: np.ndarray) -> tuple[list[int], list[int]]:
    return MESH_EYES if len(points) >= 468 else IBUG_EYES


def measure(method: Method, clips: dict, fps: float = 30.0) -> dict[str, float]:
    """Jitter (% IOD), lag (frames) per clip of ``DIRECTIONS``, speed error (%) and ms per frame of one method."""
    tracks: dict[str, np.ndarray] = {}
    seconds, n = 0.0, 0
    for kind, (_, frames) in clips.items():
        run = method()
        pts = []
        for i, f in enumerate(frames):
            t0 = time.perf_counter()
            p = run(f, 1000.0 * i / fps)
            seconds += time.perf_counter() - t0
            n += 1
            pts.append(p)
        k = next((len(p) for p in pts if p is not None), 0)
        tracks[kind] = np.array([p if p is not None else np.full((k, 2), np.nan) for p in pts], dtype=np.float64)
    ref = np.nanmean(tracks["still"], axis=0)
    left, right = _eyes(ref)
    iod = float(np.linalg.norm(ref[left].mean(0) - ref[right].mean(0)))
    row = {"jitter": 100 * jitter_std(tracks["still"]) / iod, "ms": 1000 * seconds / n}
    row["found"] = 100 * float(np.mean([np.isfinite(t).all(axis=(1, 2)).mean() for t in tracks.values()]))
    errors = []
    for kind in DIRECTIONS:
        truth = np.array([apply_affine(m, ref) for m in clips[kind][0]])
        if np.isfinite(tracks[kind][SKIP:]).all(axis=(1, 2)).sum() < 2:
            row[kind] = np.nan  # the method lost the face on (nearly) the whole clip
            continue
        row[kind] = lag_frames(tracks[kind], truth, skip=SKIP)
        errors.append(speed_error(tracks[kind], truth, skip=SKIP))
    row["speed"] = 100 * float(np.mean(errors)) if errors else np.nan
    # a sudden stop: the largest mean point error over the still half, beyond what it is when still
    truth = np.array([apply_affine(m, ref) for m in clips["stop"][0]])
    half = len(truth) // 2
    err = np.linalg.norm(tracks["stop"][half:] - truth[half:], axis=-1).mean(-1)
    row["stop"] = 100 * float(np.nanmax(err)) / iod
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--photos", nargs="+", default=[str(p) for p in PHOTOS])
    ap.add_argument("--sweep", action="store_true", help="also sweep the Kalman filter's process noise")
    ap.add_argument("--pull-sweep", action="store_true", help="also sweep the tracker's landmark_pull")
    ap.add_argument("--only-sweep", action="store_true", help="the sweeps asked for and the default only")
    ap.add_argument("--no-peers", action="store_true", help="facealign only")
    ap.add_argument("--flip", choices=list(FLIP_CHOICES), default=None,
                    help="the Aligner's flip test (default: the model's, the turned faces only for registered models)")
    args = ap.parse_args()
    aligner = Aligner(args.model, threads=1, flip_test=None if args.flip is None else FLIP_CHOICES[args.flip])
    methods: dict[str, Method | None] = {
        "facealign, detector every frame": detector_every_frame(aligner),
        "facealign, tracking, no smoothing": facealign_method(aligner, smoothing="none"),
        "facealign, tracking, crops on the landmarks alone (landmark_pull 1) + Kalman": facealign_method(
            aligner, landmark_pull=1.0),
        "facealign, tracking + One-Euro (min_cutoff 1, beta 0.5)": facealign_method(aligner, smoothing="one-euro"),
        "facealign, tracking + Kalman (default)": facealign_method(aligner),
    }
    if args.only_sweep:
        methods = {k: v for k, v in methods.items() if "Kalman (default)" in k}
        args.no_peers = True
    if args.pull_sweep:
        for pull in (0.01, 0.1, 0.3):
            methods[f"facealign, tracking + Kalman, landmark_pull {pull}"] = facealign_method(aligner, landmark_pull=pull)
    if args.sweep:
        for q in (0.003, 0.01, 0.1, 0.3):
            methods[f"facealign, tracking + Kalman, process_noise {q}"] = facealign_method(aligner, process_noise=q)
        methods["facealign, tracking + Kalman, manoeuvre inf (never widens)"] = facealign_method(aligner, manoeuvre=float("inf"))
    if not args.no_peers:
        methods["MediaPipe Face Mesh, video mode"] = mediapipe_method()
        methods["dlib HOG + 68-point predictor, every frame"] = dlib_method()
    rows: dict[str, list[dict[str, float]]] = {name: [] for name, m in methods.items() if m is not None}
    for photo in args.photos:
        clips, _ = clips_of(Path(photo), args.frames)
        for name in rows:
            rows[name].append(measure(methods[name], clips))  # type: ignore[arg-type]
            print(f"{Path(photo).name} | {name} | " + " | ".join(f"{k} {v:.3f}" for k, v in rows[name][-1].items()),
                  file=sys.stderr, flush=True)
    print(f"{len(args.photos)} photos ({', '.join(Path(p).name for p in args.photos)}), {args.frames} frames at 30 fps, "
          f"{CANVAS[0]}x{CANVAS[1]}, model {args.model}; mean over photos")
    print("| method | still jitter (% IOD) | lag, translation (frames): right / left / mean | lag, rotation: cw / ccw / mean "
          "| lag, zoom: in / out / mean | speed error (%) | error after a stop (% IOD) | face found (%) | ms / frame |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, rs in rows.items():
        m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
        lags = " | ".join(f"{m[k]:.2f} / {m[k + ' back']:.2f} / {(m[k] + m[k + ' back']) / 2:.2f}" for k in MOTIONS)
        print(f"| {name} | {m['jitter']:.3f} | {lags} | {m['speed']:.1f} | {m['stop']:.2f} | {m['found']:.0f} | {m['ms']:.1f} |")
    for name in methods:
        if methods[name] is None:
            print(f"(not run: {name}, not importable here; see benchmarks/setup_peers.sh)")


if __name__ == "__main__":
    main()
