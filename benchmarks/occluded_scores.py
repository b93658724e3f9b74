"""What the per-point ``scores`` do when part of the face is hidden.

On every face RetinaFace finds in the 300-W sample photos, the lower face (from the nose base, point
33, down past the box) is covered with mid-grey; the crop is aligned on the detector's 5 points of the
uncovered photo, so both runs see the same crop geometry. Printed: the mean score of the covered
points with and without the cover, and of the points left visible.

    .venv/bin/python -m benchmarks.occluded_scores [--model facealign_mnv2_050_68]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facealign import Aligner
from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples" / "300w"
GREY = 128
NOSE_BASE = 33
MARGIN_PX = 20


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="facealign_mnv2_050_68")
    args = ap.parse_args(argv)
    aligner, detector = Aligner(args.model, detector=None), RetinaFaceDetector()
    covered, uncovered, visible = [], [], []
    for path in sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png", ".ppm")):
        rgb = read_image(path)
        for det in detector.detect(rgb):
            plain = aligner(rgb, color="rgb", points5=[det.points])[0]
            top = plain.points[NOSE_BASE, 1]
            hidden = plain.points[:, 1] > top
            occ = rgb.copy()
            b = det.box
            occ[int(top): int(b.y2) + MARGIN_PX, max(0, int(b.x1) - MARGIN_PX // 4): int(b.x2) + MARGIN_PX // 4] = GREY
            face = aligner(occ, color="rgb", points5=[det.points])[0]
            covered.append(face.scores[hidden].mean())
            uncovered.append(plain.scores[hidden].mean())
            visible.append(face.scores[~hidden].mean())
    print(f"{args.model}: {len(covered)} faces of {SAMPLES}")
    print("| points | mean score |")
    print("| --- | ---: |")
    print(f"| below the nose base, uncovered | {np.mean(uncovered):.3f} |")
    print(f"| below the nose base, covered with grey | {np.mean(covered):.3f} |")
    print(f"| the others, with the lower face covered | {np.mean(visible):.3f} |")


if __name__ == "__main__":
    main()
