import numpy as np
import pytest

from facealign.data.transforms import hflip_matrix
from facealign.geometry import (
    FACE_TEMPLATE,
    affine_from_params,
    align_matrix,
    apply_affine,
    box_crop_matrix,
    box_iou,
    compose_affine,
    invert_affine,
    template_points,
    umeyama,
    warp,
)
from facealign.types import Box, flip_points_x, heatmap_to_input, input_to_heatmap


def _similarity(scale, angle_deg, tx, ty):
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def test_umeyama_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, size=(7, 2))
    m = _similarity(1.7, 23.0, -12.5, 40.25)
    np.testing.assert_allclose(umeyama(src, apply_affine(m, src)), m, atol=1e-9)


def test_umeyama_hand_worked_scale_and_shift():
    # src (0,0),(1,0) -> dst (10,10),(12,10): scale 2, no rotation, t = (10, 10)
    m = umeyama(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[10.0, 10.0], [12.0, 10.0]]))
    np.testing.assert_allclose(m, [[2, 0, 10], [0, 2, 10]], atol=1e-12)


def test_umeyama_ignores_nan_rows_and_rejects_degenerate():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [np.nan, 3.0]])
    dst = np.array([[0.0, 0.0], [3.0, 0.0], [5.0, 5.0]])
    np.testing.assert_allclose(umeyama(src, dst)[:, :2], 3 * np.eye(2), atol=1e-12)
    with pytest.raises(ValueError, match="identical"):
        umeyama(np.ones((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        umeyama(np.ones((3, 3)), np.zeros((3, 3)))


def _umeyama_svd(src, dst, estimate_scale):
    """Eq. 40-42 of Umeyama (1991) as the paper writes them (SVD of the covariance, sign fix)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    xs, xd = src - mu_s, dst - mu_d
    u, d, vt = np.linalg.svd(xd.T @ xs / len(src))
    sign = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rot = u @ sign @ vt
    scale = np.trace(np.diag(d) @ sign) / ((xs**2).sum() / len(src)) if estimate_scale else 1.0
    return np.concatenate([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]], axis=1)


@pytest.mark.parametrize("estimate_scale", [True, False])
def test_umeyama_closed_form_equals_the_papers_svd_solution(estimate_scale):
    """Random fits, a third of them to mirrored points (where the sign fix of Eq. 43 decides)."""
    rng = np.random.default_rng(2)
    for i in range(300):
        src = rng.normal(size=(int(rng.integers(2, 70)), 2)) * rng.uniform(0.01, 500)
        dst = src * [-1.0, 1.0] * rng.uniform(0.1, 3) + 50 if i % 3 == 0 else rng.normal(size=src.shape) * 100
        want = _umeyama_svd(src, dst, estimate_scale)
        np.testing.assert_allclose(umeyama(src, dst, estimate_scale=estimate_scale), want, rtol=0, atol=1e-9 * (1 + np.abs(want).max()))


def test_invert_affine_hand_worked_and_singular():
    # p -> [[2, 0], [0, 4]] p + (1, 2); inverse: [[0.5, 0], [0, 0.25]] p - (0.5, 0.5)
    np.testing.assert_allclose(invert_affine([[2.0, 0.0, 1.0], [0.0, 4.0, 2.0]]), [[0.5, 0, -0.5], [0, 0.25, -0.5]], atol=1e-15)
    with pytest.raises(ValueError, match="singular"):
        invert_affine([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]])


def test_round_trip_through_alignment_is_exact_to_1e4_px():
    rng = np.random.default_rng(1)
    for _ in range(20):
        five = rng.uniform(50, 350, size=(5, 2))
        pts = rng.uniform(-100, 500, size=(68, 2))
        m = align_matrix(five, 128)
        back = apply_affine(invert_affine(m), apply_affine(m, pts))
        assert np.abs(back - pts).max() < 1e-4


def test_align_matrix_maps_the_template_onto_itself():
    # the template's own 5 points (in a 256 crop) align to a 128 crop with scale exactly 0.5
    five = template_points(256)
    m = align_matrix(five, 128)
    np.testing.assert_allclose(apply_affine(m, five), template_points(128), atol=1e-9)
    # pixel u*S - 0.5 convention: 256 -> 128 is x -> (x + 0.5) / 2 - 0.5
    np.testing.assert_allclose(m, [[0.5, 0, -0.25], [0, 0.5, -0.25]], atol=1e-12)


def test_template_lies_inside_the_crop_and_is_left_right_ordered():
    assert (FACE_TEMPLATE > 0.1).all() and (FACE_TEMPLATE < 0.9).all()
    assert FACE_TEMPLATE[0, 0] < FACE_TEMPLATE[1, 0] and FACE_TEMPLATE[3, 0] < FACE_TEMPLATE[4, 0]


def test_box_crop_matrix_hand_worked():
    # box 100..200 x 50..130: centre (150, 90), side max(100, 80) * 1.25 = 125, scale 64/125
    m = box_crop_matrix(Box(100, 50, 200, 130), 64, scale=1.25)
    s = 64 / 125
    np.testing.assert_allclose(apply_affine(m, [150, 90]), [31.5, 31.5])
    # the square's outer edges (centre -+ 62.5) land on the crop's outer edges -0.5 and 63.5
    np.testing.assert_allclose(apply_affine(m, [150 - 62.5, 90 + 62.5]), [-0.5, 63.5])
    assert m[0, 0] == pytest.approx(s)


def test_compose_and_params():
    a = affine_from_params(center=(10, 10), angle_deg=90, scale=2.0)
    # (11, 10) is 1 px right of the centre; a 90 deg counter-clockwise turn on screen (y down)
    # sends it 2 px up: (10, 8)
    np.testing.assert_allclose(apply_affine(a, [11, 10]), [10, 8], atol=1e-12)
    b = affine_from_params(center=(0, 0), shift=(3, -4))
    np.testing.assert_allclose(apply_affine(compose_affine(b, a), [11, 10]), [13, 4], atol=1e-12)


def test_flip_conventions_are_involutions():
    pts = np.array([[0.0, 5.0], [9.0, 1.0], [4.5, 2.0]])
    np.testing.assert_allclose(flip_points_x(pts, 10), [[9, 5], [0, 1], [4.5, 2]])
    np.testing.assert_allclose(flip_points_x(flip_points_x(pts, 10), 10), pts)
    f = hflip_matrix(10)
    np.testing.assert_allclose(apply_affine(f, pts), flip_points_x(pts, 10))
    np.testing.assert_allclose(compose_affine(f, f), [[1, 0, 0], [0, 1, 0]], atol=1e-12)


def test_heatmap_mapping_hand_worked():
    # stride 4: cell 0 centre covers input pixels 0..3 whose centre is 1.5
    assert heatmap_to_input(np.array(0.0), 4) == 1.5
    assert input_to_heatmap(np.array(1.5), 4) == 0.0
    np.testing.assert_allclose(input_to_heatmap(heatmap_to_input(np.array([3.25, 7.0]), 4), 4), [3.25, 7.0])


def test_warp_moves_pixels_like_points():
    img = np.zeros((100, 120, 3), np.uint8)
    img[20, 30] = 255  # a single pixel at x=30, y=20
    m = _similarity(1.0, 0.0, 5.0, -3.0)
    crop = warp(img, m, (64, 48))
    ys, xs = np.nonzero(crop[..., 0])
    assert (xs[0], ys[0]) == (35, 17)
    # flipping the image with the flip matrix lands the pixel at (W-1) - x
    flipped = warp(img, hflip_matrix(120), (120, 100))
    assert flipped[20, 89, 0] == 255


def test_box_iou_hand_worked() -> None:
    # [0, 0, 2, 2] and [1, 1, 3, 3]: intersection 1, union 4 + 4 - 1 = 7; the far box does not touch it
    iou = box_iou(np.array([[0, 0, 2, 2], [10, 10, 11, 11]]), np.array([[1, 1, 3, 3]]))
    np.testing.assert_allclose(iou, [[1 / 7], [0.0]])
    # one (4,) box against another: [0, 0, 4, 2] inside [0, 0, 4, 4] -> 8 / 16; degenerate boxes -> 0
    np.testing.assert_allclose(box_iou(Box(0, 0, 4, 2).as_array(), Box(0, 0, 4, 4).as_array()), [[0.5]])
    assert box_iou(np.zeros(4), np.zeros(4))[0, 0] == 0.0
    assert box_iou(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)

