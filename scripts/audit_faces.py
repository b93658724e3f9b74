"""Audit the human 5-point labels of faces/{train5,val5}.txt against RetinaFace, once.

Writes
  * runs/audit/retinaface5.json: {image path (relative to faces/): [[x, y] x 5] or null}, the
    detector's sub-pixel 5 points of the main face (the face nearest the labels), usable as
    ``align_points`` in a training config to align crops exactly as at inference;
  * configs/excluded_faces.txt: faces whose labels disagree with the detected face by more than
    MAX_LABEL_ERROR inter-ocular distances (labels in another frame: e.g. all 216x160 net_7876
    photos carry labels whose y is scaled and shifted), one `PATH error` a line.

    .venv/bin/python scripts/audit_faces.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facealign.detector import RetinaFaceDetector
from facealign.atomic import atomic_write_bytes
from facealign.imageio import read_image

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "../shared/data/faces"
#: Mean label-to-detector distance, in detector inter-ocular distances, above which a label is
#: taken to be in another frame (detector error alone is ~0.07 on these faces).
MAX_LABEL_ERROR = 0.5


def main() -> None:
    det = RetinaFaceDetector(threads=1)
    table: dict[str, list | None] = {}
    excluded = []
    for name in ("train5.txt", "val5.txt"):
        for line in (FACES / name).read_text().splitlines():
            parts = line.split()
            path, label = parts[0], np.asarray(parts[1:], dtype=float).reshape(5, 2)
            faces = det.detect(read_image(FACES / path))
            if not faces:
                table[path] = None
                continue
            dists = [np.linalg.norm(f.points - label, axis=1).mean() for f in faces]
            best = faces[int(np.argmin(dists))]
            table[path] = np.round(best.points, 3).tolist()
            iod = float(np.linalg.norm(best.points[1] - best.points[0]))
            err = float(min(dists)) / max(iod, 1e-6)
            if err > MAX_LABEL_ERROR:
                excluded.append(f"{path} {err:.3f}")
    atomic_write_bytes(ROOT / "runs/audit/retinaface5.json", json.dumps(table).encode())
    header = (
        "# faces/ rows whose human 5-point labels disagree with RetinaFace's face by more than "
        f"{MAX_LABEL_ERROR} inter-ocular distances\n# (written by scripts/audit_faces.py): PATH mean-error-in-IOD\n"
    )
    atomic_write_bytes(ROOT / "configs/excluded_faces.txt", (header + "\n".join(excluded) + "\n").encode())
    found = sum(v is not None for v in table.values())
    print(f"{len(table)} faces, detector found {found}, excluded {len(excluded)}")


if __name__ == "__main__":
    main()
