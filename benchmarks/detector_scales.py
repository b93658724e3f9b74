"""Cost and recall of the detector's scales.

Table 1: milliseconds per photo by photo size, with the finer levels and the small-face pass (the
defaults) and without them (``max_scale=0, small_faces=False``: the whole photo at 640 px, as before),
and the faces found. The photo is ``samples/multiface/unlabelled/selfie-many-people.jpg`` resized
(INTER_AREA / INTER_CUBIC) to each size, so the image content is the same everywhere.

Table 2: recall of the hand-drawn face boxes of the first N photos of ``groups/`` (mostly 612 x 408;
a box counts as found when a detection's centre lies in it) by box width, and ms per photo, for the
single pass, the default (small-face pass where the first pass finds a face under 48 px) and
``max_scale=2`` (every photo at 2x as well). One RetinaFace thread throughout.

    .venv/bin/python -m benchmarks.detector_scales [--repeats 3] [--groups 200]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from facealign.bench import median_ms
from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image

DATA = Path(__file__).resolve().parents[1] / "../shared/data"
PHOTO = DATA / "samples/multiface/unlabelled/selfie-many-people.jpg"
WIDTHS = ((0, 24), (24, 32), (32, 48), (48, 10**9))
SIZES = ((640, 480), (960, 720), (1920, 1080), (4000, 3000), (8000, 6000))


def ms_per_photo(detector: RetinaFaceDetector, rgb: np.ndarray, repeats: int) -> tuple[float, int]:
    """Median milliseconds of ``detector.detect(rgb)`` over ``repeats`` runs (after one warm-up) and the
    number of faces found."""
    faces = len(detector.detect(rgb))  # the warm-up
    return median_ms(lambda: detector.detect(rgb), repeats=repeats, warmup=0), faces


def group_recall(detector: RetinaFaceDetector, n: int) -> tuple[dict[tuple[int, int], tuple[int, int]], float, int]:
    """Boxes found / boxes per width bin, ms per photo, and detections that match no box, on ``groups/``."""
    boxes: dict[str, list[list[float]]] = defaultdict(list)
    with open(DATA / "groups/boxes.csv") as fh:
        for row in csv.DictReader(fh):
            boxes[row["image"]].append([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
    counts = {w: [0, 0] for w in WIDTHS}
    seconds, unmatched = 0.0, 0
    for name in sorted(boxes)[:n]:
        rgb = read_image(DATA / "groups" / name)
        t0 = time.perf_counter()
        dets = detector.detect(rgb)
        seconds += time.perf_counter() - t0
        centres = np.array([[(d.box.x1 + d.box.x2) / 2, (d.box.y1 + d.box.y2) / 2] for d in dets]).reshape(-1, 2)
        used = np.zeros(len(centres), dtype=bool)
        for x1, y1, x2, y2 in boxes[name]:
            hit = (centres[:, 0] >= x1) & (centres[:, 0] <= x2) & (centres[:, 1] >= y1) & (centres[:, 1] <= y2)
            used |= hit
            counts[next(w for w in WIDTHS if w[0] <= x2 - x1 < w[1])][0] += bool(hit.any())
            counts[next(w for w in WIDTHS if w[0] <= x2 - x1 < w[1])][1] += 1
        unmatched += int((~used).sum())
    return {w: (c[0], c[1]) for w, c in counts.items()}, 1000 * seconds / n, unmatched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--groups", type=int, default=200, help="group photos for the recall table (0: none)")
    args = ap.parse_args()
    photo = read_image(PHOTO)
    pyramid, single = RetinaFaceDetector(threads=1), RetinaFaceDetector(threads=1, max_scale=0.0, small_faces=False)
    print(f"photo {PHOTO.name} ({photo.shape[1]} x {photo.shape[0]}) resized to each size; median of {args.repeats}")
    print(f"{'size':>11} {'levels':>14} {'ms pyramid':>10} {'faces':>5} {'ms single':>9} {'faces':>5}")
    for w, h in SIZES:
        interp = cv2.INTER_AREA if w < photo.shape[1] else cv2.INTER_CUBIC
        rgb = cv2.resize(photo, (w, h), interpolation=interp)
        levels = ",".join(f"{s:.2f}" for s in pyramid.pyramid_scales(h, w)) or "-"
        ms_p, n_p = ms_per_photo(pyramid, rgb, args.repeats if w * h < 5e6 else 1)
        ms_s, n_s = ms_per_photo(single, rgb, args.repeats)
        print(f"{w:>5} x {h:<5} {levels:>14} {ms_p:>10.0f} {n_p:>5} {ms_s:>9.0f} {n_s:>5}")
    if args.groups:
        print(f"\nrecall of the face boxes of {args.groups} groups/ photos, by box width (px)")
        print(f"{'detector':<24} " + " ".join(f"{f'{a}-{b}' if b < 10**9 else f'>={a}':>14}" for a, b in WIDTHS)
              + f" {'all':>14} {'ms':>5} {'unmatched':>9}")
        variants = {
            "single pass": single,
            "default": pyramid,
            "max_scale=2": RetinaFaceDetector(threads=1, max_scale=2.0, small_faces=False),
        }
        for label, det in variants.items():
            counts, ms, unmatched = group_recall(det, args.groups)
            found, total = (sum(c[i] for c in counts.values()) for i in (0, 1))
            cells = " ".join(f"{f'{k}/{n} {k / max(n, 1):.2f}':>14}" for k, n in counts.values())
            print(f"{label:<24} {cells} {f'{found}/{total} {found / total:.2f}':>14} {ms:>5.0f} {unmatched:>9}")


if __name__ == "__main__":
    main()
