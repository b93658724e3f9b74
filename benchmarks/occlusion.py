"""How models degrade when part of the face is hidden (SCC, Zhu et al. Fig. 1(b) and Sec. 3.4: the
sparse graph should keep the visible parts right while a fully-connected head lets the error of the
occluded part spread to the rest).

For every face of ``faces/val68.txt`` (68-point teacher labels), or of another 68-point set given by ``--data``
(issue 24: ``--data ../shared/data/300w_human --holdout configs/holdout_300w_human.txt``, people's 68 points
of the held-out slice every issue scores; ``--holdout`` keeps the faces it names, :func:`facealign.data.sources.split_holdout`),
a grey block hides the lower part of the face, from below the chin up to a fraction of the way to
the eyebrows (0 = nothing hidden; 0.5 = up to about the nose tip; 0.8 = up to about the eyes). Each model sees
the same crop: aligned on the detector's 5 points of the *unoccluded* photo (``runs/audit/retinaface5.json``
from ``scripts/audit_faces.py``; the labels' own 5 points where it has none), so detection
failures do not mix into the comparison. Reported per occlusion level: NME (%, outer-eye-corner
distance) over the points left visible and over the hidden ones, and how much the visible points'
error grew against the same points' error on the unoccluded photo (the first level should be 0).

    .venv/bin/python -m benchmarks.occlusion --model runs/scc_cpu_68/best.pt --model runs/scc_fc_cpu_68/best.pt \\
        --model facealign_mnv2_050_68 [--levels 0 0.3 0.5 0.7] [--limit 200] [--data DIR --holdout FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from facealign.landmarks import get_scheme

REPO = Path(__file__).resolve().parents[1]
FACES = REPO / "../shared/data/faces"
#: Grey of the occluding block (mid-grey, neither black nor white).
OCCLUDER_GREY = 128
_BOUNDARIES = {b.name: b.indices for b in get_scheme("68").boundaries}
#: iBUG 68, from the scheme's boundaries: the chin point (the middle of the jaw line, 8) and the eyebrows
#: (17-26); the occlusion runs from below the chin towards the brows.
CHIN = _BOUNDARIES["contour"][len(_BOUNDARIES["contour"]) // 2]
BROWS = _BOUNDARIES["brow_left"] + _BOUNDARIES["brow_right"]


def occlude_lower_face(rgb: np.ndarray, points: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Hide the face from below its lowest point up to ``level`` of the way from the chin to the brows.

    Returns the occluded copy and the ``(K,)`` mask of points left visible (strictly above the block).
    Shape: ``rgb (H, W, 3)``, ``points (68, 2)`` -> ``(H, W, 3)``, ``(68,)`` bool.
    """
    out = rgb.copy()
    if level <= 0:
        return out, np.ones(len(points), bool)
    chin_y, brow_y = float(points[CHIN, 1]), float(points[list(BROWS), 1].mean())
    top = chin_y - level * (chin_y - brow_y)
    x0, x1 = points[:, 0].min(), points[:, 0].max()
    pad = 0.1 * (x1 - x0)
    r0 = int(np.clip(np.floor(top), 0, rgb.shape[0]))
    c0, c1 = (int(np.clip(v, 0, rgb.shape[1])) for v in (np.floor(x0 - pad), np.ceil(x1 + pad) + 1))
    out[r0:, c0:c1] = OCCLUDER_GREY
    return out, points[:, 1] < r0 - 0.5


def load_faces(data: str, holdout: str = "", limit: int = 0, align_points: str | Path = "") -> tuple[list, list[np.ndarray], str]:
    """The 68-point faces of ``data`` (those ``holdout`` names when given; the first ``limit`` when > 0), the 5 points
    each crop is aligned on (the detector's of the ``align_points`` table, else the labels' own) and which of the
    two it was. Shape: ``-> [Sample], [(5, 2)], str``."""
    from facealign.data.readers import read_annotations
    from facealign.data.sources import split_holdout

    scheme = get_scheme("68")
    samples = read_annotations(data)
    if holdout:
        _, samples = split_holdout(samples, data, holdout)
    # the align_points key: the image path relative to faces/ (``../300w_human/...`` for the sets beside it)
    keyed = [(Path(os.path.relpath(Path(s.image_path).resolve(), FACES.resolve())).as_posix(), s) for s in samples]
    if limit > 0:
        keyed = keyed[:limit]
    table = json.loads(Path(align_points).read_text()) if align_points and Path(align_points).is_file() else {}
    fives, source = [], "detector"
    for key, s in keyed:
        if key in table:
            fives.append(np.asarray(table[key], np.float64).reshape(5, 2))
        else:
            fives.append(scheme.to_five(s.points))
            source = "detector where audited, else labels"
    return [s for _, s in keyed], fives, source


def predict_aligned(aligner, images: list[np.ndarray], fives: list[np.ndarray]) -> np.ndarray:
    """``aligner``'s points for each RGB image, its crop aligned on the given 5 points. Shape: ``-> (N, K, 2)``."""
    return np.stack([aligner(img, color="rgb", points5=[five])[0].points.astype(np.float64) for img, five in zip(images, fives)])


def model_label(model: str) -> str:
    """A checkpoint by its run folder (``runs/X/last.pt`` -> ``X``), a registered name or graph as given."""
    return Path(str(model)).parent.name if str(model).endswith(".pt") else str(model)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="registered name or checkpoint (repeatable)")
    ap.add_argument("--data", default=str(FACES / "val68.txt"), help="68-point faces (any read_annotations file or folder)")
    ap.add_argument("--holdout", default="", help="keep only the faces this file names (a held-out slice; relative to --data's folder)")
    ap.add_argument("--levels", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.7], help="first one is the reference")
    ap.add_argument("--limit", type=int, default=0, help="first N faces only (0 = all)")
    ap.add_argument("--align-points", default=str(REPO / "runs/audit/retinaface5.json"))
    args = ap.parse_args(argv)

    from facealign.api import Aligner
    from facealign.imageio import read_image
    from facealign.metrics import nme

    scheme = get_scheme("68")
    samples, fives, source = load_faces(args.data, args.holdout, args.limit, args.align_points)
    images = [read_image(s.image_path) for s in samples]
    gt = np.stack([s.points for s in samples])
    print(f"{len(samples)} faces of {args.data}{' held out by ' + args.holdout if args.holdout else ''}; crops aligned on the {source} 5 points of the unoccluded photos\n")

    rows = []
    for model in args.model:
        aligner = Aligner(model, detector=None)
        base = None
        for level in args.levels:
            occluded, vis = zip(*(occlude_lower_face(img, pts, level) for img, pts in zip(images, gt)))
            pred, vis = predict_aligned(aligner, list(occluded), fives), np.stack(vis)
            e_vis = nme(pred, gt, scheme=scheme, norm="interocular", visible=vis)
            hidden = ~vis
            some = hidden.any(axis=1)
            e_hid = nme(pred[some], gt[some], scheme=scheme, norm="interocular", visible=hidden[some]) if some.any() else None
            if base is None:  # the unoccluded photo's predictions: the reference for the same points
                base = pred
            e_same = nme(base, gt, scheme=scheme, norm="interocular", visible=vis)
            growth = float(np.mean(e_vis) / np.mean(e_same) - 1) * 100
            rows.append((model_label(model), level, 100 * vis.mean(),
                         100 * float(np.mean(e_vis)), None if e_hid is None else 100 * float(np.mean(e_hid)), growth))
    print("| model | occluded | points visible | NME visible (%) | NME hidden (%) | visible NME growth |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, level, vis, ev, eh, g in rows:
        print(f"| {name} | {level:.1f} | {vis:.0f}% | {ev:.2f} | {'-' if eh is None else f'{eh:.2f}'} | {g:+.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
