"""Evaluate predicted landmarks against ground truth lists: match faces, reduce schemes, tabulate.

``evaluate(pred, gt)`` takes two lists of :class:`~facealign.types.Sample` (one per face), pairs
them up and measures them with :mod:`facealign.metrics`:

1. **Images** are matched by path (:func:`~facealign.evaluation.matching.match_images`): the resolved
   absolute path, else the path relative to its list's folder, else the bare file name.
2. **Faces** within a matched image are paired by the package's one rule
   (:func:`~facealign.evaluation.matching.match_faces`): a prediction is found when the centroid of its
   points (in the common scheme below) lies in the ground-truth face's box (``Sample.box``, else the
   tight box of its points), one to one. A prediction whose centroid leaves the box is a face not
   found, counted in :attr:`EvalResult.unmatched` (and printed by :func:`format_table`), not scored.
3. **Schemes**: where prediction and ground truth use different landmark schemes both are reduced
   to a common one with :func:`facealign.landmarks.convert_points`: the smallest scheme all of them
   convert to (98 -> 68 for WFLW vs 300-W), else the 5 points (eye centres, nose tip, mouth
   corners). The box normaliser keeps using the full ground-truth box.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import landmarks
from ..metrics import NORMS, WFLW_ATTRIBUTES, nme, plot_ced, subset_breakdown
from ..types import Box, Sample
from .matching import FaceMatch, face_centroids, match_faces, match_images, path_keys

__all__ = ["EvalResult", "evaluate", "evaluate_files", "format_table", "match_samples"]

FIVE = "5"


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    nmes: ``(M,)`` per matched face, in ground-truth order; sources: the GT ``Sample.source`` of
    each; summary: ``{"nme", "fr", "auc", "count"}`` over all of them; subsets: the same per
    attribute subset present in the ground truth, plus ``"full"``; unmatched: ground-truth faces
    with no prediction; unmatched_pred: predictions with no ground truth; scheme: the scheme the
    points were compared in; gt_scheme / pred_scheme: the schemes as read.
    """

    nmes: np.ndarray
    summary: dict[str, float]
    subsets: dict[str, dict[str, float]]
    unmatched: int
    unmatched_pred: int
    scheme: str
    norm: str
    threshold: float
    gt_scheme: str = ""
    pred_scheme: str = ""
    sources: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- schemes


def _can_convert(src: str, dst: str) -> bool:
    return src == dst or landmarks.can_convert(src, dst)


def _common_scheme(schemes: set[str]) -> str:
    """One scheme every scheme in ``schemes`` converts to: the smallest such one, else "5"."""
    if len(schemes) == 1:
        return next(iter(schemes))
    known = [s for s in schemes if s in landmarks.SCHEMES]
    for target in sorted(known, key=lambda s: landmarks.get_scheme(s).num_points):
        if all(_can_convert(s, target) for s in schemes):
            return target
    unknown = sorted(s for s in schemes if s not in landmarks.SCHEMES)
    if unknown:
        raise ValueError(
            f"cannot compare landmark schemes {sorted(schemes)}: scheme(s) {unknown} are not registered in "
            f"facealign.landmarks (known: {sorted(landmarks.SCHEMES, key=int)})"
        )
    return FIVE


def _reduce(points: np.ndarray, visible: np.ndarray | None, src: str, dst: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Points ``(K, 2)`` (and visibility ``(K,)``) of scheme ``src`` expressed in scheme ``dst``.

    A 5-point group (a mean of several points) is visible only where all its members are; the
    98 -> 68 subset keeps the visibility of the points it selects.
    """
    if src == dst:
        return points, visible
    pts = np.asarray(landmarks.convert_points(points, src, dst), dtype=np.float64)
    if visible is None:
        return pts, None
    if dst == FIVE:
        groups = landmarks.get_scheme(src).five_point
        return pts, np.array([bool(np.all(visible[list(g)])) for g in groups])
    if (src, dst) == ("98", "68"):
        return pts, visible[list(landmarks.WFLW98_TO_IBUG68)]
    return pts, None  # a conversion that blends points: visibility unknown, every point counts


# ----------------------------------------------------------------------------- matching


def _face_box(sample: Sample) -> np.ndarray:
    """The ground-truth face's box: the annotation's own, else the tight box of its points."""
    return (sample.box if sample.box is not None else Box.from_points(sample.points)).as_array()


def match_samples(
    pred: Sequence[Sample],
    gt: Sequence[Sample],
    *,
    pred_root: str | os.PathLike[str] | None = None,
    gt_root: str | os.PathLike[str] | None = None,
    scheme: str | None = None,
) -> FaceMatch:
    """Pair predicted faces with ground-truth faces: images by path, faces by the package's rule.

    ``pred_root`` / ``gt_root`` are the folders the lists' relative paths are relative to.
    ``scheme`` is the scheme the predictions' centroids are taken in (default: the common scheme of both).
    """
    pred_root_p = Path(pred_root) if pred_root is not None else None
    gt_root_p = Path(gt_root) if gt_root is not None else None
    if scheme is None:
        scheme = _common_scheme({s.scheme for s in pred} | {s.scheme for s in gt})
    pred_keys = [path_keys(s.image_path, pred_root_p) for s in pred]
    gt_keys = [path_keys(s.image_path, gt_root_p) for s in gt]
    pairs: list[tuple[int, int]] = []
    for pi, gi in match_images(pred_keys, gt_keys):
        centroids = face_centroids([_reduce(pred[i].points, None, pred[i].scheme, scheme)[0] for i in pi])
        m = match_faces(centroids, np.stack([_face_box(gt[j]) for j in gi]))
        pairs += [(pi[a], gi[b]) for a, b in m.pairs]
    return FaceMatch.of(pairs, len(pred), len(gt))


# ----------------------------------------------------------------------------- evaluation


def evaluate(
    pred: Sequence[Sample],
    gt: Sequence[Sample],
    *,
    norm: str = "interocular",
    threshold: float = 0.1,
    pred_root: str | os.PathLike[str] | None = None,
    gt_root: str | os.PathLike[str] | None = None,
) -> EvalResult:
    """Match ``pred`` faces to ``gt`` faces and measure NME / FR / AUC (see the module docstring).

    Args:
        pred, gt: one :class:`Sample` per face; ``gt.visible`` (if any) masks points, ``gt.box``
            (if any) is the box of the box norms, ``gt.attributes`` gives the WFLW subsets.
        norm: ``"interocular" | "interpupil" | "box" | "diagonal"`` (:func:`facealign.metrics.normalizer`).
        threshold: failure / AUC threshold (0.1 for 300-W and WFLW, 0.08 for JD-106).
        pred_root, gt_root: the folders relative image paths in each list are relative to.

    Raises:
        ValueError: empty input, bad norm, incomparable schemes, or no face matched at all.
    """
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; expected one of {NORMS}")
    if len(gt) == 0:
        raise ValueError("evaluate: the ground truth holds no faces")
    if len(pred) == 0:
        raise ValueError(f"evaluate: the predictions hold no faces (ground truth has {len(gt)})")
    gt_schemes, pred_schemes = {s.scheme for s in gt}, {s.scheme for s in pred}
    scheme = _common_scheme(gt_schemes | pred_schemes)
    m = match_samples(pred, gt, pred_root=pred_root, gt_root=gt_root, scheme=scheme)
    if not m.pairs:
        raise ValueError(
            f"evaluate: no prediction matched a ground-truth face (by image path, then its centroid in the face's box); e.g. prediction "
            f"{str(pred[0].image_path)!r} vs ground truth {str(gt[0].image_path)!r}"
        )
    p_pts, g_pts, vis, boxes, attrs, sources = [], [], [], [], [], []
    any_vis = any(gt[j].visible is not None for _, j in m.pairs)
    for i, j in m.pairs:
        ps, gs = pred[i], gt[j]
        pp, _ = _reduce(ps.points, None, ps.scheme, scheme)
        gp, gv = _reduce(gs.points, gs.visible, gs.scheme, scheme)
        if pp.shape != gp.shape:
            raise ValueError(
                f"{ps.source or ps.image_path}: prediction has {pp.shape[0]} points in scheme {scheme}, "
                f"ground truth {gs.source or gs.image_path} has {gp.shape[0]}"
            )
        p_pts.append(pp)
        g_pts.append(gp)
        vis.append(gv if gv is not None else np.ones(len(gp), dtype=bool))
        # the box norms use the full ground-truth face, whatever scheme the points are compared in
        boxes.append(gs.box if gs.box is not None else Box.from_points(gs.points))
        attrs.append(dict(gs.attributes))
        sources.append(gs.source or str(gs.image_path))
    scheme_arg = scheme if scheme in landmarks.SCHEMES else None
    errs = nme(
        np.stack(p_pts), np.stack(g_pts), scheme=scheme_arg, norm=norm,
        visible=np.stack(vis) if any_vis else None, boxes=boxes,
    )
    names = [n for n in WFLW_ATTRIBUTES if any(n in a for a in attrs)]
    # other attributes make subsets only when they are 0/1 flags (not e.g. a video's frame number)
    flags = {k for a in attrs for k in a} - set(names)
    names += sorted(k for k in flags if all(a.get(k, 0) in (0, 1) for a in attrs))
    subsets = subset_breakdown(errs, attrs, names=names, threshold=threshold)
    return EvalResult(
        nmes=errs,
        summary=subsets["full"],
        subsets=subsets,
        unmatched=len(m.unmatched_gt),
        unmatched_pred=len(m.unmatched_pred),
        scheme=scheme,
        norm=norm,
        threshold=float(threshold),
        gt_scheme=",".join(sorted(gt_schemes, key=lambda s: (len(s), s))),
        pred_scheme=",".join(sorted(pred_schemes, key=lambda s: (len(s), s))),
        sources=sources,
    )


def format_table(result: EvalResult) -> str:
    """A readable table: one row per subset (``full`` first) with faces, NME %, FR %, AUC."""
    t = result.threshold
    head = f"{'subset':<14}{'faces':>7}{'NME (%)':>10}{f'FR@{t:g} (%)':>14}{f'AUC@{t:g}':>11}"
    note = ""
    if result.scheme != result.gt_scheme or result.scheme != result.pred_scheme:
        note = f" (pred {result.pred_scheme} vs gt {result.gt_scheme} points, compared as {result.scheme})"
    lines = [f"scheme {result.scheme}{note}, norm {result.norm}", head, "-" * len(head)]
    for name, s in result.subsets.items():
        if s["count"] == 0:
            lines.append(f"{name:<14}{0:>7}{'-':>10}{'-':>14}{'-':>11}")
        else:
            lines.append(f"{name:<14}{s['count']:>7}{100 * s['nme']:>10.3f}{100 * s['fr']:>14.2f}{s['auc']:>11.4f}")
    lines.append(
        f"unmatched: {result.unmatched} ground-truth face(s) without a prediction (not scored), "
        f"{result.unmatched_pred} prediction(s) without ground truth"
    )
    return "\n".join(lines)


def _list_root(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def evaluate_files(
    pred_path: str | os.PathLike[str],
    gt_path: str | os.PathLike[str],
    *,
    norm: str = "interocular",
    threshold: float = 0.1,
    ced_png: str | os.PathLike[str] | None = None,
) -> EvalResult:
    """Read predictions and ground truth from files and :func:`evaluate` them.

    ``pred_path``: a ``.jsonl`` / ``.json`` file written by ``facealign detect --json`` (read with
    ``read_predictions_jsonl``) or any annotation format ``read_annotations`` knows (e.g. a
    ``PATH x1 y1 ...`` list). ``gt_path``: any annotation file or folder. ``ced_png``: also draw
    the CED curve there. Relative image paths in a ``.jsonl`` are as ``detect`` wrote them, i.e.
    relative to the working directory; failing that they match the ground truth by the same path
    relative to its folder, else by file name.
    """
    from ..data.readers import read_annotations, read_predictions_jsonl

    # Absolute list paths, so that the readers' image paths (list folder / PATH) are absolute too.
    pred_path, gt_path = Path(pred_path).absolute(), Path(gt_path).absolute()
    for what, p in (("predictions", pred_path), ("ground truth", gt_path)):
        if not p.exists():
            raise FileNotFoundError(f"{what} file not found: {p}")
    # Scoring reads points only, never pixels: the images need not be present.
    if pred_path.suffix.lower() in (".jsonl", ".json"):
        pred = read_predictions_jsonl(pred_path)
        pred_root = Path.cwd()  # detect --json writes image paths as given on its command line
    else:
        pred = read_annotations(pred_path, check_images=False)
        pred_root = _list_root(pred_path)
    gt = read_annotations(gt_path, check_images=False)
    result = evaluate(pred, gt, norm=norm, threshold=threshold, pred_root=pred_root, gt_root=_list_root(gt_path))
    if ced_png is not None:
        plot_ced({pred_path.name: result.nmes}, ced_png, threshold, title=f"CED vs {gt_path.name} ({norm})")
    return result
