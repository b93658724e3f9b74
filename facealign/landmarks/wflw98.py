"""The 98-point WFLW scheme (Wu et al., "Look at Boundary", CVPR 2018). 0-based, as in the files.

Layout (left = viewer's left, i.e. smaller x in a frontal face):

* 0-32 contour, from the viewer's left temple down round the chin to the right temple (16 = chin);
* 33-41 left brow: 33-37 upper edge outer -> inner, 38-41 lower edge inner -> outer;
  42-50 right brow: 42-46 upper edge inner -> outer, 47-50 lower edge outer -> inner;
* 51-54 nose bridge top -> tip (54 = nose tip); 55-59 nose base, left -> right (57 = centre);
* 60-67 left eye: 60 outer corner, 61-63 upper lid, 64 inner corner, 65-67 lower lid (inner -> outer);
  68-75 right eye: 68 inner corner, 69-71 upper lid, 72 outer corner, 73-75 lower lid (outer -> inner);
* 76-87 outer lip: 76 left corner, 77-81 upper, 82 right corner, 83-87 lower (right -> left);
  88-95 inner lip: 88 left corner, 89-91 upper, 92 right corner, 93-95 lower (right -> left);
* 96 left pupil, 97 right pupil.

The flip pairs agree with the ones used by HRNet-Facial-Landmark-Detection for WFLW; they were
checked on the real WFLW sample rows (``tests/landmarks/test_schemes.py``).

Boundaries: PropagationNet (Huang et al., CVPR 2020, Sec. 3.1) links "landmarks lying on the jawline
... to make contour boundary, those denoting the lower lip ... another boundary, and so forth", with
M = 15 in total, but does not list them. We take the 13 LAB-style boundaries that public boundary
code draws for WFLW (e.g. AdaptiveWingLoss: contour, the upper edge of each brow, nose bridge, nose
base, four eyelids, four lip edges) and add the lower edge of each brow, which WFLW annotates
separately (38-41, 47-50) and which would otherwise lie on no boundary: 15. Every point but the two
pupils lies on a boundary.
"""

from .scheme import Boundary, LandmarkScheme

_NAMES = (
    [f"contour_{i}" for i in range(33)]
    + [f"brow_left_upper_{i}" for i in range(5)]
    + [f"brow_left_lower_{i}" for i in range(4)]
    + [f"brow_right_upper_{i}" for i in range(5)]
    + [f"brow_right_lower_{i}" for i in range(4)]
    + [f"nose_bridge_{i}" for i in range(4)]
    + [f"nose_base_{i}" for i in range(5)]
    + [f"eye_left_{i}" for i in range(8)]
    + [f"eye_right_{i}" for i in range(8)]
    + [f"lip_outer_{i}" for i in range(12)]
    + [f"lip_inner_{i}" for i in range(8)]
    + ["pupil_left", "pupil_right"]
)

# Mirror pairs (i, j): after a horizontal flip, point i of the new face is point j of the old one.
# Points left out (centre line: 16, 51-54, 57, 79, 85, 90, 94) map to themselves.
_PAIRS = (
    [(i, 32 - i) for i in range(16)]  # contour
    + [(33 + i, 46 - i) for i in range(5)]  # brow upper edges: outer 33 <-> outer 46
    + [(38 + i, 50 - i) for i in range(4)]  # brow lower edges: inner 38 <-> inner 50
    + [(55, 59), (56, 58)]  # nose base
    + [(60 + i, 72 - i) for i in range(5)]  # eye corners and upper lids: outer 60 <-> outer 72
    + [(65, 75), (66, 74), (67, 73)]  # lower lids
    + [(76, 82), (77, 81), (78, 80), (83, 87), (84, 86)]  # outer lip
    + [(88, 92), (89, 91), (93, 95)]  # inner lip
    + [(96, 97)]  # pupils
)


def _flip_index() -> tuple[int, ...]:
    idx = list(range(98))
    for a, b in _PAIRS:
        idx[a], idx[b] = b, a
    return tuple(idx)


WFLW98 = LandmarkScheme(
    name="98",
    names=tuple(_NAMES),
    flip_index=_flip_index(),
    interocular=(60, 72),
    left_eye=(96,),
    right_eye=(97,),
    five_point=((96,), (97,), (54,), (76,), (82,)),
    boundaries=(
        Boundary("contour", tuple(range(0, 33))),
        Boundary("brow_left_upper", (33, 34, 35, 36, 37)),
        Boundary("brow_left_lower", (33, 41, 40, 39, 38, 37)),
        Boundary("brow_right_upper", (42, 43, 44, 45, 46)),
        Boundary("brow_right_lower", (42, 50, 49, 48, 47, 46)),
        Boundary("nose_bridge", (51, 52, 53, 54)),
        Boundary("nose_base", (55, 56, 57, 58, 59)),
        Boundary("eyelid_left_upper", (60, 61, 62, 63, 64)),
        Boundary("eyelid_left_lower", (60, 67, 66, 65, 64)),
        Boundary("eyelid_right_upper", (68, 69, 70, 71, 72)),
        Boundary("eyelid_right_lower", (68, 75, 74, 73, 72)),
        Boundary("lip_upper_outer", (76, 77, 78, 79, 80, 81, 82)),
        Boundary("lip_upper_inner", (88, 89, 90, 91, 92)),
        Boundary("lip_lower_inner", (88, 95, 94, 93, 92)),
        Boundary("lip_lower_outer", (76, 87, 86, 85, 84, 83, 82)),
    ),
)
