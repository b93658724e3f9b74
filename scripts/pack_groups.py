"""Pack FoxNet's training data (issue 21) into one zip that fits a lent GPU machine's 64 MiB working tree.

``configs/experiments/foxnet_groups_68_gpu.toml`` reads, relative to the unpacked folder (default ``.gpu/foxnet``;
``/.gpu/`` is in ``.git/info/exclude``, so the device call carries it with ``carry=[".gpu"]``):

* ``groups/boxes.csv`` and ``groups/images/*.jpg``: the 1,500 group photos, each downscaled (area filter, JPEG
  at ``--quality``) so that its longer side is at most ``--max-side`` px, with its hand-drawn boxes;
* ``groups_pseudo.json``: the teacher's pseudo-labels (``scripts/pseudo_label_groups.py``) in those pixels;
* ``foxnet_groups_val.txt``: the validation split (a copy of ``configs/foxnet_groups_val.txt``);
* ``faces/train68.txt``, ``faces/val68.txt`` (its first ``--val`` rows) and their photos, each cut to the
  square of half-side ``pack_faces.HALF_SIDE_IODS`` (3.5) eye distances around its faces (the canvases take
  their backgrounds from the strips around the face, which this keeps) and downscaled so that every face's
  eye-centre distance is at most ``--max-iod`` px; ``samples/multiface/dlib_examples``: dlib's 9 photos, bytes as they are.

Coordinates move with the pixels (``scripts/pack_faces.py``'s :func:`photo_bytes` / :func:`scale_points`):
a photo (cut at integer ``o``) of ``w x h`` resized to ``w' x h'`` has ``s = (w'/w, h'/h)``; points (pixel
centres) map as ``(p - o + 0.5) s - 0.5``, box edges as ``b s`` (the convention of :class:`~facealign.data.group_photos.GroupPhotoDataset`).
The labels then sit in the packed photo where they sat in the original, and the trainer reads the packed
photo exactly as the original one (it letterboxes every photo to the network's input anyway).

Sizes: the device's working tree is 64 MiB with the repository (27 MiB tracked on 2026-12-04), so the zip
must stay near 32 MiB. A 256 px FoxNet input shows a 612 px group photo at 0.42 x and a training crop zooms
it at most ``ZOOM[1]`` = 2.5 x that (640 px): the default ``--max-side 352`` keeps the full resolution of
the inference letterbox and of crops up to 1.4 x (larger zooms upsample). A pasted canvas face's landmark
box is 15-50 % of the 256 px canvas (38-128 px, about 2.1 eye distances): ``--max-iod 32`` (67 px) upsamples
the largest ones up to 1.9 x. The canvases are the extra data, so ``--train 1000`` of the 4,779 faces.

Measured (2026-12-04, the defaults): 1,500 group photos (all downscaled), 1,120 face photos; 31.3 MiB
(``--max-side 448 --max-iod 64 --quality 80 --train 0``: 87.9 MiB).

    PYTHONPATH=$PWD .venv/bin/python scripts/pack_groups.py --out .gpu/foxnet.zip

On the device: ``scripts/gpu_foxnet.sh`` (unpacks it, trains, returns the checkpoints under ``$OUT``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_faces import HALF_SIDE_IODS, face_region, photo_bytes, scale_points  # noqa: E402  (the sibling script's photo packing)

from facealign.data.group_photos import BOX_COLUMNS, GroupPhoto, pseudo_labels_json, read_group_boxes, read_pseudo_labels  # noqa: E402
from facealign.landmarks import get_scheme  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "../shared/data"
#: Any region at least this large is the whole photo (``photo_bytes`` clips it to the image).
WHOLE = (0, 0, 1 << 30, 1 << 30)
#: The face lists the FoxNet configs read.
LISTS = ("train68.txt", "val68.txt")


def image_size(path: Path) -> tuple[int, int]:
    """``(w, h)`` of an image file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: expected an image OpenCV can read")
    return image.shape[1], image.shape[0]


def move_photo(photo: GroupPhoto, s: np.ndarray) -> GroupPhoto:
    """``photo``'s labels in its pixels resized by ``s = (sx, sy)``: points as pixel centres, boxes as edges."""
    edges = np.concatenate([s, s])
    faces = np.stack([scale_points(f, np.zeros(2), s) for f in photo.faces]) if len(photo.faces) else photo.faces
    return GroupPhoto(photo.image, faces, photo.boxes * edges, photo.ignore * edges)


def boxes_csv(boxes: dict[str, np.ndarray]) -> str:
    """``boxes.csv`` text of ``{image: (N, 4)}`` (edges to 0.01 px, as the pseudo-label file keeps them)."""
    rows = [",".join(BOX_COLUMNS)]
    rows += [f"{name}," + ",".join(f"{v:.2f}" for v in np.round(b, 2)) for name, bs in boxes.items() for b in bs]
    return "\n".join(rows) + "\n"


def pack_groups(
    z: zipfile.ZipFile, *, groups: Path, labels: list[GroupPhoto], teacher: str, max_side: int, quality: int, names: list[str] | None = None
) -> int:
    """Write ``groups/`` (photos + ``boxes.csv``) and ``groups_pseudo.json`` into ``z``; the photos of
    ``names`` (default: every photo of ``boxes.csv``). Returns how many were downscaled."""
    boxes = read_group_boxes(groups / "boxes.csv")
    names = list(boxes) if names is None else names
    sizes = [image_size(groups / n) for n in names]
    factors = [min(1.0, max_side / max(w, h)) for w, h in sizes]
    with ThreadPoolExecutor(max_workers=2) as pool:
        packed = list(pool.map(lambda nf: photo_bytes(groups / nf[0], WHOLE, nf[1], quality), zip(names, factors)))
    scale = {n: s for n, (_, _, s) in zip(names, packed)}
    for n, (data, _, _) in zip(names, packed):
        z.writestr(f"groups/{n}", data, compress_type=zipfile.ZIP_STORED)
    moved = {n: boxes[n] * np.concatenate([scale[n], scale[n]]) for n in names}
    z.writestr("groups/boxes.csv", boxes_csv(moved), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    kept = [move_photo(p, scale[p.image]) for p in labels if p.image in scale]
    z.writestr("groups_pseudo.json", pseudo_labels_json(kept, teacher=teacher), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return sum(f < 1 for f in factors)


def pack_face_lists(z: zipfile.ZipFile, *, faces: Path, train: int, val: int, max_iod: float, quality: int) -> int:
    """Write ``faces/train68.txt`` (first ``train`` rows), ``faces/val68.txt`` (first ``val`` rows; all when 0) and their photos,
    each cut around its faces and downscaled so that its faces' eye-centre distances are at most ``max_iod``. Returns the photo count."""
    scheme = get_scheme("68")
    rows = {name: [r.split() for r in (faces / name).read_text().splitlines() if r.strip()] for name in LISTS}
    for name, n in (("train68.txt", train), ("val68.txt", val)):
        rows[name] = rows[name][:n] if n > 0 else rows[name]
    factor: dict[str, float] = {}
    region: dict[str, tuple[int, ...]] = {}
    for r in rows["train68.txt"] + rows["val68.txt"]:
        five = scheme.to_five(np.asarray(r[1:], dtype=np.float64).reshape(68, 2))
        iod = float(np.linalg.norm(five[1] - five[0]))
        factor[r[0]] = min(factor.get(r[0], 1.0), max_iod / iod)
        cut = face_region(five.mean(axis=0), HALF_SIDE_IODS * iod)
        old = region.get(r[0], cut)
        region[r[0]] = (*np.minimum(old[:2], cut[:2]), *np.maximum(old[2:], cut[2:]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        packed = dict(zip(factor, pool.map(lambda k: photo_bytes(faces / k, region[k], factor[k], quality), factor)))
    for name in LISTS:
        text = "".join(
            f"{r[0]} " + " ".join(f"{v:.3f}" for v in scale_points(np.asarray(r[1:], dtype=np.float64).reshape(-1, 2), *packed[r[0]][1:]).ravel()) + "\n"
            for r in rows[name]
        )
        z.writestr(f"faces/{name}", text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    for key, (data, _, _) in packed.items():
        z.writestr(os.path.normpath(f"faces/{key}"), data, compress_type=zipfile.ZIP_STORED)
    return len(packed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", default=str(ROOT / "../cache/groups_pseudo.json"), help="scripts/pseudo_label_groups.py's output")
    ap.add_argument("--val-list", default=str(ROOT / "configs/foxnet_groups_val.txt"))
    ap.add_argument("--max-side", type=int, default=352, help="longest side (px) of a packed group photo")
    ap.add_argument("--max-iod", type=float, default=32.0, help="largest eye-centre distance (px) of a packed face photo")
    ap.add_argument("--train", type=int, default=1000, help="training faces of train68.txt to keep (the GPU config's limit_train)")
    ap.add_argument("--val", type=int, default=120, help="validation faces of val68.txt to keep (the config's limit_val)")
    ap.add_argument("--quality", type=int, default=70, help="JPEG quality of the downscaled photos")
    ap.add_argument("--out", default=str(ROOT / ".gpu/foxnet.zip"))
    args = ap.parse_args()

    labels = read_pseudo_labels(args.labels, num_points=68)
    teacher = str(json.loads(Path(args.labels).read_text()).get("teacher", "?"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        down = pack_groups(z, groups=DATA / "groups", labels=labels, teacher=teacher, max_side=args.max_side, quality=args.quality)
        faces = pack_face_lists(z, faces=DATA / "faces", train=args.train, val=args.val, max_iod=args.max_iod, quality=args.quality)
        z.write(args.val_list, "foxnet_groups_val.txt")
        dlib = DATA / "samples/multiface/dlib_examples"
        for f in sorted(dlib.iterdir()):
            z.write(f, f"samples/multiface/dlib_examples/{f.name}")
    tmp.replace(out)
    print(f"{out}: {len(labels)} labelled group photos ({down} downscaled to <= {args.max_side} px), "
          f"{faces} face photos (eye distance <= {args.max_iod:g} px); {out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
