"""The 29-point COFW scheme (Burgos-Artizzu et al., ICCV 2013; the LFPW 29-point layout).

0-based here; the ``.mat`` files are 1-based (``phisT``: 29 x, 29 y, 29 occlusion flags), converted
by the reader. Left = viewer's left (smaller x in a frontal face). Points come in left/right pairs,
left first, then the centre line:

====  =======================  ====  =========================
0, 1  brow outer corners       16,17 pupils (the eye centres)
2, 3  brow inner corners       18,19 nose wings (alae)
4, 5  left brow top, bottom    20    nose tip
6, 7  right brow top, bottom   21    nose base (subnasale)
8, 9  eye outer corners        22,23 mouth corners
10,11 eye inner corners        24,25 upper lip top, bottom
12,13 left eye top, bottom     26,27 lower lip top, bottom
14,15 right eye top, bottom    28    chin
====  =======================  ====  =========================

The flip pairs agree with HRNet-Facial-Landmark-Detection's COFW pairs (1-based there) and were
checked on the real COFW sample (``tests/landmarks/test_schemes.py``). The inter-ocular pair is the
outer eye corners (8, 9), as in HRNet's COFW evaluation; papers that report COFW by inter-pupil
distance use the eye centres, which here are the annotated pupils 16 and 17.

Boundaries (our choice; no paper fixes them for 29 points): each brow as a closed loop through its
four points, the four eyelid edges (outer corner -> lid midpoint -> inner corner), the nose base
through the wings and the subnasale, and the four lip edges between the mouth corners: 11 in all.
COFW has a single contour point (the chin), so there is no contour boundary.
"""

from .scheme import Boundary, LandmarkScheme

_NAMES = (
    "brow_left_outer",
    "brow_right_outer",
    "brow_left_inner",
    "brow_right_inner",
    "brow_left_top",
    "brow_left_bottom",
    "brow_right_top",
    "brow_right_bottom",
    "eye_left_outer",
    "eye_right_outer",
    "eye_left_inner",
    "eye_right_inner",
    "eye_left_top",
    "eye_left_bottom",
    "eye_right_top",
    "eye_right_bottom",
    "pupil_left",
    "pupil_right",
    "nose_left",
    "nose_right",
    "nose_tip",
    "nose_base",
    "mouth_left",
    "mouth_right",
    "lip_upper_top",
    "lip_upper_bottom",
    "lip_lower_top",
    "lip_lower_bottom",
    "chin",
)

# Mirror pairs; 20, 21 and 24-28 lie on the centre line and map to themselves.
_PAIRS = ((0, 1), (2, 3), (4, 6), (5, 7), (8, 9), (10, 11), (12, 14), (13, 15), (16, 17), (18, 19), (22, 23))


def _flip_index() -> tuple[int, ...]:
    idx = list(range(29))
    for a, b in _PAIRS:
        idx[a], idx[b] = b, a
    return tuple(idx)


COFW29 = LandmarkScheme(
    name="29",
    names=_NAMES,
    flip_index=_flip_index(),
    interocular=(8, 9),
    left_eye=(16,),
    right_eye=(17,),
    five_point=((16,), (17,), (20,), (22,), (23,)),
    boundaries=(
        Boundary("brow_left", (0, 4, 2, 5), closed=True),
        Boundary("brow_right", (1, 6, 3, 7), closed=True),
        Boundary("eyelid_left_upper", (8, 12, 10)),
        Boundary("eyelid_left_lower", (8, 13, 10)),
        Boundary("eyelid_right_upper", (9, 14, 11)),
        Boundary("eyelid_right_lower", (9, 15, 11)),
        Boundary("nose_base", (18, 21, 19)),
        Boundary("lip_upper_outer", (22, 24, 23)),
        Boundary("lip_upper_inner", (22, 25, 23)),
        Boundary("lip_lower_inner", (22, 26, 23)),
        Boundary("lip_lower_outer", (22, 27, 23)),
    ),
)
