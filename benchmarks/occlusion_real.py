"""SCC's occlusion claim on real occlusion: the held-out ``300w_human`` faces where hair, hands, objects or other
people really hide points (``configs/occluded_300w_human.tsv``, picked by eye; issue 24), beside the held-out faces
with nothing listed.

For each model (``--model``, repeatable: a registered name, a checkpoint or graph, or ``CONFIG[=CHECKPOINT]`` as
:mod:`benchmarks.human_slice` takes them) and each group of faces (:data:`GROUPS`: nothing listed; something in
front of the face, then hair apart from the rest; turned heads' far jaw; faces off the photo), the NME (%, outer
eye corners) of the points no row lists and of the points the group's kinds hide, each beside the same point sets
measured on the faces with nothing listed (:func:`real_occlusion_nme`), and how much the visible points grew over
that control with its bootstrap interval (:func:`bootstrap_growth`: SCC's claim is that the sparse graph keeps this
growth small). ``--paired``: each model against the first, face by face
(:func:`benchmarks.human_slice.paired_difference`), and the difference of the growths under the same draws.

    .venv/bin/python -m benchmarks.occlusion_real --model facealign_mnv2_050_68 --model propnet_cpu_68_nolpm \\
        [--model configs/experiments/scc_human_e60.toml=runs/scc_human_e60/last.pt ...] [--paired] [--no-flip-test]

:func:`read_hidden_points` reads the list: one row per face and kind of occluder, tab-separated
``FACE_ID  KIND  INDICES  WORDS`` (``#`` comments), ``INDICES`` 0-based points as ``a-b`` ranges and single
indices joined by commas (``0-3,16``). Every row is checked: a known kind (:data:`KINDS`), indices inside the
scheme, none listed twice for a face (in one row or two), one row per face and kind, and, given the holdout
list, a face id it names; a bad row raises :class:`~facealign.data.readers.AnnotationError` with the file and line.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.hih_table5 import slice_dataset
from benchmarks.human_slice import SLICE, load_entry, paired_difference, parse_entry
from benchmarks.occlusion import load_faces, model_label, predict_aligned
from facealign.data.readers import AnnotationError, read_excluded_paths
from facealign.data.readers.errors import parse_int, read_text_lines, where
from facealign.data.sources import holdout_key
from facealign.landmarks import get_scheme
from facealign.metrics import nme

REPO = Path(__file__).resolve().parents[1]

#: Something in front of the face (the occlusion SCC's claim is about).
OCCLUDERS = ("hair", "hand", "object", "person", "headwear", "sunglasses", "tongue")
#: ``self``: the far side of a turned head (the jaw contour labelled on the cheek's silhouette);
#: ``frame``: points at the photo's edge (the face runs off the photo).
KINDS = (*OCCLUDERS, "self", "frame")
#: Fields of a row: face id, kind, indices, words.
FIELDS = 4


@dataclass(frozen=True)
class HiddenPoints:
    """One row of an occlusion list: the points of ``face`` that ``kind`` hides, in the file's words."""

    face: str
    kind: str
    indices: tuple[int, ...]
    note: str
    source: str


def parse_indices(text: str, at: str, num_points: int) -> tuple[int, ...]:
    """``"0-3,16"`` -> ``(0, 1, 2, 3, 16)``: comma-separated single indices and inclusive ``a-b`` ranges, each in
    ``0 .. num_points - 1`` and none twice. Raises :class:`AnnotationError` at ``at``."""
    out: list[int] = []
    for part in text.split(","):
        lo_text, dash, hi_text = part.strip().partition("-")
        lo = parse_int(lo_text, at, f"a point index in {text!r}")
        hi = parse_int(hi_text, at, f"the end of range {part.strip()!r}") if dash else lo
        if not 0 <= lo <= hi < num_points:
            raise AnnotationError(f"{at}: expected point indices 0..{num_points - 1} (ranges a-b with a <= b), got {part.strip()!r}")
        for k in range(lo, hi + 1):
            if k in out:
                raise AnnotationError(f"{at}: expected each point index once, got {k} twice in {text!r}")
            out.append(k)
    return tuple(out)


def read_hidden_points(
    path: str | os.PathLike[str], *, holdout: str | os.PathLike[str] | None = None, num_points: int = 68
) -> list[HiddenPoints]:
    """The rows of an occlusion list, in file order (see the module docstring for the format and the checks)."""
    p = Path(path)
    faces = read_excluded_paths(holdout) if holdout is not None else None
    rows: list[HiddenPoints] = []
    seen: dict[str, dict[int, int]] = {}  # face -> point -> the line that listed it
    kinds_seen: dict[tuple[str, str], int] = {}
    for n, line in enumerate(read_text_lines(p), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        at = where(p, n)
        fields = line.split("\t")
        if len(fields) != FIELDS or not all(f.strip() for f in fields):
            raise AnnotationError(f"{at}: expected {FIELDS} tab-separated fields (face id, kind, indices, words), got {len(fields)}: {line[:60]!r}")
        face, kind, indices, note = (f.strip() for f in fields)
        if kind not in KINDS:
            raise AnnotationError(f"{at}: expected a kind among {', '.join(KINDS)}, got {kind!r}")
        if faces is not None and face not in faces:
            raise AnnotationError(f"{at}: expected a face id of {holdout}, got {face!r}")
        if (face, kind) in kinds_seen:
            raise AnnotationError(f"{at}: expected one {kind!r} row for {face}, got another (line {kinds_seen[face, kind]})")
        kinds_seen[face, kind] = n
        points = parse_indices(indices, at, num_points)
        listed = seen.setdefault(face, {})
        for k in points:
            if k in listed:
                raise AnnotationError(f"{at}: expected each point of {face} in one row, got {k} again (line {listed[k]})")
            listed[k] = n
        rows.append(HiddenPoints(face, kind, points, note, at))
    return rows


# ------------------------------------------------------------------------------------------------ scoring
#: The groups of faces the table reports: a name, the kinds whose rows put a face in it (None: no row at all) and
#: the kinds whose rows keep a face out (the occluded faces whose head is not turned as well).
GROUPS: tuple[tuple[str, tuple[str, ...] | None, tuple[str, ...]], ...] = (
    ("nothing listed", None, ()),
    ("something in front (any occluder)", OCCLUDERS, ()),
    ("of which the head is not turned", OCCLUDERS, ("self",)),
    ("of which hair", ("hair",), ()),
    ("of which hands, objects, people, headwear, sunglasses, tongue", tuple(k for k in OCCLUDERS if k != "hair"), ()),
    ("turned heads: far jaw (self)", ("self",), ()),
    ("off the photo (frame)", ("frame",), ()),
)


def hidden_masks(ids: list[str], rows: list[HiddenPoints], kinds: tuple[str, ...] | None, num_points: int = 68) -> tuple[np.ndarray, np.ndarray]:
    """``(listed, hidden)``: the points of each face in any row, and those in rows of ``kinds`` (all listed points
    for ``None``). Shape: ``-> (N, K), (N, K)`` bool."""
    where_ = {face: i for i, face in enumerate(ids)}
    listed = np.zeros((len(ids), num_points), bool)
    hidden = np.zeros_like(listed)
    for r in rows:
        if r.face in where_:
            listed[where_[r.face], list(r.indices)] = True
            if kinds is None or r.kind in kinds:
                hidden[where_[r.face], list(r.indices)] = True
    return listed, hidden


def real_occlusion_nme(
    pred: np.ndarray, gt: np.ndarray, ids: list[str], rows: list[HiddenPoints], kinds: tuple[str, ...] | None, without: tuple[str, ...] = ()
) -> dict[str, Any]:
    """NME (%, outer eye corners) of a model's points on the faces of one group (:data:`GROUPS`).

    ``kinds=None``: the faces with no row, all their points (``visible``). Otherwise the faces with a row of one of
    ``kinds`` and none of ``without``: ``visible``, the mean NME of their points in no row at all; ``hidden``, of the
    points those kinds hide; and as a control, ``visible_clean`` / ``hidden_clean``: the same point sets, face by
    face, measured on the faces with no row (the mean over those faces of the NME over face i's set, then the mean
    over i), so that a harder mix of points (e.g. the jaw) is not taken for the occluder's doing. ``faces``: the
    per-face visible / hidden NME (for paired comparisons) and ``clean_visible``, ``(n, C)``: face j of the C faces
    with no row measured over face i's visible points (for :func:`bootstrap_growth`).
    Shape: ``pred, gt (N, 68, 2)``, ``ids`` N face ids.
    """
    scheme = get_scheme("68")
    listed, hidden = hidden_masks(ids, rows, kinds)
    clean = ~listed.any(axis=1)

    def err(faces: np.ndarray, masks: np.ndarray | None) -> np.ndarray:
        return 100 * nme(pred[faces], gt[faces], scheme=scheme, norm="interocular", visible=masks)

    def on_clean_faces(masks: np.ndarray) -> np.ndarray:
        return np.stack([err(clean, np.broadcast_to(m, (int(clean.sum()), len(m)))) for m in masks])

    if kinds is None:
        e = err(clean, None)
        return {"n": int(clean.sum()), "visible": float(e.mean()), "faces": {"visible": e}}
    group = hidden.any(axis=1)
    if without:
        group &= ~hidden_masks(ids, rows, without)[1].any(axis=1)
    if not group.any():
        return {"n": 0}
    vis, hid = ~listed[group], hidden[group]
    e_vis, e_hid, c_vis = err(group, vis), err(group, hid), on_clean_faces(vis)
    return {"n": int(group.sum()), "visible": float(e_vis.mean()), "hidden": float(e_hid.mean()),
            "visible_clean": float(c_vis.mean()), "hidden_clean": float(on_clean_faces(hid).mean()),
            "faces": {"visible": e_vis, "hidden": e_hid, "clean_visible": c_vis}}


def bootstrap_growth(groups: list[dict[str, Any]], *, draws: int = 10000, seed: int = 0) -> np.ndarray:
    """How much worse the visible points of occluded faces are than the same points on the faces with nothing
    listed, ``100 (mean visible / mean visible_clean - 1)``, for each model's group (:func:`real_occlusion_nme`),
    under the same bootstrap draws for every model (occluded faces and clean faces drawn with replacement, apart), so
    that models can be compared draw by draw. Row 0 of the result is each model's growth on the faces as they are.
    Shape: ``-> (M, 1 + draws)``."""
    n, c = groups[0]["faces"]["clean_visible"].shape
    rng = np.random.default_rng(seed)
    occluded = np.vstack([np.arange(n), rng.integers(0, n, (draws, n))])
    clean = np.vstack([np.arange(c), rng.integers(0, c, (draws, c))])
    out = []
    for g in groups:
        v, cv = g["faces"]["visible"], g["faces"]["clean_visible"]
        clean_means = np.stack([cv[:, j].mean(axis=1) for j in clean])  # (1 + draws, n): face i's set on the drawn clean faces
        out.append(100 * (v[occluded].mean(axis=1) / np.take_along_axis(clean_means, occluded, axis=1).mean(axis=1) - 1))
    return np.stack(out)


def predict_entry(entry: str, samples: list, fives: list[np.ndarray], root: Path, *, flip_test: bool) -> tuple[str, dict[str, np.ndarray]]:
    """A model's label and its points for each face it scores, by face id. ``CONFIG[=CHECKPOINT]`` entries are scored
    as training scores them (:func:`benchmarks.human_slice.load_entry`: the config's ``human68`` slice, crops and flip
    test); registered names, checkpoints and graphs through :class:`facealign.Aligner` on ``samples``, each crop aligned
    on its ``fives`` (``flip_test`` as asked). Shape: ``-> {id: (68, 2)}``."""
    config, ckpt = parse_entry(entry)
    if config.endswith(".toml"):
        trainer = load_entry(entry)
        dataset = slice_dataset(trainer, SLICE)
        ids = [holdout_key(r.image_path, root) for r in dataset.records]
        label = f"{trainer.cfg.model} ({Path(config).stem}{'=' + str(ckpt) if ckpt else ''}, flip test {'on' if trainer.cfg.flip_test else 'off'})"
        return label, dict(zip(ids, trainer.predict(dataset)))
    from facealign.api import Aligner
    from facealign.imageio import read_image

    aligner = Aligner(entry, detector=None, flip_test=flip_test)
    pred = predict_aligned(aligner, [read_image(s.image_path) for s in samples], fives)
    return f"{model_label(entry)} (flip test {'on' if flip_test else 'off'})", dict(zip((holdout_key(s.image_path, root) for s in samples), pred))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True,
                    help="registered name, checkpoint / graph, or CONFIG[=CHECKPOINT] as benchmarks.human_slice takes them (repeatable)")
    ap.add_argument("--list", default=str(REPO / "configs/occluded_300w_human.tsv"), help="the faces' hidden points")
    ap.add_argument("--data", default=str(REPO / "../shared/data/300w_human"))
    ap.add_argument("--holdout", default=str(REPO / "configs/holdout_300w_human.txt"))
    ap.add_argument("--align-points", default=str(REPO / "runs/audit/retinaface5.json"))
    ap.add_argument("--flip-test", action=argparse.BooleanOptionalAction, default=True, help="for the entries run through Aligner")
    ap.add_argument("--paired", action="store_true", help="each model against the first, face by face")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    rows = read_hidden_points(args.list, holdout=args.holdout)
    samples, fives, source = load_faces(args.data, args.holdout, 0, args.align_points)
    root = Path(args.data)
    gt_by_id = {holdout_key(s.image_path, root): s.points for s in samples}
    models = [predict_entry(m, samples, fives, root, flip_test=args.flip_test) for m in args.model]
    ids = [i for i in gt_by_id if all(i in p for _, p in models)]
    gt = np.stack([gt_by_id[i] for i in ids])
    print(f"{len(ids)} of the {len(gt_by_id)} held-out faces of {args.data} scored by every model (Aligner entries: crops on the "
          f"{source} 5 points); hidden points from {args.list}\n")
    print("| model | faces | n | NME visible % | same points, faces with nothing listed % | visible growth % (95 % CI) | "
          "NME hidden % | same points, nothing listed % |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    results = []
    for label, by_id in models:
        pred = np.stack([by_id[i] for i in ids])
        per_group = {name: real_occlusion_nme(pred, gt, ids, rows, kinds, without) for name, kinds, without in GROUPS}
        results.append(per_group)
        for name, r in per_group.items():
            if not r["n"]:
                continue
            cells = [f"{r[k]:.2f}" if k in r else "-" for k in ("visible", "visible_clean", "growth", "hidden", "hidden_clean")]
            if "hidden" in r:
                g = bootstrap_growth([r])[0]
                cells[2] = f"{g[0]:+.1f} ({np.percentile(g[1:], 2.5):+.1f} .. {np.percentile(g[1:], 97.5):+.1f})"
            print(f"| {label} | {name} | {r['n']} | {' | '.join(cells)} |", flush=True)
    if args.paired:
        occluded = GROUPS[1][0]
        for (label, _), per_group in zip(models[1:], results[1:]):
            for name, part in (("nothing listed", "visible"), (occluded, "visible"), (occluded, "hidden")):
                d = paired_difference(per_group[name]["faces"][part], results[0][name]["faces"][part])
                print(f"{label} minus {models[0][0]}, {name}, {part} points: {d['mean']:+.3f} NME points (bootstrap 95 % CI "
                      f"{d['lo']:+.3f} .. {d['hi']:+.3f}), better on {d['better']} of {per_group[name]['n']} faces")
            g = bootstrap_growth([results[0][occluded], per_group[occluded]])
            d = g[1] - g[0]
            print(f"{label} minus {models[0][0]}, {occluded}, growth of the visible points: {d[0]:+.1f} % points (bootstrap 95 % CI "
                  f"{np.percentile(d[1:], 2.5):+.1f} .. {np.percentile(d[1:], 97.5):+.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
