"""Augmentations: each a function of ``(image, points, rng, ...)`` returning new arrays.

Images are ``(H, W, 3)`` uint8 RGB crops; points are ``(K, 2)`` float ``(x, y)`` in crop pixels
(the pixel convention of :mod:`facealign.types`). Geometric augmentations are folded into the
crop's affine matrix by :func:`random_crop_matrix` so that the photo is resampled once.

References: random erasing (Zhong et al., AAAI 2020; used as information dropping by Huang et al.
2020, cited by Earp et al. Sec. 5.1), AlexNet PCA lighting (Krizhevsky et al. 2012, Sec. 4.1),
GluonCV colour jitter (brightness / contrast / saturation 0.4, Earp et al. Sec. 3.3).
Small, low-quality faces (issue 20): down-up resampling of the crop to a face of 16-30 px between the eye
centres and back (as a small face reaches the network: few pixels, upsampled by the alignment warp), with
JPEG compression at the low resolution, as in the degradation pipelines of real-world super-resolution
(Wang et al., Real-ESRGAN, ICCVW 2021, Sec. 3.1: blur, resize, noise, JPEG).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import affine_from_params
from ..landmarks import LandmarkScheme

__all__ = [
    "AugmentConfig",
    "IMAGENET_EIGVAL",
    "IMAGENET_EIGVEC",
    "color_jitter",
    "down_up",
    "jpeg_compress",
    "gaussian_blur",
    "hflip",
    "hflip_matrix",
    "occlusion_patch",
    "pca_lighting",
    "photometric",
    "random_crop_matrix",
    "random_erasing",
]

#: ImageNet RGB PCA eigenvalues / eigenvectors (columns) used by AlexNet lighting, on 0-1 pixels.
IMAGENET_EIGVAL = np.array([0.2175, 0.0188, 0.0045])
IMAGENET_EIGVEC = np.array(
    [
        [-0.5675, 0.7192, 0.4009],
        [-0.5808, -0.0045, -0.8140],
        [-0.5836, -0.6948, 0.4203],
    ]
)


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation settings (defaults follow Earp et al. where the paper gives values).

    rotation: max |angle| in degrees (paper: +-1..15, helps); scale: max relative change
    (paper: 0.05..0.2, hurt on JD-106; kept small); shift: max translation as a fraction of the crop
    side (paper: 5..20 px of 192, hurt; kept small); flip_prob: horizontal flip (paper: +0.7 AUC);
    align_jitter: std of the noise added to the 5 alignment points, as a fraction of the inter-ocular
    distance (covers detector noise at inference); colour: jitter strength (paper 0.4); pca_sigma:
    AlexNet lighting sigma (paper 0.05); erase_prob: random erasing probability (paper: +0.2 AUC);
    occlusion_prob: probability of pasting a patch from elsewhere in the photo; blur_prob:
    probability of a Gaussian blur; downup_prob: probability of resampling the crop down to a face of
    ``downup_iod`` (min, max) px between the eye centres and back up (:func:`down_up`); jpeg_prob:
    probability of JPEG compression at a quality drawn from ``jpeg_quality`` (at the low resolution
    when the down-up step is drawn too).
    """

    rotation: float = 15.0
    scale: float = 0.05
    shift: float = 0.03
    flip_prob: float = 0.5
    align_jitter: float = 0.03
    colour: float = 0.4
    pca_sigma: float = 0.05
    erase_prob: float = 0.3
    occlusion_prob: float = 0.1
    blur_prob: float = 0.1
    downup_prob: float = 0.0
    downup_iod: tuple[float, float] = (16.0, 30.0)
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 90)

    def __post_init__(self) -> None:
        lo, hi = self.downup_iod
        if not 0 < lo <= hi:
            raise ValueError(f"augment.downup_iod must be (min, max) px with 0 < min <= max, got {self.downup_iod}")
        qlo, qhi = self.jpeg_quality
        if not 1 <= qlo <= qhi <= 100:
            raise ValueError(f"augment.jpeg_quality must be (min, max) with 1 <= min <= max <= 100, got {self.jpeg_quality}")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """No augmentation at all (validation)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def random_crop_matrix(rng: np.random.Generator, size: int, cfg: AugmentConfig) -> np.ndarray:
    """A random rotation / scale / shift of a ``size`` crop about its centre, as a ``(2, 3)`` map
    from the aligned crop to the augmented crop."""
    c = (size - 1) / 2.0
    angle = rng.uniform(-cfg.rotation, cfg.rotation) if cfg.rotation > 0 else 0.0
    scale = 1.0 + (rng.uniform(-cfg.scale, cfg.scale) if cfg.scale > 0 else 0.0)
    shift = rng.uniform(-cfg.shift, cfg.shift, size=2) * size if cfg.shift > 0 else np.zeros(2)
    return affine_from_params(center=(c, c), angle_deg=angle, scale=scale, shift=(shift[0], shift[1]))


def hflip_matrix(width: int) -> np.ndarray:
    """The ``(2, 3)`` map of a horizontal flip of an image ``width`` pixels wide: x -> (W-1) - x."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]])


def hflip(image: np.ndarray, points: np.ndarray, scheme: LandmarkScheme) -> tuple[np.ndarray, np.ndarray]:
    """Mirror an image and its points; points are re-indexed with the scheme's flip map."""
    w = image.shape[1]
    return np.ascontiguousarray(image[:, ::-1]), scheme.flip(points, w)


def _clip_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def color_jitter(
    image: np.ndarray, rng: np.random.Generator, *, brightness: float, contrast: float, saturation: float
) -> np.ndarray:
    """GluonCV-style colour jitter: brightness, contrast and saturation factors drawn from
    ``1 + U(-v, v)``, applied in random order."""
    img = image.astype(np.float32)
    ops = []
    if brightness > 0:
        ops.append(lambda x: x * (1.0 + rng.uniform(-brightness, brightness)))
    if contrast > 0:

        def _contrast(x: np.ndarray) -> np.ndarray:
            gray_mean = float((x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean())
            a = 1.0 + rng.uniform(-contrast, contrast)
            return x * a + gray_mean * (1.0 - a)

        ops.append(_contrast)
    if saturation > 0:

        def _saturation(x: np.ndarray) -> np.ndarray:
            gray = (x @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
            a = 1.0 + rng.uniform(-saturation, saturation)
            return x * a + gray * (1.0 - a)

        ops.append(_saturation)
    for i in rng.permutation(len(ops)):
        img = ops[i](img)
    return _clip_u8(img)


def pca_lighting(image: np.ndarray, rng: np.random.Generator, *, sigma: float) -> np.ndarray:
    """AlexNet PCA lighting noise: add ``V @ (alpha * lambda)`` with ``alpha ~ N(0, sigma)``."""
    if sigma <= 0:
        return image
    alpha = rng.normal(0.0, sigma, size=3)
    delta = IMAGENET_EIGVEC @ (alpha * IMAGENET_EIGVAL) * 255.0
    return _clip_u8(image.astype(np.float32) + delta.astype(np.float32))


def gaussian_blur(image: np.ndarray, rng: np.random.Generator, *, max_sigma: float = 1.5) -> np.ndarray:
    """Gaussian blur with sigma drawn from U(0.3, max_sigma)."""
    sigma = rng.uniform(0.3, max_sigma)
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma)


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """The image after a JPEG encode / decode at ``quality`` (1-100, OpenCV's libjpeg). Shape: ``(H, W, 3)`` uint8."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"jpeg_compress: OpenCV could not encode an image of shape {image.shape}")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def down_up(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    iod: float,
    iod_range: tuple[float, float] = (16.0, 30.0),
    jpeg_quality: int | None = None,
) -> np.ndarray:
    """A crop whose face has ``iod`` px between the eye centres, resampled down (area filter) to a face of
    ``U(iod_range)`` px, optionally JPEG-compressed there, and back up to its size (bilinear, as the
    alignment warp upsamples a small face). Unchanged when the face is already that small.
    Shape: ``(S, S, 3) -> (S, S, 3)`` uint8."""
    h, w = image.shape[:2]
    factor = rng.uniform(*iod_range) / float(iod)
    if factor >= 1.0:
        return image
    small = cv2.resize(image, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    if jpeg_quality is not None:
        small = jpeg_compress(small, jpeg_quality)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def random_erasing(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    area: tuple[float, float] = (0.02, 0.2),
    aspect: tuple[float, float] = (0.3, 3.3),
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Random erasing (Zhong et al. 2020): a rectangle of random area fraction and aspect ratio is
    filled with uniform noise. Returns the image and the erased ``(x0, y0, x1, y1)`` (or None)."""
    h, w = image.shape[:2]
    for _ in range(10):
        a = rng.uniform(*area) * h * w
        r = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1])))
        eh, ew = int(round(np.sqrt(a * r))), int(round(np.sqrt(a / r)))
        if 0 < eh < h and 0 < ew < w:
            y0, x0 = int(rng.integers(0, h - eh)), int(rng.integers(0, w - ew))
            out = image.copy()
            out[y0 : y0 + eh, x0 : x0 + ew] = rng.integers(0, 256, size=(eh, ew, image.shape[2]), dtype=np.uint8)
            return out, (x0, y0, x0 + ew, y0 + eh)
    return image, None


def occlusion_patch(
    image: np.ndarray, rng: np.random.Generator, *, size: tuple[float, float] = (0.15, 0.35)
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Paste a square patch cut from another place of the same image (a realistic occluder).
    Returns the image and the covered ``(x0, y0, x1, y1)``."""
    h, w = image.shape[:2]
    s = int(round(rng.uniform(*size) * min(h, w)))
    if s < 2 or s >= min(h, w):
        return image, None
    sy, sx = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
    dy, dx = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
    out = image.copy()
    out[dy : dy + s, dx : dx + s] = image[sy : sy + s, sx : sx + s]
    return out, (dx, dy, dx + s, dy + s)


def photometric(image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, *, iod: float | None = None) -> np.ndarray:
    """All appearance augmentations of ``cfg`` in the training order (colour, lighting, down-up / JPEG,
    blur, occlusion, erasing). ``iod``: the crop's eye-centre distance in px (needed for the down-up
    step). Points are unchanged by these."""
    out = image
    if cfg.colour > 0:
        out = color_jitter(out, rng, brightness=cfg.colour, contrast=cfg.colour, saturation=cfg.colour)
    if cfg.pca_sigma > 0:
        out = pca_lighting(out, rng, sigma=cfg.pca_sigma)
    if cfg.downup_prob > 0 or cfg.jpeg_prob > 0:
        down = cfg.downup_prob > 0 and rng.random() < cfg.downup_prob
        jpeg = cfg.jpeg_prob > 0 and rng.random() < cfg.jpeg_prob
        quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)) if jpeg else None
        if down:
            if iod is None:
                raise ValueError("photometric: augment.downup_prob > 0 needs the crop's eye distance (iod=)")
            out = down_up(out, rng, iod=iod, iod_range=cfg.downup_iod, jpeg_quality=quality)
        elif quality is not None:
            out = jpeg_compress(out, quality)
    if cfg.blur_prob > 0 and rng.random() < cfg.blur_prob:
        out = gaussian_blur(out, rng)
    if cfg.occlusion_prob > 0 and rng.random() < cfg.occlusion_prob:
        out, _ = occlusion_patch(out, rng)
    if cfg.erase_prob > 0 and rng.random() < cfg.erase_prob:
        out, _ = random_erasing(out, rng)
    return out

