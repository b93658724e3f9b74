"""The 5-point scheme: eye centres, nose tip, mouth corners (viewer's left first)."""

from .scheme import LandmarkScheme

FIVE = LandmarkScheme(
    name="5",
    names=("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right"),
    flip_index=(1, 0, 2, 4, 3),
    # With only eye centres available, inter-ocular and inter-pupil normalisers coincide.
    interocular=(0, 1),
    left_eye=(0,),
    right_eye=(1,),
    five_point=((0,), (1,), (2,), (3,), (4,)),
)
