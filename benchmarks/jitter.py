"""Landmark jitter on a still clip: mean frame-to-frame motion of the points (pixels and % of the
inter-ocular distance), with and without tracking and One-Euro smoothing.

The clip is one photo repeated with fresh sensor-like noise per frame (Gaussian, sigma 4 grey
levels) and JPEG re-encoding at quality 85, so any motion of the points is jitter.

    .venv/bin/python benchmarks/jitter.py [--model NAME_OR_CHECKPOINT] [--frames 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from facealign.api import Aligner
from facealign.imageio import read_image
from facealign.models.zoo import DEFAULT_MODEL
from facealign.smoothing import jitter
from facealign.video import FaceTracker

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "../shared/data/samples/300w/indoor_029.png"


def noisy_frames(rgb: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        f = np.clip(rgb.astype(np.float32) + rng.normal(0, 4.0, rgb.shape), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 85])
        out.append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--photo", default=str(PHOTO))
    args = ap.parse_args()
    frames = noisy_frames(read_image(args.photo), args.frames)
    aligner = Aligner(args.model)
    rows = []
    for label, track, smooth in [
        ("detector every frame", False, False),
        ("tracking", True, False),
        ("tracking + One-Euro", True, True),
    ]:
        pts = []
        tracker = FaceTracker(aligner, smooth=smooth, redetect_every=0)
        for i, f in enumerate(frames):
            faces = tracker(f, i / 30.0) if track else aligner(f, color="rgb")
            pts.append(faces[0].points)
        pts = np.array(pts)
        iod = float(np.linalg.norm(pts[:, 36:42].mean(1) - pts[:, 42:48].mean(1), axis=-1).mean()) if pts.shape[1] == 68 else float(np.linalg.norm(pts[:, 0] - pts[:, 1], axis=-1).mean())
        j = jitter(pts)
        rows.append((label, j, 100 * j / iod, tracker.detector_calls if track else len(frames)))
    print(f"still clip: {Path(args.photo).name}, {len(frames)} frames, model {args.model}")
    print("| mode | jitter (px) | jitter (% IOD) | detector calls |")
    print("| --- | ---: | ---: | ---: |")
    for label, j, jp, calls in rows:
        print(f"| {label} | {j:.3f} | {jp:.3f} | {calls} |")


if __name__ == "__main__":
    main()
