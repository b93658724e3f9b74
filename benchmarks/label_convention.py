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
from facealign.data.sources import split_holdout
from facealign.landmarks import get_scheme
from facealign.types import Sample

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
#: Bootstrap resamples of the median.
BOOTSTRAP = 1000


def folder_of(path: str | Path, root: Path = DATA) -> str:
    """The photo folder a row is grouped by: its path relative to the shared data folder, less the file name
    and, for ``300w_human``, its sub-folder (``faces/images/net_7876``, ``300w_human``)."""
    rel = Path(os.path.relpath(Path(path).resolve(), root.resolve())).parts
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
    ap.add_argument("--limit", type=int, default=600, help="training faces per folder for the model rows (0: all)")
    ap.add_argument("--no-model", action="store_true", help="only the teacher rows (no model, no detector)")
    args = ap.parse_args(argv)
    rows = [("dlib teacher (train68)", f, offset_stats(d)) for f, d in sorted(teacher_differences(DATA / "faces/train5.txt", DATA / "faces/train68.txt").items())]
    if not args.no_model:
        diffs = model_differences(args.model, people_sources(args.limit))
        rows += [(f"{args.model} +flip", f, offset_stats(d)) for f, d in sorted(diffs.items())]
    print("Label minus reference, training faces only (photo pixels):\n")
    print(table(rows))


if __name__ == "__main__":
    main()
