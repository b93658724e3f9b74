"""Where RetinaFace's 5 points sit inside its own box (fractions of box width / height).

Prints the mean and spread over the faces of faces/val5.txt; the mean is facealign.api.FIVE_IN_BOX,
used to place a first crop when a user passes boxes only.

    .venv/bin/python -m benchmarks.box_template [--data ../shared/data/faces/val5.txt]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/faces/val5.txt"))
    args = ap.parse_args()
    data = Path(args.data)
    det = RetinaFaceDetector(threads=2)
    rel = []
    for line in data.read_text().splitlines():
        path = data.parent / line.split()[0]
        faces = det.detect(read_image(path))
        if not faces:
            continue
        d = faces[0]
        b = d.box
        rel.append((np.asarray(d.points) - [b.x1, b.y1]) / [b.width, b.height])
    rel = np.array(rel)
    print(f"faces: {len(rel)}")
    print("point        mean_x  mean_y   std_x   std_y")
    for name, m, s in zip(["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"], rel.mean(0), rel.std(0)):
        print(f"{name:<11} {m[0]:7.4f} {m[1]:7.4f} {s[0]:7.4f} {s[1]:7.4f}")


if __name__ == "__main__":
    main()
