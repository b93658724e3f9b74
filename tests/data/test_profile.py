"""CFP fiducial files and their correspondence to the 68-point and 5-point schemes."""

from pathlib import Path

import numpy as np
import pytest

from facealign.data.profile import CFP_TO_68, cfp_looks_right, cfp_to_68, cfp_to_five
from facealign.data.readers.errors import AnnotationError
from facealign.data.readers.cfp import read_cfp, read_cfp_folder
from facealign.landmarks import get_scheme

CFP = Path(__file__).resolve().parents[2] / "../shared/data/cfp_profile"


def _points(right: bool) -> np.ndarray:
    """30 distinct points whose nose tip (index 21) is right (or left) of the ear point (index 0)."""
    p = np.stack([np.arange(30, dtype=float) + 10, np.arange(30, dtype=float) * 2 + 5], axis=1)
    return p if right else np.stack([200 - p[:, 0], p[:, 1]], axis=1)


def test_a_profile_looking_right_maps_onto_the_viewers_left_eye_and_mouth_corner():
    p = _points(right=True)
    out = cfp_to_68(p)
    assert cfp_looks_right(p)
    # CFP 13 (index 12) outer eye corner -> 36, 16 (15) inner -> 39, 22 (21) nose tip -> 30, 26 (25) mouth corner -> 48, 9 (8) chin -> 8
    for src, dst in {12: 36, 15: 39, 21: 30, 25: 48, 8: 8}.items():
        np.testing.assert_array_equal(out[dst], p[src])
    assert np.isfinite(out).all(axis=1).sum() == 5
    five = cfp_to_five(p)
    np.testing.assert_allclose(five[0], p[12:18].mean(axis=0))  # the visible eye's centre: mean of CFP 13-18
    np.testing.assert_array_equal(five[2], p[21])
    np.testing.assert_array_equal(five[3], p[25])
    assert np.isnan(five[[1, 4]]).all()


def test_the_correspondence_commutes_with_a_mirror():
    """Mirroring a profile then mapping it equals mapping it then mirroring in the 68 scheme (flip map)."""
    p = _points(right=True)
    width = 240
    mirrored = np.stack([width - 1 - p[:, 0], p[:, 1]], axis=1)
    assert not cfp_looks_right(mirrored)
    expected = get_scheme("68").flip(cfp_to_68(p), width)
    np.testing.assert_allclose(cfp_to_68(mirrored), expected)
    assert set(CFP_TO_68["left"].values()) == {get_scheme("68").flip_index[i] for i in CFP_TO_68["right"].values()}


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match=r"expected CFP points of shape \(30, 2\), got \(29, 2\)"):
        cfp_to_68(np.zeros((29, 2)))


def test_a_real_cfp_file_reads_and_maps_in_order():
    s = read_cfp(CFP / "001/01.txt")
    assert s.scheme == "cfp30" and s.points.shape == (30, 2) and s.image_path.name == "01.jpg"
    np.testing.assert_allclose(s.points[0], [47.166, 65.19])  # line 1 of the file, used as written
    assert cfp_looks_right(s.points)  # this man looks to the viewer's right
    out = cfp_to_68(s.points)
    assert out[36, 0] < out[39, 0] < out[30, 0]  # outer eye corner, inner corner, nose tip from back to front
    assert out[30, 1] < out[48, 1] < out[8, 1]  # nose tip above the mouth corner above the chin


def test_every_cfp_file_reads_and_about_half_look_each_way():
    samples = read_cfp_folder(CFP)
    right = sum(cfp_looks_right(s.points) for s in samples)
    assert len(samples) == 2000 and 800 < right < 1200


def test_a_bad_cfp_file_names_its_line(tmp_path):
    (tmp_path / "01.jpg").write_bytes(b"")
    f = tmp_path / "01.txt"
    f.write_text("1,2\n" * 29 + "3;4\n")
    with pytest.raises(AnnotationError, match=r"01.txt:30: expected point 30 as 'x,y', got '3;4'"):
        read_cfp(f)
    f.write_text("1,2\n" * 3)
    with pytest.raises(AnnotationError, match=r"01.txt:1: expected 30 lines 'x,y' \(CFP fiducials\), got 3"):
        read_cfp(f)
