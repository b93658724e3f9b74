"""The 68-point iBUG / 300-W scheme (0-based indices; the .pts files are 1-based)."""

from .scheme import Boundary, LandmarkScheme

_NAMES = (
    [f"jaw_{i}" for i in range(17)]
    + [f"brow_left_{i}" for i in range(5)]
    + [f"brow_right_{i}" for i in range(5)]
    + [f"nose_bridge_{i}" for i in range(4)]
    + [f"nose_base_{i}" for i in range(5)]
    + [f"eye_left_{i}" for i in range(6)]
    + [f"eye_right_{i}" for i in range(6)]
    + [f"lip_outer_{i}" for i in range(12)]
    + [f"lip_inner_{i}" for i in range(8)]
)


def _flip_index() -> tuple[int, ...]:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nose base
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lip
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lip
    idx = list(range(68))
    for a, b in pairs:
        idx[a], idx[b] = b, a
    return tuple(idx)


IBUG68 = LandmarkScheme(
    name="68",
    names=tuple(_NAMES),
    flip_index=_flip_index(),
    interocular=(36, 45),
    left_eye=tuple(range(36, 42)),
    right_eye=tuple(range(42, 48)),
    five_point=(tuple(range(36, 42)), tuple(range(42, 48)), (30,), (48,), (54,)),
    # The usual 13 boundaries for 68 points (as in LAB, Wu et al. 2018).
    boundaries=(
        Boundary("contour", tuple(range(0, 17))),
        Boundary("brow_left", tuple(range(17, 22))),
        Boundary("brow_right", tuple(range(22, 27))),
        Boundary("nose_bridge", tuple(range(27, 31))),
        Boundary("nose_base", tuple(range(31, 36))),
        Boundary("eyelid_left_upper", (36, 37, 38, 39)),
        Boundary("eyelid_left_lower", (39, 40, 41, 36)),
        Boundary("eyelid_right_upper", (42, 43, 44, 45)),
        Boundary("eyelid_right_lower", (45, 46, 47, 42)),
        Boundary("lip_upper_outer", (48, 49, 50, 51, 52, 53, 54)),
        Boundary("lip_upper_inner", (60, 61, 62, 63, 64)),
        Boundary("lip_lower_inner", (60, 67, 66, 65, 64)),
        Boundary("lip_lower_outer", (54, 55, 56, 57, 58, 59, 48)),
    ),
)
