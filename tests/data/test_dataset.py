"""The training dataset's crops: the same pixels as the Aligner's inference crops."""

from pathlib import Path

import numpy as np
import pytest
import torch

from facealign.api import Aligner
from facealign.data.dataset import LandmarkDataset
from facealign.data.readers import read_annotations
from facealign.data.records import FaceRecord
from facealign.landmarks import get_scheme

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "../shared/data/samples/300w"


class _PointWeights:
    """The least a dataset needs of its targets: a weight per point (the crop is what is under test)."""

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        return {"weights": visible.astype(np.float32)}


class _RecordingRunner:
    """The Aligner's landmark runner, keeping a copy of every batch of crops it is given."""

    def __init__(self, runner) -> None:
        self.runner, self.crops = runner, []

    def __call__(self, crops: np.ndarray):
        self.crops.append(crops.copy())
        return self.runner(crops)


@pytest.fixture(scope="module")
def aligner():
    return Aligner("facealign_mnv2_050_68", detector=None, flip_test=False)  # every face through the one runner recorded


@pytest.mark.parametrize("photo", ["einstein.pts", "breakingbad.pts", "indoor_029.pts"])
def test_a_training_crop_is_the_aligners_inference_crop_bit_for_bit(aligner, photo, monkeypatch):
    """Same photo, same 5 alignment points, no augmentation: the dataset's normalised input is exactly
    ``(crop - mean) / std`` of the uint8 crop the Aligner hands its network (both crop through
    ``geometry.warp``: bilinear, constant zero border). breakingbad is a 1920 x 1080 frame."""
    (sample,) = read_annotations(SAMPLES / photo)
    five = get_scheme("68").to_five(sample.points)
    card = aligner.card
    ds = LandmarkDataset(
        [FaceRecord.from_sample(sample, "68", align=five)],
        scheme="68", input_size=card.input_size, targets=_PointWeights(), mean=card.mean, std=card.std,
    )
    recording = _RecordingRunner(aligner.runner)
    monkeypatch.setattr(aligner, "runner", recording)
    aligner(sample.image_path, points5=[five])
    (batch,) = recording.crops
    assert batch.shape == (1, card.input_size, card.input_size, 3) and batch.dtype == np.uint8
    expected = (batch[0].astype(np.float32) - np.asarray(card.mean, np.float32)) / np.asarray(card.std, np.float32)
    item = ds[0]
    assert torch.equal(item["image"], torch.from_numpy(np.ascontiguousarray(expected.transpose(2, 0, 1))))
    assert item["image"].std() > 0.1  # a face, not an empty border
