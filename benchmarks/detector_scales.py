"""Cost of the detector's scale pyramid: milliseconds per photo by photo size, with the finer levels
(``max_scale=1``, the default) and without them (``max_scale=0``: the whole photo at 640 px, as before),
and the faces found in a real group photo tiled up to each size.

The photo is ``samples/multiface/unlabelled/selfie-many-people.jpg`` resized (INTER_AREA / INTER_CUBIC)
to each size, so the image content is the same everywhere; one RetinaFace thread.

    .venv/bin/python benchmarks/detector_scales.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image

PHOTO = Path(__file__).resolve().parents[1] / "../shared/data/samples/multiface/unlabelled/selfie-many-people.jpg"
SIZES = ((640, 480), (960, 720), (1920, 1080), (4000, 3000), (8000, 6000))


def ms_per_photo(detector: RetinaFaceDetector, rgb: np.ndarray, repeats: int) -> tuple[float, int]:
    """Median milliseconds of ``detector.detect(rgb)`` over ``repeats`` runs (after one warm-up) and the
    number of faces found."""
    faces = len(detector.detect(rgb))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        detector.detect(rgb)
        times.append(1000 * (time.perf_counter() - t0))
    return float(np.median(times)), faces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    photo = read_image(PHOTO)
    pyramid, single = RetinaFaceDetector(threads=1), RetinaFaceDetector(threads=1, max_scale=0.0)
    print(f"photo {PHOTO.name} ({photo.shape[1]} x {photo.shape[0]}) resized to each size; median of {args.repeats}")
    print(f"{'size':>11} {'levels':>14} {'ms pyramid':>10} {'faces':>5} {'ms single':>9} {'faces':>5}")
    for w, h in SIZES:
        interp = cv2.INTER_AREA if w < photo.shape[1] else cv2.INTER_CUBIC
        rgb = cv2.resize(photo, (w, h), interpolation=interp)
        levels = ",".join(f"{s:.2f}" for s in pyramid.pyramid_scales(h, w)) or "-"
        ms_p, n_p = ms_per_photo(pyramid, rgb, args.repeats if w * h < 5e6 else 1)
        ms_s, n_s = ms_per_photo(single, rgb, args.repeats)
        print(f"{w:>5} x {h:<5} {levels:>14} {ms_p:>10.0f} {n_p:>5} {ms_s:>9.0f} {n_s:>5}")


if __name__ == "__main__":
    main()
