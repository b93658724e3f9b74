"""What users ask of a face beyond its points: head pose (synthetic known rotations, mirrored photos) and
the ArcFace face-recognition crop (against InsightFace's norm_crop arithmetic written out here)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign import Aligner
from facealign.arcface import arcface_matrix, norm_crop
from facealign.headpose import (
    MEAN_FACE_3D, POSE_POINTS, camera_matrix, head_pose, nose_offset_at_yaw, nose_offsets, rotation_from_angles,
)
from facealign.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"
SIZE = (640, 480)


def _project(yaw, pitch, roll, t=(20.0, -10.0, 650.0)):
    """The 68-point array of the mean 3D face seen at a known pose (other points left at 0: unused)."""
    rvec, _ = cv2.Rodrigues(rotation_from_angles(yaw, pitch, roll))
    img, _ = cv2.projectPoints(MEAN_FACE_3D, rvec, np.asarray(t, float), camera_matrix(*SIZE), None)
    pts = np.zeros((68, 2))
    pts[list(POSE_POINTS)] = img.reshape(-1, 2)
    return pts


@pytest.mark.parametrize("pose", [(0, 0, 0), (30, -10, 5), (-45, 15, -20), (10, 25, 40), (-60, -20, 10)])
def test_head_pose_recovers_a_known_rotation(pose):
    got = head_pose(_project(*pose), SIZE)
    np.testing.assert_allclose([got.yaw, got.pitch, got.roll], pose, atol=0.01)
    assert got.reprojection_px < 1e-3 and abs(got.translation[2] - 650.0) < 0.1


def test_head_pose_signs_as_documented():
    """yaw > 0: the nose moves to the image's right of the eyes' middle; pitch > 0: the nose rises toward
    the eyes; roll > 0: clockwise in the image (the right-hand eye corner goes down)."""
    eyes = lambda p: (p[36] + p[45]) / 2  # noqa: E731
    front = _project(0, 0, 0)
    assert _project(30, 0, 0)[30, 0] - eyes(_project(30, 0, 0))[0] > front[30, 0] - eyes(front)[0] + 10
    assert _project(0, 20, 0)[30, 1] - eyes(_project(0, 20, 0))[1] < front[30, 1] - eyes(front)[1] - 5
    tilted = _project(0, 0, 20)
    assert tilted[45, 1] > tilted[36, 1] + 10


def test_head_pose_of_a_photo_and_its_mirror():
    """The mirrored photo turns yaw and roll round and keeps pitch (within the landmark model's own
    asymmetry: measured 2.4 / 0.8 / 1.2 degrees for yaw / roll / pitch on this face with the first
    default, 2.7 / 2.2 / 0.3 with the multi-source default of issue 20)."""
    aligner = Aligner()
    rgb = read_image(SAMPLES / "300w/takeo.ppm")
    p = aligner(rgb, color="rgb")[0].head_pose()
    q = aligner(np.ascontiguousarray(rgb[:, ::-1]), color="rgb")[0].head_pose()
    assert abs(p.yaw + q.yaw) < 4 and abs(p.roll + q.roll) < 3 and abs(p.pitch - q.pitch) < 2
    assert abs(p.yaw) < 10 and abs(p.roll) < 5  # a frontal, upright face


def test_nose_offset_of_a_turned_mean_face_and_by_hand():
    # the mean face: eye centres 61 mm apart, the nose tip 38.5 mm in front of them -> 38.5 / 61 tan(yaw)
    assert nose_offset_at_yaw(30.0) == pytest.approx(38.5 / 61 * np.tan(np.radians(30.0)))
    assert nose_offset_at_yaw(0.0) == 0.0
    # by hand: eyes 10 px apart, the nose tip 3.5 px right of their midpoint, and 5 px below it (no effect)
    five = np.array([[[0, 0], [10, 0], [5, 5], [2, 9], [8, 9]], [[0, 0], [10, 0], [8.5, 5], [2, 9], [8, 9]],
                     [[3, 3], [3, 3], [5, 5], [2, 9], [8, 9]]], dtype=float)
    np.testing.assert_allclose(nose_offsets(five), [0.0, 0.35, np.inf])
    # round trip: the mean face turned either way, seen orthographically, rotated and scaled in the image: its 5
    # points read back the yaw's value
    pts = dict(zip(POSE_POINTS, MEAN_FACE_3D))
    face5 = np.stack([(pts[36] + pts[39]) / 2, (pts[42] + pts[45]) / 2, pts[30], pts[48], pts[54]])
    for yaw in (-45.0, -20.0, 10.0, 30.0, 60.0):
        xy = (face5 @ rotation_from_angles(yaw, 0.0, 0.0).T)[:, :2]
        c, s = np.cos(0.3), np.sin(0.3)
        xy = 2.5 * xy @ np.array([[c, -s], [s, c]]).T + [100.0, 50.0]
        assert nose_offsets(xy[None])[0] == pytest.approx(nose_offset_at_yaw(abs(yaw))), yaw


def test_head_pose_refuses_what_it_cannot_use():
    with pytest.raises(ValueError, match=r"68 points of the iBUG scheme, shape \(68, 2\); got \(5, 2\)"):
        head_pose(np.zeros((5, 2)), SIZE)
    with pytest.raises(ValueError, match="at least 6 finite model points, got 0"):
        head_pose(np.full((68, 2), np.nan), SIZE)


def _insightface_norm_crop_matrix(lmk: np.ndarray, image_size: int) -> np.ndarray:
    """InsightFace face_align.estimate_norm, written out: the ArcFace template, scaled by size/112 (or
    size/128 and shifted 8 px for other sizes); the least-squares similarity [[a, -b, tx], [b, a, ty]]
    solved as a linear system (skimage's SimilarityTransform.estimate gives the same optimum)."""
    arcface_dst = np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
    )
    if image_size % 112 == 0:
        dst = arcface_dst * (image_size / 112.0)
    else:
        ratio = image_size / 128.0
        dst = arcface_dst * ratio
        dst[:, 0] += 8.0 * ratio
    rows, rhs = [], []
    for (x, y), (u, v) in zip(lmk, dst):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


@pytest.mark.parametrize("size", [112, 224, 128])
def test_aligned_crop_is_insightface_norm_crop(size):
    aligner = Aligner()
    rgb = read_image(SAMPLES / "300w/image_0010.png")
    face = aligner(rgb, color="rgb")[0]
    expected_m = _insightface_norm_crop_matrix(face.align_points.astype(np.float64), size)
    np.testing.assert_allclose(arcface_matrix(face.align_points, size), expected_m, atol=1e-9)
    expected = cv2.warpAffine(rgb, expected_m, (size, size), borderValue=0.0)
    crop = face.aligned_crop(rgb, size, template="arcface")
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    assert np.abs(crop.astype(int) - expected.astype(int)).max() <= 1
    with pytest.raises(ValueError, match=r"unknown crop template 'vggface'; expected one of \('arcface',\)"):
        face.aligned_crop(rgb, template="vggface")


def test_aligned_crop_puts_the_five_points_on_the_template():
    """Exact 5 points (a similarity image of the template) land exactly on it."""
    dst = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]])
    src = dst * 2.5 + [100.0, 40.0]  # the face at 2.5x, shifted
    m = arcface_matrix(src, 112)
    np.testing.assert_allclose(src @ m[:, :2].T + m[:, 2], dst, atol=1e-9)
    img = np.zeros((400, 400), np.uint8)
    assert norm_crop(img, src).shape == (112, 112)
