"""Pseudo-label the real group photos of ../shared/data/groups with the top-down teacher, once.

    nice -n 10 .venv/bin/python scripts/pseudo_label_groups.py --out /work/cache/groups_pseudo.json

Teacher: RetinaFace + the shipped 68-point default (``facealign.Aligner()``, 1 thread). A teacher face
becomes a label when its detection box matches a hand-drawn box of ``boxes.csv`` by the bottom-up
evaluation matcher's IoU option, :func:`facealign.evaluation.matching.match_faces` with ``rule="iou"``
(Hungarian assignment on box IoU, a pair counts at IoU >= 0.5, the FoxNet paper's threshold): a detection
becomes a face's label only when it agrees with the hand-drawn box in scale as well as in place. Hand-drawn boxes the teacher missed, and teacher faces no
hand-drawn box claims, become ignore regions (a face may be there; its landmarks are unknown). A photo that
cannot be read is reported on one line and skipped. The file (:func:`facealign.data.group_photos.read_pseudo_labels`)
is written atomically, outside the repository.

``--make-split N configs/foxnet_groups_val.txt`` instead writes a fixed validation list: N photos of
``boxes.csv`` drawn with ``--seed``, sorted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from facealign import Aligner
from facealign.atomic import atomic_write_text
from facealign.evaluation.matching import IOU_THRESHOLD, match_faces
from facealign.data.group_photos import GroupPhoto, pseudo_labels_json, read_group_boxes
from facealign.imageio import read_image

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ROOT / "../shared/data/groups"


def label_photo(aligner: Aligner, rgb: np.ndarray, boxes: np.ndarray, *, image: str, iou: float) -> GroupPhoto:
    """The teacher's labels and the ignore regions of one photo (module docstring)."""
    faces = aligner(rgb, color="rgb")
    det = np.array([f.box.as_array() for f in faces]).reshape(-1, 4)
    match = match_faces(det, boxes, rule="iou", iou_threshold=iou)
    k = aligner.scheme.num_points
    pts = np.array([faces[p].points for p, _ in match.pairs], dtype=np.float64).reshape(-1, k, 2)
    matched = boxes[[g for _, g in match.pairs]].reshape(-1, 4)
    ignore = np.concatenate([boxes[match.unmatched_gt], det[match.unmatched_pred]]).reshape(-1, 4)
    return GroupPhoto(image, pts, matched, ignore)


def make_split(boxes: dict[str, np.ndarray], count: int, out: Path, seed: int) -> None:
    names = sorted(boxes)
    if not 0 < count < len(names):
        raise SystemExit(f"--make-split: expected 0 < N < {len(names)} photos, got {count}")
    picks = sorted(np.random.default_rng(seed).choice(names, size=count, replace=False).tolist())
    header = f"# {count} validation photos of groups/boxes.csv (scripts/pseudo_label_groups.py --make-split {count}, seed {seed})\n"
    atomic_write_text(out, header + "\n".join(picks) + "\n")
    print(f"wrote {out}: {count} of {len(names)} photos")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=Path, default=GROUPS, help="folder with boxes.csv and images/")
    ap.add_argument("--out", type=Path, help="pseudo-label JSON to write (outside the repository)")
    ap.add_argument("--iou", type=float, default=IOU_THRESHOLD, help="box IoU a teacher face needs to become a label")
    ap.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    ap.add_argument("--make-split", nargs=2, metavar=("N", "LIST"), help="write a validation list of N photos and stop")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    boxes = read_group_boxes(args.groups / "boxes.csv")
    if args.make_split:
        make_split(boxes, int(args.make_split[0]), Path(args.make_split[1]), args.seed)
        return
    if args.out is None:
        ap.error("--out is required (or --make-split)")
    aligner = Aligner(threads=1)
    names = sorted(boxes)[: args.limit or None]
    photos, start = [], time.perf_counter()
    for i, name in enumerate(names):
        try:
            rgb = read_image(args.groups / name)
        except (OSError, ValueError) as err:
            print(f"skipped {name}: {err}", file=sys.stderr)
            continue
        photos.append(label_photo(aligner, rgb, boxes[name], image=name, iou=args.iou))
        if (i + 1) % 100 == 0:
            print(f"{i + 1}/{len(names)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    atomic_write_text(args.out, pseudo_labels_json(photos, teacher=f"RetinaFace + {aligner.card.name}, box IoU >= {args.iou}"))
    labels = sum(len(p.faces) for p in photos)
    ignored = sum(len(p.ignore) for p in photos)
    hand = sum(len(boxes[p.image]) for p in photos)
    print(f"wrote {args.out}: {len(photos)} photos, {hand} hand-drawn boxes, {labels} labelled faces, {ignored} ignore regions, "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
