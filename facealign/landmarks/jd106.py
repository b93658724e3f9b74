"""The 106-point JD-landmark scheme (Liu et al., "Grand Challenge of 106-Point Facial Landmark
Localization", ICME 2019; also used by LaPa). 0-based, as in the files.

Layout (left = viewer's left, i.e. smaller x in a frontal face):

* 0-32 contour, viewer's left -> right (16 = chin);
* 33-50 brows, numbered as WFLW's: 33-37 left upper edge outer -> inner, 38-41 left lower edge
  inner -> outer, 42-46 right upper edge inner -> outer, 47-50 right lower edge outer -> inner;
* 51-54 nose bridge, top -> tip (54 = nose tip);
* 55-65 nose outline, from beside the left eye's inner corner down the left side of the nose, round
  the nostrils and the base (60 = centre, under the tip) and up the right side to beside the right
  eye's inner corner;
* 66-73 left eye: 66 outer corner, 67-69 upper lid, 70 inner corner, 71-73 lower lid (inner -> outer);
  74 left eye centre; 75-82 right eye: 75 inner corner, 76-78 upper lid, 79 outer corner, 80-82
  lower lid (outer -> inner); 83 right eye centre;
* 84-95 outer lip: 84 left corner, 85-89 upper, 90 right corner, 91-95 lower (right -> left);
  96-103 inner lip: 96 left corner, 97-99 upper, 100 right corner, 101-103 lower (right -> left);
* 104 left pupil, 105 right pupil.

In the real annotations (``samples/jd106``) the eye centres 74/83 and the pupils 104/105 are the
same coordinates; we use the pupils as the eye centres. The flip pairs agree with the 106-point
flip lists of public training code (e.g. Alibaba EasyCV's face-keypoint pipeline) and were checked
on the real samples (``tests/landmarks/test_schemes.py``).

Boundaries (our choice, the WFLW set of 15 carried over since the two schemes share contour, brows,
nose bridge, eyes and lips): contour, the upper and lower edge of each brow, nose bridge, the nose
outline 55-65 (JD-106's counterpart of the nose base; it also runs up the sides of the nose), four
eyelids and four lip edges. Every point except the eye centres and pupils lies on one.
"""

from .scheme import Boundary, LandmarkScheme

_NAMES = (
    [f"contour_{i}" for i in range(33)]
    + [f"brow_left_upper_{i}" for i in range(5)]
    + [f"brow_left_lower_{i}" for i in range(4)]
    + [f"brow_right_upper_{i}" for i in range(5)]
    + [f"brow_right_lower_{i}" for i in range(4)]
    + [f"nose_bridge_{i}" for i in range(4)]
    + [f"nose_outline_{i}" for i in range(11)]
    + [f"eye_left_{i}" for i in range(8)]
    + ["eye_left_centre"]
    + [f"eye_right_{i}" for i in range(8)]
    + ["eye_right_centre"]
    + [f"lip_outer_{i}" for i in range(12)]
    + [f"lip_inner_{i}" for i in range(8)]
    + ["pupil_left", "pupil_right"]
)

# Mirror pairs; the centre line (16, 51-54, 60, 87, 93, 98, 102) maps to itself.
_PAIRS = (
    [(i, 32 - i) for i in range(16)]  # contour
    + [(33 + i, 46 - i) for i in range(5)]  # brow upper edges: outer 33 <-> outer 46
    + [(38 + i, 50 - i) for i in range(4)]  # brow lower edges: inner 38 <-> inner 50
    + [(55 + i, 65 - i) for i in range(5)]  # nose outline
    + [(66 + i, 79 - i) for i in range(5)]  # eye corners and upper lids: outer 66 <-> outer 79
    + [(71, 82), (72, 81), (73, 80), (74, 83)]  # lower lids, eye centres
    + [(84, 90), (85, 89), (86, 88), (91, 95), (92, 94)]  # outer lip
    + [(96, 100), (97, 99), (101, 103)]  # inner lip
    + [(104, 105)]  # pupils
)


def _flip_index() -> tuple[int, ...]:
    idx = list(range(106))
    for a, b in _PAIRS:
        idx[a], idx[b] = b, a
    return tuple(idx)


JD106 = LandmarkScheme(
    name="106",
    names=tuple(_NAMES),
    flip_index=_flip_index(),
    interocular=(66, 79),
    left_eye=(104,),
    right_eye=(105,),
    five_point=((104,), (105,), (54,), (84,), (90,)),
    boundaries=(
        Boundary("contour", tuple(range(0, 33))),
        Boundary("brow_left_upper", (33, 34, 35, 36, 37)),
        Boundary("brow_left_lower", (33, 41, 40, 39, 38, 37)),
        Boundary("brow_right_upper", (42, 43, 44, 45, 46)),
        Boundary("brow_right_lower", (42, 50, 49, 48, 47, 46)),
        Boundary("nose_bridge", (51, 52, 53, 54)),
        Boundary("nose_outline", tuple(range(55, 66))),
        Boundary("eyelid_left_upper", (66, 67, 68, 69, 70)),
        Boundary("eyelid_left_lower", (66, 73, 72, 71, 70)),
        Boundary("eyelid_right_upper", (75, 76, 77, 78, 79)),
        Boundary("eyelid_right_lower", (75, 82, 81, 80, 79)),
        Boundary("lip_upper_outer", (84, 85, 86, 87, 88, 89, 90)),
        Boundary("lip_upper_inner", (96, 97, 98, 99, 100)),
        Boundary("lip_lower_inner", (96, 103, 102, 101, 100)),
        Boundary("lip_lower_outer", (84, 95, 94, 93, 92, 91, 90)),
    ),
)
