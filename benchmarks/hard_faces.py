"""Hard faces (issue 20): facealign models and dlib on every validation protocol, one table.

Protocols (:mod:`facealign.evaluation.protocols`, the faces a training run scores every epoch, here at full
resolution): ``val5`` (600 faces, people's 5 points, eye-centre NME, failure at 10 %), ``val68`` (552 faces,
the dlib teacher's 68 points, outer-eye-corner NME), ``human68`` (the held-out 300w_human slice of
``configs/holdout_300w_human.txt``, people's 68 points, outer-eye-corner NME), ``small`` (the val5 photos
downscaled so that the aligned crop spans 80 photo pixels, ~19 px between the eyes) and ``profile`` (the
held-out CFP people of ``configs/holdout_cfp_profile.txt``, the corresponding points, NME over the face size,
failure at 5 %). RetinaFace runs once on every photo (on the small protocol: on the full photo, its output
scaled with it); the detection nearest the labels goes to every method:

* facealign models (registered names or checkpoints) aligned on its 5 points; 68-point models are scored on
  every protocol, 5-point models on the 5 points (human68: the 5 points of the 68; profile: the visible
  eye centre, nose tip and mouth corner);
* dlib's 68-point predictor on the box its HOG detector would give (``peers.hog_box_from_retinaface``).

``--paired``: every other row against the first, face by face (:func:`paired_lines`); ``--by-photo-size``: every
row again per stored photo size (:func:`photo_size_lines`).

    .venv-peers/bin/python -m benchmarks.hard_faces --model facealign_mnv2_050_68 --model runs/X/last.pt [--flip off turned all] [--paired]
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.peers import FLIP_SUFFIX, dlib_68_method, nearest_detection, pin_to_one_cpu  # noqa: E402

from facealign.data.records import FaceRecord, downscaled_record  # noqa: E402
from facealign.data.profile import cfp_to_68, cfp_to_five  # noqa: E402
from facealign.data.readers import read_annotations, read_points_list  # noqa: E402
from facealign.data.readers.cfp import read_cfp_folder  # noqa: E402
from facealign.data.sources import split_holdout  # noqa: E402
from facealign.api import FLIP_CHOICES, TURNED_YAW, turned_faces  # noqa: E402
from facealign.detector import Detection, RetinaFaceDetector  # noqa: E402
from facealign.evaluation.protocols import face_errors, paired_difference, summarise  # noqa: E402
from facealign.imageio import read_image  # noqa: E402
from facealign.landmarks import get_scheme  # noqa: E402
from facealign.types import Box  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PROTOCOLS = ("val5", "val68", "human68", "small", "profile")
#: The small-face protocol's crop span in photo pixels (as ``data.small_face_px`` of the configs).
SMALL_FACE_PX = 80
#: Input side of the crops the small-face protocol is defined on (the default model's).
CROP = 128


@dataclass
class Face:
    """One protocol face: the photo (or its pixels), RetinaFace's detection, the ground truth in the 68-point
    scheme (``gt68``, NaN where undefined; None when the protocol has none) and in the 5-point scheme
    (``gt5``), the box that normalises profiles."""

    image_path: Path
    det: Detection
    gt68: np.ndarray | None
    gt5: np.ndarray | None
    box: Box | None = None
    image: np.ndarray | None = None


def load_protocol(name: str, detector: RetinaFaceDetector, *, limit: int = 0) -> tuple[list[Face], int]:
    """The faces of one protocol and how many the detector missed."""
    sch68 = get_scheme("68")
    if name in ("val5", "small"):
        rows = [(s.image_path, None, s.points, None) for s in read_points_list(DATA / "faces/val5.txt")]
    elif name == "val68":
        rows = [(s.image_path, s.points, sch68.to_five(s.points), None) for s in read_points_list(DATA / "faces/val68.txt")]
    elif name == "human68":
        _, held = split_holdout(read_annotations(DATA / "300w_human"), DATA / "300w_human", ROOT / "configs/holdout_300w_human.txt")
        rows = [(s.image_path, s.points, sch68.to_five(s.points), None) for s in held]
    elif name == "profile":
        _, held = split_holdout(read_cfp_folder(DATA / "cfp_profile"), DATA / "cfp_profile", ROOT / "configs/holdout_cfp_profile.txt")
        rows = [(s.image_path, cfp_to_68(s.points), cfp_to_five(s.points), Box.from_points(s.points)) for s in held]
    else:
        raise ValueError(f"unknown protocol {name!r}; expected one of {PROTOCOLS}")
    rows = rows[:limit] if limit > 0 else rows
    faces, missed = [], 0
    for path, gt68, gt5, box in rows:
        rgb = read_image(path)
        det = nearest_detection(detector.detect(rgb), gt5)
        if det is None:
            missed += 1
            continue
        face = Face(Path(path), det, gt68, gt5, box)
        if name == "small":
            face = _small(face, rgb)
        faces.append(face)
    return faces, missed


def _small(face: Face, rgb: np.ndarray) -> Face:
    """The face on its photo downscaled as the small-face protocol says (:func:`downscaled_record`), the
    detection's box and points scaled with it."""
    rec = downscaled_record(FaceRecord(face.image_path, face.gt5, "5", image=rgb), face.det.points, input_size=CROP, crop_px=SMALL_FACE_PX)
    if rec.image is rgb:
        return face
    s = np.array([rec.image.shape[1] / rgb.shape[1], rec.image.shape[0] / rgb.shape[0]])
    b = face.det.box
    box = Box((b.x1 + 0.5) * s[0] - 0.5, (b.y1 + 0.5) * s[1] - 0.5, (b.x2 + 0.5) * s[0] - 0.5, (b.y2 + 0.5) * s[1] - 0.5)
    det = Detection(box=box, points=rec.align, score=face.det.score)
    return Face(face.image_path, det, None, rec.points, image=rec.image)


Method = Callable[[np.ndarray, Detection], np.ndarray]


def facealign_method(
    model: str, *, flip_test: bool | str, second_pass: bool = False, label_offset: Sequence[float] | None = None,
    turned_yaw: float | None = None,
) -> tuple[Method, int]:
    """A facealign model aligned on the detector's 5 points; with ``second_pass``, aligned again on the 5 points
    of its own first prediction (the scheme's 5-point groups) and run once more (for profiles, where the
    detector's 5 points are poor); ``label_offset``, ``turned_yaw``: the Aligner's (people's labelling convention; the
    yaw beyond which ``flip_test="turned"`` mirrors a face)."""
    from facealign.api import TURNED_YAW, Aligner

    aligner = Aligner(model, detector=None, backend="onnx", threads=1, flip_test=flip_test, label_offset=label_offset,
                      turned_yaw=TURNED_YAW if turned_yaw is None else turned_yaw)
    scheme = aligner.scheme

    def run(rgb: np.ndarray, det: Detection) -> np.ndarray:
        pts = aligner(rgb, color="rgb", points5=[det.points])[0].points.astype(np.float64)
        if second_pass:
            five = scheme.to_five(pts - aligner.label_offset)
            pts = aligner(rgb, color="rgb", points5=[five])[0].points.astype(np.float64)
        return pts

    return run, scheme.num_points


def dlib_method() -> tuple[Method, int]:
    """dlib's 68 points on the box its HOG detector would give (:func:`benchmarks.peers.dlib_68_method`)."""
    return dlib_68_method(hog_box=True), 68


def score(faces: Sequence[Face], preds: Sequence[np.ndarray], points: int, protocol: str) -> Scored | None:
    """The protocol's scores of one method's predictions, or None where the method has no such points."""
    profile = protocol == "profile"
    if points == 68 and faces[0].gt68 is not None:
        recs = [FaceRecord(f.image_path, f.gt68, "68", five=f.gt5) for f in faces]
        kind, sch = ("profile" if profile else "dense"), "68"
    elif faces[0].gt5 is not None:
        recs = [FaceRecord(f.image_path, f.gt5, "5") for f in faces]
        preds = [get_scheme("68").to_five(p) if points == 68 else p for p in preds]
        kind, sch = ("profile" if profile else "five"), "5"
    else:
        return None
    boxes = [f.box for f in faces] if profile else None
    errors, threshold = face_errors(kind, np.stack(preds), recs, sch, boxes=boxes)
    return Scored(summarise(errors, threshold), errors, threshold)


@dataclass
class Scored:
    """One method on one protocol: its ``scores`` (``nme`` / ``fr`` / ``auc`` %), each face's NME (a fraction)
    and the protocol's failure threshold."""

    scores: dict[str, float]
    errors: np.ndarray
    threshold: float


def photo_size(path: Path) -> str:
    """``"W x H"`` of the stored photo (the small-face protocol's faces are grouped by the photo they were shrunk from)."""
    h, w = read_image(path).shape[:2]
    return f"{w} x {h}"


def photo_size_lines(results: dict[str, dict[str, Scored | None]], sizes: dict[str, list[str]]) -> list[str]:
    """Each method's NME / FR % on each protocol again, per stored photo size (``sizes``: each face's, per
    protocol): where a protocol mixes photos of very different resolution (val5: CUHK's 160 x 216 and 400 x 400),
    how much of its error each part holds."""
    lines = ["By stored photo size:", "", "| method | protocol | photo | faces | NME / FR % |", "| --- | --- | --- | ---: | ---: |"]
    for name, row in results.items():
        for p, per_face in sizes.items():
            r = row[p]
            if r is None:
                continue
            size = np.asarray(per_face)
            for s in sorted(set(per_face)):
                part = summarise(r.errors[size == s], r.threshold)
                lines.append(f"| {name} | {p} | {s} | {int((size == s).sum())} | {part['nme']:.2f} / {part['fr']:.1f} |")
    return lines


def paired_lines(first: str, results: dict[str, dict[str, Scored | None]], protocols: Sequence[str]) -> list[str]:
    """Every other method against ``first``, face by face on each protocol both are scored on: the mean NME
    difference (NME points) with its bootstrap 95 % interval (:func:`paired_difference`), the faces it has
    lower, and the failures only ``first`` has / only it has (the faces that make a failure-rate difference)."""
    lines = [f"Paired, face by face, against {first} (NME points, bootstrap 95 % CI; failures only in {first} / only in the row):", "",
             "| method | protocol | NME difference [95 % CI] | lower on | fails only first / only row |", "| --- | --- | ---: | ---: | ---: |"]
    for name, row in results.items():
        if name == first:
            continue
        for p in protocols:
            a, b = row[p], results[first][p]
            if a is None or b is None:
                continue
            d = paired_difference(100 * a.errors, 100 * b.errors)
            fa, fb = a.errors > a.threshold, b.errors > b.threshold
            lines.append(f"| {name} | {p} | {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] | {d['better']} of {len(a.errors)} | "
                         f"{int((fb & ~fa).sum())} / {int((fa & ~fb).sum())} |")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="registered name or checkpoint .pt (repeatable)")
    ap.add_argument("--flip", nargs="+", choices=list(FLIP_CHOICES), default=None,
                    help="a row per model and flip-test mode (the Aligner's flip_test: off, all faces, turned faces only); default off")
    ap.add_argument("--flip-test", action="store_true", help="the same as --flip all")
    ap.add_argument("--turned-yaw", nargs="+", type=float, default=None, metavar="DEG",
                    help="with --flip turned: a row per yaw beyond which a face is mirrored (default: the Aligner's, 40)")
    ap.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    ap.add_argument("--limit", type=int, default=0, help="only the first N faces of each protocol")
    ap.add_argument("--no-dlib", action="store_true")
    ap.add_argument("--second-pass", action="store_true", help="add a row per model re-aligned on its own first prediction")
    ap.add_argument("--paired", action="store_true", help="every other row against the first, face by face (paired_lines)")
    ap.add_argument("--by-photo-size", action="store_true", help="each row's scores again per stored photo size (photo_size_lines)")
    ap.add_argument("--label-offset", nargs=2, type=float, metavar=("DX", "DY"),
                    help="add a row per model with the Aligner's label_offset (people's convention, benchmarks/label_convention.py)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    pin_to_one_cpu()
    methods: list[tuple[str, Method, int]] = []
    flips = args.flip or (["all"] if args.flip_test else ["off"])
    for m in args.model or ["facealign_mnv2_050_68"]:
        for flip, yaw in [(f, y) for f in flips for y in ((args.turned_yaw or [None]) if f == "turned" else [None])]:
            for second in (False, True) if args.second_pass else (False,):
                for offset in (None, args.label_offset) if args.label_offset else (None,):
                    mode, label = FLIP_CHOICES[flip], FLIP_SUFFIX[flip]
                    run, k = facealign_method(m, flip_test=mode, second_pass=second, label_offset=offset, turned_yaw=yaw)
                    name = m + label + (f" > {yaw:g} deg" if yaw is not None else "") + (" +second pass" if second else "")
                    methods.append((name + (f" +offset ({offset[0]:g}, {offset[1]:g}) px" if offset else ""), run, k))
    if not args.no_dlib:
        try:
            dlib_run, k = dlib_method()
            methods.append(("dlib 68 (HOG-convention box)", dlib_run, k))
            if args.label_offset:  # the same convention added to dlib's points, for a fair row beside ours
                off = np.asarray(args.label_offset, dtype=np.float64)
                methods.append((f"dlib 68 +offset ({off[0]:g}, {off[1]:g}) px", lambda rgb, det: dlib_run(rgb, det) + off, k))
        except ImportError as err:
            print(f"dlib left out: {err} (use .venv-peers/bin/python)", file=sys.stderr)
    detector = RetinaFaceDetector(threads=1)
    results: dict[str, dict[str, Scored | None]] = {name: {} for name, _, _ in methods}
    counts = {}
    past: dict[str, list[str]] = defaultdict(list)
    sizes: dict[str, list[str]] = {}
    for protocol in args.protocols:
        faces, missed = load_protocol(protocol, detector, limit=args.limit)
        counts[protocol] = f"{len(faces)} (detector missed {missed})"
        if "turned" in flips:  # how many faces the turned rows send through the flip-test graph
            five = np.stack([f.det.points for f in faces])
            for yaw in args.turned_yaw or [TURNED_YAW]:
                past[f"{yaw:g} deg"].append(f"{protocol} {int(turned_faces(five, yaw).sum())} of {len(faces)}")
        if args.by_photo_size:
            sizes[protocol] = [photo_size(f.image_path) for f in faces]
        for name, run, k in methods:
            preds = [run(f.image if f.image is not None else read_image(f.image_path), f.det) for f in faces]
            results[name][protocol] = score(faces, preds, k, protocol)
        print(f"  {protocol}: {counts[protocol]} faces done", file=sys.stderr, flush=True)
    head = ["method"] + [f"{p} NME / FR %" for p in args.protocols]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(args.protocols)]
    for name, _, _ in methods:
        cells = [name]
        for p in args.protocols:
            r = results[name][p]
            cells.append("-" if r is None else f"{r.scores['nme']:.2f} / {r.scores['fr']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Faces: " + "; ".join(f"{p} {c}" for p, c in counts.items()) + ".",
              "NME: val5 / small eye-centre distance, val68 / human68 outer eye corners (5-point models: eye centres of "
              "the 5 points), profile face size sqrt(w h) of the CFP points' box; FR: NME > 10 % (profile: > 5 %)."]
    if past:
        lines.append("Past the threshold (flip test on turned faces): " + "; ".join(f"{y}: {', '.join(v)}" for y, v in past.items()) + ".")
    if args.paired:
        lines += [""] + paired_lines(methods[0][0], results, args.protocols)
    if args.by_photo_size:
        lines += [""] + photo_size_lines(results, sizes)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
