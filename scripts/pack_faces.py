"""Pack the faces/ training data into one zip that fits a lent GPU machine's 64 MiB working tree.

The device tool copies the repository (and the paths named in ``carry``) to the GPU machine; ``../shared``
does not travel, and thousands of small files count for more than their bytes. This writes
``gpu_data/data.zip`` (``/gpu_data/`` is in ``.git/info/exclude``): the face lists without the excluded
rows, every photo they name (JPEGs re-packed losslessly with ``jpegtran -optimize -progressive`` when
it is installed: the same DCT coefficients, so the same pixels), the first ``--val`` validation faces
only, and the RetinaFace 5 points of ``runs/audit/retinaface5.json``.

    .venv/bin/python scripts/pack_faces.py --val 100

On the device (``carry: ["gpu_data"]``)::

    cd gpu_data && python3 -m zipfile -e data.zip . && cd .. && mkdir -p runs/audit \\
      && cp gpu_data/retinaface5.json runs/audit/ \\
      && PYTHONPATH=$PWD python3 -m facealign.cli train CONFIG --data-root gpu_data/faces --workers 7

Measured (2026-12-04): 7,387 photos, 55.9 MB with 100 validation faces; two runs of
``configs/mnv2_050_68_ft5_w0{2,5}_e40.toml`` side by side on one H200 took ~11.5 s an epoch each.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import zipfile
from pathlib import Path

from facealign.data.readers import read_excluded_paths

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "../shared/data/faces"
LISTS = ("train5.txt", "train68.txt", "val5.txt", "val68.txt")


def _photo_bytes(path: Path) -> bytes:
    if shutil.which("jpegtran") and path.suffix.lower() in (".jpg", ".jpeg"):
        done = subprocess.run(["jpegtran", "-optimize", "-progressive", "-copy", "none", str(path)], capture_output=True, check=True)
        return done.stdout
    return path.read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--val", type=int, default=100, help="validation faces to keep (the first VAL of val68.txt and their val5 rows)")
    ap.add_argument("--exclude", default=str(ROOT / "configs/excluded_faces.txt"))
    ap.add_argument("--align-points", default=str(ROOT / "runs/audit/retinaface5.json"))
    ap.add_argument("--out", default=str(ROOT / "gpu_data/data.zip"))
    args = ap.parse_args()

    excluded = read_excluded_paths(args.exclude)
    rows = {name: [r for r in (FACES / name).read_text().splitlines() if r.strip() and r.split()[0] not in excluded] for name in LISTS}
    if args.val > 0:
        rows["val68.txt"] = rows["val68.txt"][: args.val]
        keep = {r.split()[0] for r in rows["val68.txt"]}
        rows["val5.txt"] = [r for r in rows["val5.txt"] if r.split()[0] in keep]
    photos = sorted({r.split()[0] for name in LISTS for r in rows[name]})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        for name in LISTS:
            z.writestr(f"faces/{name}", "\n".join(rows[name]) + "\n", compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        for rel in photos:
            z.writestr(f"faces/{rel}", _photo_bytes(FACES / rel), compress_type=zipfile.ZIP_STORED)
        z.write(args.align_points, "retinaface5.json", compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(out)
    print(f"{out}: {len(photos)} photos, " + ", ".join(f"{n} {len(rows[n])}" for n in LISTS) + f"; {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
