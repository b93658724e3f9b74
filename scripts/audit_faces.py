"""Run RetinaFace once on every labelled training / validation photo and check the labels against it.

Writes ``runs/audit/retinaface5.json``: {image path relative to faces/ (``../300w_human/...`` and
``../cfp_profile/...`` for the other sets): [[x, y] x 5] or null}, the detector's sub-pixel 5 points of the
face nearest the labels, usable as ``align_points`` in a training config to align crops exactly as at
inference. Sets (``--sets``, entries of sets not run are kept from an existing file):

* ``faces``: train5 / val5, nearest by the human 5 points; prints how many labels disagree with the
  detected face by more than MAX_LABEL_ERROR inter-ocular distances (labels in another frame). On
  2026-12-04, after the data repair, none of the 10,000 did, so no exclusion list is kept any more.
* ``300w_human``: nearest by the 5 points of the human 68 (same check).
* ``cfp_profile``: nearest by the CFP points that have a 5-point counterpart (visible eye centre, nose tip,
  visible mouth corner); a detection farther than MAX_PROFILE_ERROR face sizes is another face (null).

    .venv/bin/python scripts/audit_faces.py [--sets faces 300w_human cfp_profile]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from facealign.atomic import atomic_write_bytes
from facealign.data.profile import cfp_to_five
from facealign.data.readers import read_annotations, read_points_list
from facealign.data.readers.cfp import read_cfp_folder
from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image
from facealign.landmarks import get_scheme
from facealign.types import Box, Sample

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "../shared/data"
FACES = DATA / "faces"
OUT = ROOT / "runs/audit/retinaface5.json"
#: Mean label-to-detector distance, in detector inter-ocular distances, above which a label is
#: taken to be in another frame (detector error alone is ~0.07 on these faces).
MAX_LABEL_ERROR = 0.5
#: Profiles: mean distance of the defined 5 points, in face sizes (sqrt(w h) of the CFP points' box),
#: above which the nearest detection is another face.
MAX_PROFILE_ERROR = 0.25
SETS = ("faces", "300w_human", "cfp_profile")


def labelled(name: str) -> Iterable[tuple[Sample, np.ndarray]]:
    """``(sample, its 5 points with NaN where undefined)`` of every face of a set."""
    if name == "faces":
        for lst in ("train5.txt", "val5.txt"):
            for s in read_points_list(FACES / lst):
                yield s, s.points
    elif name == "300w_human":
        for s in read_annotations(DATA / "300w_human"):
            yield s, get_scheme("68").to_five(s.points)
    else:
        for s in read_cfp_folder(DATA / "cfp_profile"):
            yield s, cfp_to_five(s.points)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    args = ap.parse_args()
    det = RetinaFaceDetector(threads=1)
    table: dict[str, list | None] = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for name in args.sets:
        found = disagree = total = 0
        for sample, five in labelled(name):
            total += 1
            key = Path(os.path.relpath(Path(sample.image_path).resolve(), FACES.resolve())).as_posix()
            faces = det.detect(read_image(sample.image_path))
            ok = np.isfinite(five).all(axis=1)
            dists = [float(np.linalg.norm(f.points[ok] - five[ok], axis=1).mean()) for f in faces]
            if not faces:
                table[key] = None
                continue
            best = faces[int(np.argmin(dists))]
            if name == "cfp_profile":
                b = Box.from_points(sample.points)
                err = min(dists) / np.sqrt(b.width * b.height)
                if err > MAX_PROFILE_ERROR:
                    table[key] = None
                    continue
            else:
                err = min(dists) / max(float(np.linalg.norm(best.points[1] - best.points[0])), 1e-6)
                disagree += err > MAX_LABEL_ERROR
            table[key] = np.round(best.points, 3).tolist()
            found += 1
        print(f"{name}: {total} faces, detector found {found}"
              + ("" if name == "cfp_profile" else f", labels off the detected face by > {MAX_LABEL_ERROR} IOD: {disagree}"), flush=True)
        atomic_write_bytes(OUT, json.dumps(table).encode())


if __name__ == "__main__":
    main()
