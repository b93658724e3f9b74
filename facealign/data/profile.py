"""The CFP profile points in the 68-point iBUG scheme and the 5-point scheme: an explicit correspondence.

CFP's 30 points (:mod:`facealign.data.readers.cfp`; the release documents no scheme) were read off the
photos with their numbers drawn on them (2026-12-04, profiles facing either way, 1-based as in the files):
1-9 the visible jaw line from the ear (1) to the chin (9); 10-12 the brow, back to front; 13-18 the eye,
13 its outer (back) corner, 14-15 the upper lid, 16 its inner (front) corner, 17-18 the lower lid;
19-23 the nose profile from the bridge (19) to the tip (22) and below it (23); 24-25 the nostril and its
wing; 26 the visible mouth corner; 27-30 the lips' profile.

Only points whose meaning is the 300-W definition's without doubt are mapped: the visible eye's outer and
inner corners, the nose tip, the visible mouth corner and the chin. Not mapped (NaN): the jaw line 1-8
(300-W's jaw points of a profile follow the silhouette, CFP's run from the ear, and the spacing differs),
the brow (three points against five, the ends unclear), the lids (the order of 17 / 18 is not the same on
every photo), the nose bridge and wings, and the lips' profile (300-W marks the mid-lip points on the
face's midline, which in a profile is the silhouette, while CFP's lip points sit where the lips meet it
at other places).

Which side is visible: a face whose nose tip (22) lies right of its ear point (1) in the image looks to the
viewer's right, and shows the eye that is the viewer's left one in a frontal photo (68-point indices
36-41, outer corner 36, inner 39; mouth corner 48); a face looking left shows the other one (45 outer,
42 inner; mouth corner 54). The chin (8) and the nose tip (30) are on the midline.
"""

from __future__ import annotations

import numpy as np

from .readers.cfp import CFP_POINTS

__all__ = ["CFP_EAR", "CFP_NOSE_TIP", "CFP_TO_68", "cfp_looks_right", "cfp_to_five", "cfp_to_68"]

#: 0-based CFP indices of the ear point (start of the jaw line) and the nose tip.
CFP_EAR = 0
CFP_NOSE_TIP = 21
#: 0-based CFP eye contour (13-18 in the files), averaged for the 5-point scheme's eye centre.
CFP_EYE = tuple(range(12, 18))
#: 0-based CFP index -> 0-based 68-point index, for a face looking to the viewer's right / left.
CFP_TO_68: dict[str, dict[int, int]] = {
    "right": {12: 36, 15: 39, 21: 30, 25: 48, 8: 8},
    "left": {12: 45, 15: 42, 21: 30, 25: 54, 8: 8},
}


def _check(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (CFP_POINTS, 2):
        raise ValueError(f"expected CFP points of shape ({CFP_POINTS}, 2), got {p.shape}")
    return p


def cfp_looks_right(points: np.ndarray) -> bool:
    """True when the profile looks to the viewer's right: its nose tip is right of its ear point.
    Shape: ``(30, 2) -> bool``."""
    p = _check(points)
    return bool(p[CFP_NOSE_TIP, 0] > p[CFP_EAR, 0])


def cfp_to_68(points: np.ndarray) -> np.ndarray:
    """The CFP points that correspond to 68-point ones (:data:`CFP_TO_68`), NaN elsewhere.
    Shape: ``(30, 2) -> (68, 2)``."""
    p = _check(points)
    out = np.full((68, 2), np.nan)
    for src, dst in CFP_TO_68["right" if cfp_looks_right(p) else "left"].items():
        out[dst] = p[src]
    return out


def cfp_to_five(points: np.ndarray) -> np.ndarray:
    """The visible eye's centre (mean of the CFP eye contour 13-18, as the 68 scheme's eye centre is the
    mean of its eye contour), the nose tip and the visible mouth corner in the 5-point scheme (left eye,
    right eye, nose, left mouth corner, right mouth corner as seen), NaN for the hidden eye and corner.
    Shape: ``(30, 2) -> (5, 2)``."""
    p = _check(points)
    out = np.full((5, 2), np.nan)
    right = cfp_looks_right(p)
    out[0 if right else 1] = p[list(CFP_EYE)].mean(axis=0)
    out[2] = p[CFP_NOSE_TIP]
    out[3 if right else 4] = p[25]
    return out
