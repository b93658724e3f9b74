import numpy as np
import pytest

from facealign.data.transforms import (
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
    AugmentConfig,
    color_jitter,
    hflip,
    occlusion_patch,
    pca_lighting,
    photometric,
    random_crop_matrix,
    random_erasing,
)
from facealign.geometry import apply_affine
from facealign.landmarks import get_scheme


def _image(h=64, w=80):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_hflip_twice_is_identity_and_reindexes():
    img = _image()
    scheme = get_scheme(5)
    pts = np.array([[20.0, 20.0], [50.0, 21.0], [35.0, 35.0], [25.0, 50.0], [45.0, 50.0]])
    f_img, f_pts = hflip(img, pts, scheme)
    # left eye of the mirrored face = mirrored right eye: (80 - 1) - 50 = 29
    np.testing.assert_allclose(f_pts[0], [29.0, 21.0])
    assert f_img[0, 0, 0] == img[0, 79, 0]
    b_img, b_pts = hflip(f_img, f_pts, scheme)
    np.testing.assert_array_equal(b_img, img)
    np.testing.assert_allclose(b_pts, pts)


def test_pca_lighting_adds_the_eigen_combination():
    img = np.full((4, 4, 3), 100, np.uint8)
    rng = np.random.default_rng(3)
    alpha = np.random.default_rng(3).normal(0.0, 0.1, size=3)
    expected = np.clip(np.rint(100 + IMAGENET_EIGVEC @ (alpha * IMAGENET_EIGVAL) * 255.0), 0, 255).astype(np.uint8)
    out = pca_lighting(img, rng, sigma=0.1)
    np.testing.assert_array_equal(out[0, 0], expected)
    assert pca_lighting(img, rng, sigma=0.0) is img


def test_color_jitter_keeps_a_gray_image_gray_under_saturation_only():
    img = np.full((8, 8, 3), 90, np.uint8)
    out = color_jitter(img, np.random.default_rng(0), brightness=0.0, contrast=0.0, saturation=0.4)
    np.testing.assert_array_equal(out, img)


def test_random_erasing_and_occlusion_touch_only_their_rectangle():
    img = _image()
    out, rect = random_erasing(img, np.random.default_rng(5))
    assert rect is not None
    x0, y0, x1, y1 = rect
    mask = np.zeros(img.shape[:2], bool)
    mask[y0:y1, x0:x1] = True
    np.testing.assert_array_equal(out[~mask], img[~mask])
    area = (x1 - x0) * (y1 - y0) / (64 * 80)
    assert 0.015 <= area <= 0.21
    out2, rect2 = occlusion_patch(img, np.random.default_rng(6))
    x0, y0, x1, y1 = rect2
    mask[:] = False
    mask[y0:y1, x0:x1] = True
    np.testing.assert_array_equal(out2[~mask], img[~mask])


def test_random_crop_matrix_respects_bounds():
    cfg = AugmentConfig(rotation=10.0, scale=0.1, shift=0.05)
    rng = np.random.default_rng(0)
    for _ in range(50):
        m = random_crop_matrix(rng, 128, cfg)
        s = np.sqrt(abs(np.linalg.det(m[:, :2])))
        assert 0.9 - 1e-9 <= s <= 1.1 + 1e-9
        angle = np.degrees(np.arctan2(m[0, 1], m[0, 0]))
        assert abs(angle) <= 10.0 + 1e-9
        # the centre moves by the shift only: at most 0.05 * 128 per axis
        c = apply_affine(m, [63.5, 63.5]) - 63.5
        assert np.abs(c).max() <= 6.4 + 1e-9


def test_no_augmentation_is_the_identity():
    img = _image()
    out = photometric(img, np.random.default_rng(0), AugmentConfig.none())
    np.testing.assert_array_equal(out, img)
    m = random_crop_matrix(np.random.default_rng(0), 64, AugmentConfig.none())
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("seed", [0, 1])
def test_photometric_is_deterministic_per_seed(seed):
    img = _image()
    cfg = AugmentConfig(erase_prob=1.0, occlusion_prob=1.0, blur_prob=1.0)
    a = photometric(img, np.random.default_rng(seed), cfg)
    b = photometric(img, np.random.default_rng(seed), cfg)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.shape == img.shape


def test_down_up_keeps_the_size_and_removes_detail_finer_than_the_small_face():
    from facealign.data.transforms import down_up

    # 1-px stripes on a 128 px crop whose face has 64 px between the eyes: at 16-30 px the stripes are
    # averaged away (area filter): neighbouring columns, 255 apart before, differ by little after
    img = np.zeros((128, 128, 3), np.uint8)
    img[:, ::2] = 255
    out = down_up(img, np.random.default_rng(0), iod=64.0, iod_range=(16.0, 30.0))
    assert out.shape == img.shape and out.dtype == np.uint8
    step = lambda a: np.abs(np.diff(a.astype(float), axis=1)).mean()  # noqa: E731
    assert step(img) == 255 and step(out) < 20
    # a face already that small is left as it is
    assert down_up(img, np.random.default_rng(0), iod=12.0) is img


def test_jpeg_compress_keeps_a_flat_image_and_the_config_checks_its_ranges():
    from facealign.data.transforms import jpeg_compress

    flat = np.full((32, 32, 3), (200, 100, 50), np.uint8)
    assert np.abs(jpeg_compress(flat, 30).astype(int) - flat).max() <= 3
    with pytest.raises(ValueError, match=r"augment.downup_iod must be \(min, max\) px with 0 < min <= max, got \(30.0, 16.0\)"):
        AugmentConfig(downup_iod=(30.0, 16.0))
    with pytest.raises(ValueError, match=r"augment.jpeg_quality must be \(min, max\) with 1 <= min <= max <= 100, got \(0, 90\)"):
        AugmentConfig(jpeg_quality=(0, 90))


def test_photometric_down_up_needs_the_crop_eye_distance():
    cfg = AugmentConfig.none()
    from dataclasses import replace

    with pytest.raises(ValueError, match=r"augment.downup_prob > 0 needs the crop's eye distance"):
        photometric(_image(), np.random.default_rng(0), replace(cfg, downup_prob=1.0))
    out = photometric(_image(128, 128), np.random.default_rng(0), replace(cfg, downup_prob=1.0, jpeg_prob=1.0), iod=31.0)
    assert out.shape == (128, 128, 3)
