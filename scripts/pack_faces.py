"""Pack the training data into one zip that fits a lent GPU machine's 64 MiB working tree.

The device tool copies the repository (and the paths named in ``carry``) to the GPU machine; ``../shared``
does not travel, and thousands of small files count for more than their bytes. This writes one zip (default
``gpu_data/data.zip``; ``/gpu_data/`` and ``/.gpu/`` are in ``.git/info/exclude``) holding ``faces/`` (the
face lists, every photo they name, the first ``--val`` validation faces only), ``300w_human/`` (``.pts``
beside each photo) and ``cfp_profile/`` (``ID/NN.txt`` beside each photo) in their own layouts, and the
RetinaFace 5 points of ``runs/audit/retinaface5.json``, so that a training config runs there unchanged with
``--data-root gpu_data/faces``.

To fit 13,200 photos (138 MB as stored) in the tree, each photo is cut to the square around its face that
a training crop can reach (:data:`HALF_SIDE_IODS`), and one whose face is larger than the network needs is
downscaled (area filter) so that its eye-centre distance is at most ``--max-iod`` px (profiles: its face
size, sqrt(w h) of the CFP points' box, at most ``PROFILE_SIZE_PER_IOD`` times that) and re-encoded as JPEG
at ``--quality``; every label and detector point is mapped with it (``p' = (p - offset + 0.5) s - 0.5`` per axis,
pixel centres). A default-size crop (128 px) has 31 px between the eye centres, so the default 32 px keeps
the crop's resolution. Photos already small enough keep their bytes (re-packed losslessly with ``jpegtran
-optimize -progressive`` when it is installed).

    .venv/bin/python scripts/pack_faces.py --val 100 --out .gpu/data.zip

On the device: ``scripts/gpu_hard_faces.sh`` (unpacks it, trains, returns the checkpoints).

A config's ``[data.label_offsets]`` (people's labelling convention, ``configs/*_people*.toml``) is in the stored
photos' pixels; on a downscaled photo of the pack the convention is ``s`` times smaller (about 3x on the 400 px
photos at the default ``--max-iod``). The pack's ``faces/photo_scales.json`` (``{key: [sx, sy]}``, keys as the
lists write the paths, every photo that was resized) tells training so: the offsets are scaled with each photo
(:func:`facealign.data.sources.read_photo_scales`).

Measured (2026-12-04): 12,707 photos (all of faces/ but the val rows past the first 100, 300w_human,
cfp_profile), 7,029 of them downscaled, 50.0 MB with the defaults (76.5 MB uncut at 40 px / quality 90).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from facealign.data.readers import read_excluded_paths, read_pts
from facealign.data.readers.cfp import read_cfp
from facealign.data.sources import PHOTO_SCALES
from facealign.types import Box
from facealign.landmarks import get_scheme

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "../shared/data"
FACES = DATA / "faces"
LISTS = ("train5.txt", "train68.txt", "val5.txt", "val68.txt")
#: A profile's face size over the eye distance it is packed at (frontal 300-W faces: 1 / 0.62 of the
#: outer-corner distance, itself ~1.3 eye-centre distances; CFP's box reaches the ear: 2.5).
PROFILE_SIZE_PER_IOD = 2.5
#: Half-side, in eye-centre distances, of the square kept around a frontal face: a 128 px crop spans 4.13 of
#: them, so its corners lie 2.9 from the centre, 3.2 with the training's rotation, scale and shift.
HALF_SIDE_IODS = 3.5
#: Half-side of the square kept around a profile, in the longer side of its CFP points' box (the crop aligned on
#: the detector's points of a profile reaches far beyond the face: its eye distance is short).
PROFILE_HALF_SIDE = 2.0


def _jpegtran(path: Path) -> bytes:
    if shutil.which("jpegtran") and path.suffix.lower() in (".jpg", ".jpeg"):
        done = subprocess.run(["jpegtran", "-optimize", "-progressive", "-copy", "none", str(path)], capture_output=True, check=True)
        return done.stdout
    return path.read_bytes()


def photo_bytes(path: Path, region: tuple[int, int, int, int], factor: float, quality: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The packed bytes of the photo's ``region`` ``(x0, y0, x1, y1)`` (clipped to it) downscaled by ``factor``
    (at most 1), and the offset ``(x0, y0)`` and per-axis scale ``(sx, sy)`` its points take. A photo kept
    whole at full size keeps its bytes."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: expected an image OpenCV can read")
    h, w = image.shape[:2]
    x0, y0 = max(0, region[0]), max(0, region[1])
    x1, y1 = min(w, region[2]), min(h, region[3])
    if factor >= 1.0 and (x0, y0, x1, y1) == (0, 0, w, h):
        return _jpegtran(path), np.zeros(2), np.ones(2)
    crop = image[y0:y1, x0:x1]
    cw, ch = x1 - x0, y1 - y0
    nw, nh = max(1, round(cw * min(factor, 1.0))), max(1, round(ch * min(factor, 1.0)))
    if (nw, nh) != (cw, ch):
        crop = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode it as JPEG")
    return buf.tobytes(), np.array([x0, y0], dtype=np.float64), np.array([nw / cw, nh / ch])


def face_region(centre: np.ndarray, half: float) -> tuple[int, int, int, int]:
    """The integer square ``(x0, y0, x1, y1)`` of half-side ``half`` around ``centre`` (pixel edges)."""
    return (int(np.floor(centre[0] - half)), int(np.floor(centre[1] - half)),
            int(np.ceil(centre[0] + half)) + 1, int(np.ceil(centre[1] + half)) + 1)


def scale_points(points: np.ndarray, offset: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Points of a photo cut at integer ``offset`` and resized by ``s = (sx, sy)``: pixel centres map as
    ``(p - offset + 0.5) s - 0.5``. Shape: ``(K, 2)``."""
    return (np.asarray(points, dtype=np.float64) - offset + 0.5) * s - 0.5


def _iod(points5: np.ndarray) -> float:
    return float(np.linalg.norm(points5[1] - points5[0]))


def _fmt(points: np.ndarray) -> str:
    return " ".join(f"{v:.3f}" for v in np.asarray(points).reshape(-1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--val", type=int, default=100, help="validation faces to keep (the first VAL of val68.txt and their val5 rows)")
    ap.add_argument("--exclude", default="", help="a file of rows to leave out (PATH ... lines; default none)")
    ap.add_argument("--align-points", default=str(ROOT / "runs/audit/retinaface5.json"))
    ap.add_argument("--max-iod", type=float, default=32.0, help="largest eye-centre distance (px) a packed photo keeps")
    ap.add_argument("--quality", type=int, default=75, help="JPEG quality of the downscaled photos")
    ap.add_argument("--out", default=str(ROOT / "gpu_data/data.zip"))
    args = ap.parse_args()

    excluded = read_excluded_paths(args.exclude) if args.exclude else set()
    rows = {name: [r for r in (FACES / name).read_text().splitlines() if r.strip() and r.split()[0] not in excluded] for name in LISTS}
    if args.val > 0:
        rows["val68.txt"] = rows["val68.txt"][: args.val]
        keep = {r.split()[0] for r in rows["val68.txt"]}
        rows["val5.txt"] = [r for r in rows["val5.txt"] if r.split()[0] in keep]
    # every photo (path relative to faces/): the region it is cut to and the factor it is downscaled by
    factors: dict[str, tuple[tuple[int, int, int, int], float]] = {}

    def frontal(key: str, five: np.ndarray) -> None:
        iod = _iod(five)
        factors.setdefault(key, (face_region(five.mean(axis=0), HALF_SIDE_IODS * iod), min(1.0, args.max_iod / iod)))

    for name in ("train5.txt", "val5.txt"):
        for r in rows[name]:
            frontal(r.split()[0], np.asarray(r.split()[1:], dtype=np.float64).reshape(5, 2))
    for name in ("train68.txt", "val68.txt"):
        for r in rows[name]:
            frontal(r.split()[0], get_scheme("68").to_five(np.asarray(r.split()[1:], dtype=np.float64).reshape(68, 2)))
    annotations: dict[str, tuple[str, np.ndarray]] = {}  # photo key -> (annotation kind, 0-based points)
    for pts in sorted((DATA / "300w_human").rglob("*.pts")):
        s = read_pts(pts)
        key = Path(os.path.relpath(s.image_path, FACES)).as_posix()
        annotations[key] = ("pts", s.points)
        frontal(key, get_scheme("68").to_five(s.points))
    for txt in sorted((DATA / "cfp_profile").glob("*/*.txt")):
        s = read_cfp(txt)
        key = Path(os.path.relpath(s.image_path, FACES)).as_posix()
        annotations[key] = ("cfp", s.points)
        b = Box.from_points(s.points)
        size = float(np.sqrt(b.width * b.height))
        region = face_region(np.array(b.center), PROFILE_HALF_SIDE * max(b.width, b.height))
        factors[key] = (region, min(1.0, args.max_iod * PROFILE_SIZE_PER_IOD / size))

    with ThreadPoolExecutor(max_workers=2) as pool:
        packed = dict(zip(factors, pool.map(lambda k: photo_bytes(FACES / k, *factors[k], args.quality), factors)))
    moves = {k: (v[1], v[2]) for k, v in packed.items()}

    table = json.loads(Path(args.align_points).read_text())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")

    def member(key: str) -> str:  # faces/images/x.jpg, 300w_human/afw/x.jpg, cfp_profile/001/01.jpg
        return os.path.normpath(f"faces/{key}")

    with zipfile.ZipFile(tmp, "w") as z:
        for name in LISTS:
            text = "".join(
                f"{r.split()[0]} {_fmt(scale_points(np.asarray(r.split()[1:], dtype=np.float64).reshape(-1, 2), *moves[r.split()[0]]))}\n"
                for r in rows[name]
            )
            z.writestr(f"faces/{name}", text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        for key, (data, _, _) in packed.items():
            z.writestr(member(key), data, compress_type=zipfile.ZIP_STORED)
        for key, (kind, points) in annotations.items():
            p = scale_points(points, *moves[key])
            stem = os.path.splitext(member(key))[0]
            if kind == "pts":  # iBUG .pts: 1-based
                body = "version: 1\nn_points:  68\n{\n" + "".join(f"{x + 1:.3f} {y + 1:.3f}\n" for x, y in p) + "}\n"
                z.writestr(stem + ".pts", body, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            else:
                z.writestr(stem + ".txt", "".join(f"{x:.3f},{y:.3f}\n" for x, y in p), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        resized = {k: [round(float(x), 6) for x in sc] for k, (_, sc) in moves.items() if not np.allclose(sc, 1.0)}
        z.writestr(f"faces/{PHOTO_SCALES}", json.dumps(resized, sort_keys=True), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        scaled = {k: (None if v is None or k not in moves else np.round(scale_points(v, *moves[k]), 3).tolist()) for k, v in table.items()}
        z.writestr("retinaface5.json", json.dumps(scaled), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(out)
    down = sum(f < 1 for _, f in factors.values())
    print(f"{out}: {len(packed)} photos ({down} downscaled to <= {args.max_iod:g} px between the eyes), "
          + ", ".join(f"{n} {len(rows[n])}" for n in LISTS)
          + f", 300w_human {sum(k == 'pts' for k, _ in annotations.values())}, cfp_profile {sum(k == 'cfp' for k, _ in annotations.values())}"
          + f"; {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
