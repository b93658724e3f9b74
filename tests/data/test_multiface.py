"""Multi-face canvases from single-face photos and the FoxNet dataset, on real faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facealign.data.multiface import MultiFaceDataset, background_patch, compose_canvas
from facealign.data.readers import read_annotations
from facealign.imageio import read_image

FACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces"
pytestmark = pytest.mark.skipif(not (FACES / "train68.txt").is_file(), reason="shared faces not present")


@pytest.fixture(scope="module")
def samples():
    return read_annotations(FACES / "train68.txt")[:4]


def test_a_face_covering_another_hides_its_points(samples) -> None:
    face = (read_image(samples[0].image_path), samples[0].points)
    # face_size (1, 1): both landmark boxes become the whole canvas, centred: the second covers the first
    canvas = compose_canvas([face, face], size=64, rng=np.random.default_rng(0), face_size=(1.0, 1.0))
    assert canvas.image.shape == (64, 64, 3) and canvas.image.dtype == np.uint8
    assert len(canvas.points) == len(canvas.visible) == 2
    assert not canvas.visible[0].any()
    assert canvas.visible[1].sum() >= 60  # only the box's extreme points can sit on the far edge
    np.testing.assert_allclose(canvas.points[0], canvas.points[1])  # same face, same placement
    # the landmark box becomes 64 px wide centred at x = 32: from 0 to 64 (the point at 64 is off the canvas)
    pts = canvas.points[1]
    assert pts[:, 0].min() == pytest.approx(0.0) and pts[:, 0].max() == pytest.approx(64.0)


def test_placements_stay_on_the_canvas(samples) -> None:
    faces = [(read_image(s.image_path), s.points) for s in samples[:3]]
    canvas = compose_canvas(faces, size=96, rng=np.random.default_rng(3), face_size=(0.2, 0.4))
    for pts in canvas.points:
        side = np.ptp(pts, axis=0).max()
        assert 0.2 * 96 - 1e-6 <= side <= 0.4 * 96 + 1e-6
        assert (pts >= -0.5).all() and (pts <= 95.5).all()  # the whole landmark box lies on the canvas
    with pytest.raises(ValueError, match="face_size"):
        compose_canvas(faces, size=96, rng=np.random.default_rng(0), face_size=(0.5, 0.2))


def test_background_avoids_the_face(samples) -> None:
    rgb = read_image(samples[1].image_path)
    bg = background_patch(rgb, samples[1].points, size=48, rng=np.random.default_rng(0))
    assert bg.shape == (48, 48, 3) and bg.dtype == np.uint8


def test_dataset_items_are_fixed_shape_and_reproducible(samples) -> None:
    ds = MultiFaceDataset(samples, scheme="68", size=64, faces_per_canvas=(2, 3), seed=5)
    item = ds[1]
    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.float32
    assert item["segmentation"].shape == (68, 16, 16) and item["instance"].shape == (16, 16)
    assert item["instance"].dtype == torch.int64
    assert item["points"].shape == (3, 68, 2) and item["visible"].shape == (3, 68)
    n = int(item["num_faces"])
    assert 2 <= n <= 3 and not item["visible"][n:].any() and torch.isnan(item["points"][n:]).all()
    assert set(item["instance"].unique().tolist()) <= set(range(n + 1))
    assert 0.5 < float(item["segmentation"].max()) <= 1.0
    again = ds[1]
    assert all(torch.equal(item[k], again[k]) for k in ("image", "segmentation", "instance"))
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["image"], item["image"])
    batch = torch.utils.data.default_collate([item, again])
    assert batch["segmentation"].shape == (2, 68, 16, 16)


def test_dataset_checks_its_inputs(samples) -> None:
    with pytest.raises(ValueError, match="scheme 5 has 5 points"):
        MultiFaceDataset(samples, scheme="5", size=64)
    with pytest.raises(ValueError, match="at least 2 samples"):
        MultiFaceDataset(samples[:1], scheme="68", size=64)
    with pytest.raises(ValueError, match="faces_per_canvas"):
        MultiFaceDataset(samples, scheme="68", size=64, faces_per_canvas=(3, 2))


def test_given_placements_fix_centre_and_size(samples) -> None:
    faces = [(read_image(s.image_path), s.points) for s in samples[:2]]
    canvas = compose_canvas(faces, size=64, rng=np.random.default_rng(0), placements=[(16, 16, 20), (48, 40, 10)])
    for pts, (cx, cy, side) in zip(canvas.points, [(16, 16, 20), (48, 40, 10)]):
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        assert max(hi - lo) == pytest.approx(side)  # the longer side of the landmark box
        np.testing.assert_allclose((lo + hi) / 2, [cx, cy])
    with pytest.raises(ValueError, match="2 faces but 1 placements"):
        compose_canvas(faces, size=64, rng=np.random.default_rng(0), placements=[(16, 16, 20)])
