"""Contact sheets of labelled 68-point faces: each face with its points coloured by region and numbered
(0-based, the iBUG 68 indices), for looking at every face of a slice by eye (issue 24: which of the held-out
``300w_human`` faces have points really hidden by hair, hands, other people ...; ``configs/occluded_300w_human.tsv``).

    .venv/bin/python scripts/contact_sheet.py --out /tmp/sheets \\
        [--data ../shared/data/300w_human --holdout configs/holdout_300w_human.txt] [--cols 3 --rows 2 --cell 448]

Writes ``OUT/sheet_NN.png`` (``cols x rows`` faces a sheet, in the order of the annotation reader), each face
titled with its id (its image path relative to ``--data`` without suffix, as the holdout file names it).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facealign.atomic import atomic_write_bytes
from facealign.landmarks import get_scheme

REPO = Path(__file__).resolve().parents[1]
#: One colour per region of the 68-point scheme (its boundaries, merged by the first word of their name).
REGION_COLOURS = {
    "contour": (255, 215, 0),
    "brow": (255, 64, 64),
    "nose": (64, 224, 255),
    "eyelid": (64, 255, 64),
    "lip": (255, 96, 255),
}
#: Height of the title line above each face (pixels of the sheet).
TITLE_PX = 20


def point_colours(scheme: str = "68") -> list[tuple[int, int, int]]:
    """The colour of each point of ``scheme``: its boundary's region colour (white where none names it)."""
    sch = get_scheme(scheme)
    colours = [(255, 255, 255)] * sch.num_points
    for b in sch.boundaries:
        colour = REGION_COLOURS.get(b.name.split("_")[0], (255, 255, 255))
        for i in b.indices:
            colours[i] = colour
    return colours


def draw_face(rgb: np.ndarray, points: np.ndarray, title: str, cell: int) -> Image.Image:
    """One face scaled to fit ``cell`` x ``cell`` pixels with its points (dots and 0-based indices) drawn on it
    and ``title`` above. Shape: ``rgb (H, W, 3)``, ``points (K, 2)`` (pixels of ``rgb``)."""
    h, w = rgb.shape[:2]
    scale = cell / max(h, w)
    face = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (cell, cell + TITLE_PX), (0, 0, 0))
    out.paste(face, (0, TITLE_PX))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=10)
    draw.text((2, 2), title, fill=(255, 255, 255), font=ImageFont.load_default(size=14))
    # pixel centres: a point at x lies at (x + 0.5) * scale - 0.5 in the resized image (facealign.types' convention)
    xy = (np.asarray(points, np.float64) + 0.5) * scale - 0.5 + np.array([0.0, TITLE_PX])
    for k, ((x, y), colour) in enumerate(zip(xy, point_colours(str(len(points))))):
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        draw.text((x + 3, y - 5), str(k), fill=colour, font=font, stroke_width=1, stroke_fill=(0, 0, 0))
    return out


def contact_sheets(faces: list[tuple[str, np.ndarray, np.ndarray]], *, cols: int, rows: int, cell: int) -> list[Image.Image]:
    """``(id, rgb, points)`` faces laid out ``cols x rows`` a sheet, in order."""
    if cols < 1 or rows < 1 or cell < 32:
        raise ValueError(f"expected cols >= 1, rows >= 1 and cell >= 32 pixels, got {cols}, {rows}, {cell}")
    per = cols * rows
    sheets = []
    for start in range(0, len(faces), per):
        chunk = faces[start : start + per]
        sheet = Image.new("RGB", (cols * cell, rows * (cell + TITLE_PX)), (0, 0, 0))
        for i, (title, rgb, pts) in enumerate(chunk):
            sheet.paste(draw_face(rgb, pts, title, cell), ((i % cols) * cell, (i // cols) * (cell + TITLE_PX)))
        sheets.append(sheet)
    return sheets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO / "../shared/data/300w_human"), help="68-point faces (any read_annotations folder or file)")
    ap.add_argument("--holdout", default=str(REPO / "configs/holdout_300w_human.txt"), help="only the faces this file names ('' = all)")
    ap.add_argument("--out", required=True, help="folder for sheet_NN.png")
    ap.add_argument("--cols", type=int, default=3)
    ap.add_argument("--rows", type=int, default=2)
    ap.add_argument("--cell", type=int, default=448, help="pixels of the longer side of each face")
    args = ap.parse_args(argv)

    from facealign.data.readers import read_annotations
    from facealign.data.sources import holdout_key, split_holdout
    from facealign.imageio import read_image

    samples = read_annotations(args.data)
    if args.holdout:
        _, samples = split_holdout(samples, args.data, args.holdout)
    root = args.data if Path(args.data).is_dir() else Path(args.data).parent
    faces = [(holdout_key(s.image_path, root), read_image(s.image_path), s.points) for s in samples]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sheets = contact_sheets(faces, cols=args.cols, rows=args.rows, cell=args.cell)
    per = args.cols * args.rows
    for n, sheet in enumerate(sheets):
        buf = io.BytesIO()
        sheet.save(buf, format="PNG")
        path = atomic_write_bytes(out / f"sheet_{n:02d}.png", buf.getvalue())
        print(f"{path}: {', '.join(f[0] for f in faces[n * per : (n + 1) * per])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
