"""Validation protocols of hard faces (issue 20), scored every epoch by the trainer and by
``benchmarks/hard_faces.py``: the same faces, ground truth and normalisers in both.

* ``val``: ``faces/val5.txt`` (people's 5 points, eye-centre NME) and ``val68.txt`` (the teacher's 68
  points, outer-eye-corner NME): the trainer's validation set (:meth:`Trainer.validate`).
* ``human68``: the held-out ``300w_human`` faces (``data.human68_val``): people's 68 points, NME over the
  outer eye corners (300-W's normaliser), failure at 10 %.
* ``small``: the ``val5`` photos downscaled (area filter) so that the aligned crop spans
  ``data.small_face_px`` photo pixels (80 px: about 19 px between the eye centres), the detector's points
  scaled with them (a deviation: the detector is not run again on the small photo); scored as ``val5``.
* ``profile``: the held-out CFP people (``data.profile_val``): the points with a 68-point counterpart
  (:mod:`facealign.data.profile`), NME normalised by the face size ``sqrt(w h)`` of the box of the 30 CFP
  points (profiles have one visible eye: no eye distance), failure at :data:`PROFILE_FAILURE`.

Faces the detector did not find (no entry in the ``align_points`` table) are left out of ``human68``
and ``profile``: at inference they would give no face at all. The faces of each protocol are chosen by
:func:`facealign.data.build.build_datasets` (:class:`~facealign.data.build.ValidationSet`); this module scores them.
"""

from __future__ import annotations

import numpy as np

from ..data.records import FaceRecord
from ..landmarks import LandmarkScheme, get_scheme
from ..landmarks.five import FIVE
from ..metrics import auc, failure_rate, nme
from ..types import Box

__all__ = [
    "FAILURE",
    "PROFILE_FAILURE",
    "face_errors",
    "paired_difference",
    "score_points",
    "summarise",
]

#: Failure threshold of the eye-normalised protocols (NME > 10 %).
FAILURE = 0.1
#: Failure threshold of the profile protocol, as a fraction of the face size sqrt(w h) of the CFP points'
#: box. On frontal 300-W faces the outer-eye-corner distance is 0.62 of the 68 points' box size (median of
#: 300 Helen faces), and CFP's box, reaching back to the ear, is larger still: 5 % of it is about as strict
#: as 10 % of an eye distance.
PROFILE_FAILURE = 0.05


def face_errors(
    kind: str, pred: np.ndarray, records: list[FaceRecord], scheme: str | LandmarkScheme, *, boxes: list[Box] | None = None
) -> tuple[np.ndarray, float]:
    """Each face's NME (a fraction of the protocol's normaliser) of predictions ``pred`` (image pixels, the
    model's scheme) against the records' ground truth, and the protocol's failure threshold. ``kind``:
    ``"five"`` (the 5 points, eye-centre distance), ``"dense"`` (every point, outer eye corners) or
    ``"profile"`` (face size of ``boxes``, by default the records' own ``box``). Shape: ``pred (N, K, 2)``
    -> ``(N,)``."""
    sch = get_scheme(scheme)
    gt = np.stack([r.points for r in records])
    if kind == "five":
        five = np.stack([r.five if r.five is not None else sch.to_five(r.points) for r in records])
        return nme(sch.to_five(pred) if sch.num_points != 5 else pred, five, scheme=FIVE, norm="interocular"), FAILURE
    if kind == "dense":
        return nme(pred, gt, scheme=sch, norm="interocular"), FAILURE
    if kind == "profile":
        boxes = [r.box for r in records] if boxes is None else boxes
        if len(boxes) != len(records) or any(b is None for b in boxes):
            given = sum(b is not None for b in boxes)
            raise ValueError(f"profile scoring needs one box per face (boxes= or the records' box), got {given} for {len(records)}")
        return nme(pred, gt, scheme=sch, norm="box", boxes=boxes), PROFILE_FAILURE
    raise ValueError(f"unknown protocol kind {kind!r}; expected 'five', 'dense' or 'profile'")


def score_points(
    kind: str, pred: np.ndarray, records: list[FaceRecord], scheme: str | LandmarkScheme, *, boxes: list[Box] | None = None
) -> dict[str, float]:
    """:func:`summarise` of the :func:`face_errors` of ``pred`` (same arguments)."""
    return summarise(*face_errors(kind, pred, records, scheme, boxes=boxes))


def summarise(errors: np.ndarray, threshold: float) -> dict[str, float]:
    """``nme`` (%, mean), ``fr`` (% of faces above ``threshold``) and ``auc`` (% of the CED area up to it) of
    per-face errors (fractions, :func:`face_errors`). Shape: ``(N,)``."""
    e = np.asarray(errors, dtype=np.float64)
    return {"nme": 100 * float(np.mean(e)), "fr": 100 * failure_rate(e, threshold=threshold), "auc": 100 * auc(e, threshold=threshold)}


def paired_difference(a: np.ndarray, b: np.ndarray, *, draws: int = 10000, seed: int = 0) -> dict[str, float]:
    """``a - b`` face by face (two methods' per-face errors on the same faces): ``mean``, the bootstrap 95 %
    interval of the mean (``lo``, ``hi``; faces drawn with replacement ``draws`` times) and ``better``, the
    faces where ``a`` is lower. Shape: ``(N,), (N,)``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"expected two equal non-empty (N,) arrays, got {a.shape} and {b.shape}")
    d = a - b
    means = d[np.random.default_rng(seed).integers(0, len(d), (draws, len(d)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float(d.mean()), "lo": float(lo), "hi": float(hi), "better": int((d < 0).sum())}
