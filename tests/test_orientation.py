"""A phone photo stored sideways (EXIF orientation 6) gives the faces of the upright photo, with points
in the displayed (upright) frame."""

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from facealign.api import Aligner
from facealign.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"


def test_sideways_jpeg_gives_the_upright_faces(tmp_path):
    rgb = cv2.cvtColor(cv2.imread(str(SAMPLES / "multiface/unlabelled/couple.jpg")), cv2.COLOR_BGR2RGB)
    upright = tmp_path / "upright.jpg"
    Image.fromarray(rgb).save(upright, "JPEG", quality=95)
    # what a phone stores when held sideways: the sensor's pixels turned 90 degrees counter-clockwise,
    # with orientation 6 ("turn 90 degrees clockwise to display")
    exif = Image.Exif()
    exif[274] = 6
    sideways = tmp_path / "sideways.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(rgb))).save(sideways, "JPEG", quality=95, exif=exif.tobytes())
    assert cv2.imread(str(sideways), cv2.IMREAD_UNCHANGED).shape[:2] == rgb.shape[1::-1]  # stored sideways

    assert read_image(sideways).shape == rgb.shape
    aligner = Aligner()  # the shipped default model
    want, got = aligner(upright), aligner(sideways)
    assert len(want) == len(got) >= 2
    by_x = lambda faces: sorted(faces, key=lambda f: f.box.x1)  # noqa: E731
    for a, b in zip(by_x(want), by_x(got)):
        iod = np.linalg.norm(a.align_points[0] - a.align_points[1])
        # the detector's 5 points agree within 3% of the inter-ocular distance (JPEG re-encoding of a
        # turned image differs block by block); a frame mix-up would put them hundreds of pixels away
        assert np.abs(a.align_points - b.align_points).max() < 0.03 * iod
        assert np.abs(a.points - b.points).max() < 0.05 * iod
        assert b.points[:, 0].max() < rgb.shape[1] and b.points[:, 1].max() < rgb.shape[0]
