"""face_motion: the similarity of a face between two frames, from optical flow, on a real photo."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign.face_motion import face_motion
from facealign.geometry import apply_affine, warp
from facealign.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"


@pytest.fixture(scope="module")
def face():
    """A real face in grey and a box of points around it (where its landmarks would be)."""
    rgb = read_image(SAMPLES / "300w/indoor_029.png")
    rgb = cv2.resize(rgb, (480, round(480 * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    cx, cy, r = w / 2, h / 2, 0.25 * min(w, h)
    ring = np.linspace(0, 2 * np.pi, 17)[:-1]
    return grey, np.stack([cx + r * np.cos(ring), cy + r * np.sin(ring)], axis=1)


def test_a_known_similarity_is_recovered(face):
    grey, points = face
    h, w = grey.shape
    # 2 degrees anticlockwise on screen and 2 % larger about the face centre, then 3 px right, 2 px up
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.02)
    m[:, 2] += [3.0, -2.0]
    moved = warp(grey[..., None].repeat(3, -1), m, (w, h))[..., 0]
    est = face_motion(grey, moved, points)
    assert est is not None
    # where the points land: within 0.15 px of the truth (a pixel of motion is 7x that)
    assert np.abs(apply_affine(est, points) - apply_affine(m, points)).max() < 0.15
    still = face_motion(grey, grey, points)
    np.testing.assert_allclose(still, [[1, 0, 0], [0, 1, 0]], atol=1e-6)  # no motion: the identity


def test_no_features_or_no_face_is_none_and_bad_frames_are_refused(face):
    grey, points = face
    blank = np.full_like(grey, 128)
    assert face_motion(blank, blank, points) is None  # nothing to follow
    assert face_motion(grey, grey, points + [5000.0, 0.0]) is None  # the face is off the frame
    with pytest.raises(ValueError, match=r"need two grey frames of one size, got \(\d+, \d+\) and \(10, 10\)"):
        face_motion(grey, np.zeros((10, 10), np.uint8), points)
