"""Faces of every size: the same real face at 40 to 3000 px in one 8000 x 6000 photo, and an 80 px
photo against its 4x upscaled copy."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign.api import Aligner
from facealign.imageio import read_image

FACES = Path(__file__).resolve().parents[1] / "../shared/data/faces"


@pytest.fixture(scope="module")
def aligner() -> Aligner:
    return Aligner()  # the shipped default model, RetinaFace with its default scales


def _val5_face(row: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A square crop (3.75 inter-ocular distances a side) around the face of a val5 row, and its 5
    human points in the crop's pixels."""
    parts = (FACES / "val5.txt").read_text().splitlines()[row].split()
    image, gt = read_image(FACES / parts[0]), np.array(parts[1:], dtype=np.float64).reshape(5, 2)
    half = int(round(1.875 * np.linalg.norm(gt[0] - gt[1])))
    x0, y0 = np.round(gt.mean(axis=0)).astype(int) - half
    return image[y0 : y0 + 2 * half, x0 : x0 + 2 * half], gt - [x0, y0]


def test_one_face_at_40_340_1200_and_3000_px_in_an_8000_x_6000_photo(aligner):
    crop, gt = _val5_face()
    iod = np.linalg.norm(gt[0] - gt[1])
    canvas = np.full((6000, 8000, 3), 110, dtype=np.uint8)
    canvas += np.random.default_rng(0).integers(0, 20, canvas.shape, dtype=np.uint8)
    truth = {}
    # face size = 2.5 inter-ocular distances (about the detector's box width); top-left corner of its crop
    for size, (x, y) in {40: (1500, 3000), 340: (1000, 4000), 1200: (300, 300), 3000: (3400, 1000)}.items():
        side = round(crop.shape[0] * size / (2.5 * iod))
        interp = cv2.INTER_AREA if side < crop.shape[0] else cv2.INTER_LINEAR
        canvas[y : y + side, x : x + side] = cv2.resize(crop, (side, side), interpolation=interp)
        truth[size] = (gt + 0.5) * side / crop.shape[0] - 0.5 + [x, y]  # cv2.resize's exact mapping
    faces = aligner(canvas, color="rgb")
    assert len(faces) == 4  # no part of a large face taken for a small one
    for size, five in truth.items():
        face = min(faces, key=lambda f: np.linalg.norm(f.align_points.mean(axis=0) - five.mean(axis=0)))
        err = np.linalg.norm(aligner.scheme.to_five(face.points) - five, axis=1).mean() / np.linalg.norm(five[0] - five[1])
        # measured: 4.4 / 3.3 / 2.9 / 4.3 % of the inter-ocular distance at 40 / 340 / 1200 / 3000 px
        assert err < 0.08, (size, err)


def test_an_80_px_photo_scores_within_10_percent_of_its_4x_copy(aligner):
    rows = [r.split() for r in (FACES / "train5.txt").read_text().splitlines() if "lfw_5590" in r][:20]
    errors = {1: [], 4: []}
    for parts in rows:
        image, gt = read_image(FACES / parts[0]), np.array(parts[1:], dtype=np.float64).reshape(5, 2)
        assert image.shape == (80, 80, 3)
        for k in errors:
            big = cv2.resize(image, (80 * k, 80 * k), interpolation=cv2.INTER_CUBIC) if k > 1 else image
            faces = aligner(big, color="rgb")
            want = (gt + 0.5) * k - 0.5
            face = min(faces, key=lambda f: np.linalg.norm(f.align_points.mean(axis=0) - want.mean(axis=0)))
            err = np.linalg.norm(aligner.scheme.to_five(face.points) - want, axis=1).mean()
            errors[k].append(err / np.linalg.norm(want[0] - want[1]))
    small, big = np.mean(errors[1]), np.mean(errors[4])  # measured: 3.99 % and 4.13 % NME
    assert abs(small - big) <= 0.1 * big, (small, big)
