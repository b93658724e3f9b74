"""Where people's labels sit against a mirror-symmetric point, per photo folder, on training faces only (issue 20).

A model trained with mirrored crops (and run with the flip test) predicts a flip-symmetric point: over a
population of faces that looks the same mirrored, its mean horizontal error is zero unless the labels carry
a left-right convention of their own. This script measures that convention two ways, each on training
faces only (the validation lists and held-out slices are never read):

* **teacher** (no model): on every ``faces/`` photo with both dlib's 68 points (``train68.txt``) and people's
  5 points (``train5.txt``), people's points minus the teacher's 5-point groups (eye contours' means, nose
  tip, mouth corners). The eye centres and the nose tip are defined differently by the two schemes (people
  mark the pupil, the teacher's nose tip is lower), so only ``x`` means the same thing on every point:
  dlib's predictor was itself trained with mirrored faces, so it is a mirror-symmetric reference.
* **model**: on the training faces of each source of people's labels, the label minus the flip-tested
  prediction of a facealign model (aligned on RetinaFace's 5 points, as at inference), every labelled point.
* **pupil** (no model): on the 400 x 400 training photos of ``faces/`` with at least ``PUPIL_MIN_IOD`` px
  between the eyes, people's eye centres minus the darkness-weighted centroid of the pupil around them
  (:func:`dark_centroid`, mean shift from the label). It says which of the two is on the pixels: in ``x`` a
  dark blob has no left-right convention; in ``y`` lids and lashes pull the centroid up, so ``dy`` is not one.

Each row: the mean and median ``dx`` / ``dy`` in photo pixels, with a bootstrap 95 % interval of the mean
``dx`` (over faces). ``[data.label_offsets]`` of ``configs/*_people.toml`` takes its values from these rows.

    .venv/bin/python -m benchmarks.label_convention [--model facealign_mnv2_050_68] [--limit 600] [--no-model]
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from facealign.data.readers import read_annotations, read_points_list
from facealign.data.sources import holdout_key, split_holdout
from facealign.landmarks import get_scheme
from facealign.types import Sample

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
#: Bootstrap resamples of the mean.
BOOTSTRAP = 1000
#: The pupil rows: photos with at least this many pixels between people's eye centres, a disc of this
#: fraction of that distance, mean-shift steps.
PUPIL_MIN_IOD = 70.0
PUPIL_RADIUS = 0.12
PUPIL_STEPS = 5


def folder_of(path: str | Path, root: Path = DATA) -> str:
    """The photo folder a row is grouped by: its path relative to the shared data folder, less the file name
    and, for ``300w_human``, its sub-folder (``faces/images/net_7876``, ``300w_human``)."""
    rel = holdout_key(path, root).split("/")
    return rel[0] if rel[0] != "faces" else "/".join(rel[:-1])


def offset_stats(diffs: Sequence[np.ndarray], *, seed: int = 0) -> dict[str, float]:
    """The convention of a group of faces from each face's ``(K, 2)`` label-minus-reference differences (NaN
    rows ignored): ``dx`` / ``dy`` the medians over all finite points, ``mx`` / ``my`` the means, ``lo`` / ``hi``
    a bootstrap 95 % interval of the mean ``dx`` resampling whole faces, ``faces`` the count. Both are given
    because integer labels (CUHK's people, dlib's points) make the median move in whole pixels."""
    faces = [np.asarray(d, dtype=np.float64)[np.isfinite(d).all(axis=1)] for d in diffs]
    faces = [f for f in faces if len(f)]
    if not faces:
        raise ValueError("median_offset: no face with a finite difference")
    allp = np.concatenate(faces)
    rng = np.random.default_rng(seed)
    sums = np.array([f[:, 0].sum() for f in faces])
    counts = np.array([len(f) for f in faces])
    draws = rng.integers(0, len(faces), (BOOTSTRAP, len(faces)))
    lo, hi = np.percentile(sums[draws].sum(axis=1) / counts[draws].sum(axis=1), [2.5, 97.5])
    return {
        "dx": float(np.median(allp[:, 0])), "dy": float(np.median(allp[:, 1])), "mx": float(allp[:, 0].mean()),
        "my": float(allp[:, 1].mean()), "lo": float(lo), "hi": float(hi), "faces": len(faces),
    }


def teacher_differences(train5: Path, train68: Path) -> dict[str, list[np.ndarray]]:
    """Per photo folder, people's 5 points minus the teacher's 5-point groups on the photos both lists hold."""
    people = {str(s.image_path): s.points for s in read_points_list(train5)}
    to_five = get_scheme("68").to_five
    out: dict[str, list[np.ndarray]] = {}
    for s in read_points_list(train68):
        five = people.get(str(s.image_path))
        if five is not None:
            out.setdefault(folder_of(s.image_path), []).append(five - to_five(s.points))
    return out


def dark_centroid(gray: np.ndarray, start: np.ndarray, radius: float, steps: int = PUPIL_STEPS) -> np.ndarray | None:
    """The darkness-weighted centroid of the disc of ``radius`` px, moved there ``steps`` times from ``start``
    (mean shift): weights ``max(0, q - v) ** 2`` for grey values ``v`` under the disc's lower quartile ``q``.
    None when the disc leaves the image or holds nothing darker than its quartile."""
    c = np.asarray(start, dtype=np.float64)
    h, w = gray.shape
    for _ in range(steps):
        x0, y0 = int(np.floor(c[0] - radius)), int(np.floor(c[1] - radius))
        x1, y1 = int(np.ceil(c[0] + radius)) + 1, int(np.ceil(c[1] + radius)) + 1
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disc = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= radius**2
        win = gray[y0:y1, x0:x1].astype(np.float64)
        wt = np.clip(np.percentile(win[disc], 25) - win, 0, None) ** 2 * disc
        if wt.sum() <= 0:
            return None
        c = np.array([(wt * xx).sum(), (wt * yy).sum()]) / wt.sum()
    return c


def pupil_differences(train5: Path, limit: int) -> dict[str, list[np.ndarray]]:
    """Per photo folder, people's two eye centres minus :func:`dark_centroid` around them, on the 400 x 400
    training photos with at least ``PUPIL_MIN_IOD`` px between the eyes (the first ``limit``; 0: all)."""
    import cv2

    out: dict[str, list[np.ndarray]] = {}
    used = 0
    for s in read_points_list(train5):
        iod = float(np.linalg.norm(s.points[0] - s.points[1]))
        if iod < PUPIL_MIN_IOD:
            continue
        gray = cv2.imread(str(s.image_path), cv2.IMREAD_GRAYSCALE)
        if gray is None or gray.shape != (400, 400):
            continue
        cs = [dark_centroid(gray, s.points[e], PUPIL_RADIUS * iod) for e in (0, 1)]
        out.setdefault(folder_of(s.image_path), []).append(
            np.stack([s.points[e] - c if c is not None else np.full(2, np.nan) for e, c in enumerate(cs)])
        )
        used += 1
        if limit and used >= limit:
            break
    return out


def people_sources(limit: int) -> dict[str, list[Sample]]:
    """The training faces of each source of people's labels, the first ``limit`` of each folder (0: all)."""
    rows: dict[str, list[Sample]] = {}
    for s in read_points_list(DATA / "faces/train5.txt"):
        rows.setdefault(folder_of(s.image_path), []).append(s)
    train, _ = split_holdout(read_annotations(DATA / "300w_human"), DATA / "300w_human", ROOT / "configs/holdout_300w_human.txt")
    rows["300w_human"] = train
    return {k: v[:limit] if limit > 0 else v for k, v in rows.items()}


def model_differences(model: str, sources: dict[str, list[Sample]]) -> dict[str, list[np.ndarray]]:
    """Per source, label minus the flip-tested prediction of ``model`` on RetinaFace's nearest detection, in
    the label's scheme (68-point labels against a 5-point model: their 5 points)."""
    from benchmarks.hard_faces import facealign_method
    from benchmarks.peers import nearest_detection
    from facealign.detector import RetinaFaceDetector
    from facealign.imageio import read_image

    detector = RetinaFaceDetector(threads=1)
    run, k = facealign_method(model, flip_test=True)
    sch68 = get_scheme("68")
    out: dict[str, list[np.ndarray]] = {}
    for name, samples in sources.items():
        for s in samples:
            rgb = read_image(s.image_path)
            gt5 = sch68.to_five(s.points) if len(s.points) == 68 else s.points
            det = nearest_detection(detector.detect(rgb), gt5)
            if det is None:
                continue
            pred = run(rgb, det)
            if len(s.points) == 68 and k == 68:
                out.setdefault(name, []).append(s.points - pred)
            else:
                out.setdefault(name, []).append(gt5 - (sch68.to_five(pred) if k == 68 else pred))
    return out


def table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    lines = [
        "| reference | photos | faces | mean dx px [95 % CI] | median dx px | mean dy px | median dy px |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for ref, folder, r in rows:
        lines.append(
            f"| {ref} | {folder} | {r['faces']} | {r['mx']:+.2f} [{r['lo']:+.2f}, {r['hi']:+.2f}] | {r['dx']:+.2f} | {r['my']:+.2f} | {r['dy']:+.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="facealign_mnv2_050_68", help="flip-tested reference model (name or checkpoint)")
    ap.add_argument("--limit", type=int, default=600, help="training faces per folder for the model and pupil rows (0: all)")
    ap.add_argument("--no-model", action="store_true", help="only the teacher and pupil rows (no model, no detector)")
    args = ap.parse_args(argv)
    rows = [("dlib teacher (train68)", f, offset_stats(d)) for f, d in sorted(teacher_differences(DATA / "faces/train5.txt", DATA / "faces/train68.txt").items())]
    rows += [("dark pupil centroid (eyes only)", f, offset_stats(d)) for f, d in sorted(pupil_differences(DATA / "faces/train5.txt", args.limit).items())]
    if not args.no_model:
        diffs = model_differences(args.model, people_sources(args.limit))
        rows += [(f"{args.model} +flip", f, offset_stats(d)) for f, d in sorted(diffs.items())]
    print("Label minus reference, training faces only (photo pixels):\n")
    print(table(rows))


if __name__ == "__main__":
    main()
