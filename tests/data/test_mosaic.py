"""Mosaic canvases (facealign/data/mosaic.py): pixels and labels moved together, worked by hand; later tiles
hiding earlier faces; ignore boxes; the random layout; MosaicDataset items on real photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facealign.codecs import BottomUpCodec
from facealign.data.config import DataConfig
from facealign.data.group_photos import GroupPhoto, flip_boxes
from facealign.data.mosaic import (
    FACE_SIZE, MIN_VISIBLE, OVERLAP, MosaicDataset, Placement, Tile, compose_mosaic, draw_placements, grid_cells, uncovered_box,
)
from facealign.data.readers import read_annotations
from facealign.imageio import read_image

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
GROUPS, FACES = SHARED / "groups", SHARED / "faces"
needs_data = pytest.mark.skipif(
    not (GROUPS / "boxes.csv").is_file() or not (FACES / "train68.txt").is_file(), reason="shared data not present"
)
GREY = (127.0, 127.0, 127.0)
RED = (255, 0, 0)


def _points(*xy: float) -> np.ndarray:
    return np.asarray(xy, dtype=np.float64).reshape(-1, 2)


def test_a_dot_lands_at_its_moved_point_growing_and_shrinking() -> None:
    # growing: a 20 x 10 photo with a red pixel at (3, 4), scale 2, shift (10, 5): 2 * 3 + 10 = 16, 2 * 4 + 5 = 13
    photo = np.zeros((10, 20, 3), np.uint8)
    photo[4, 3] = RED
    face = _points(3, 4, 0, 0, 19, 9)
    tile = Tile(photo, face[None], np.array([[1.0, 2, 3, 4]]))
    out = compose_mosaic([tile], [Placement(2.0, 10.0, 5.0, (0, 0, 64, 64))], size=64, fill=GREY)
    assert tuple(out.image[13, 16]) == RED
    np.testing.assert_allclose(out.points[0], [[16, 13], [10, 5], [48, 23]])
    assert out.visible[0].tolist() == [True, True, True]
    np.testing.assert_allclose(out.ignore, [[12, 9, 16, 13]])  # corners moved as points: 2 * 1 + 10 ...
    # only pixels whose centre lies between the scaled photo's outer pixel centres (x 10..48, y 5..23) are shown
    assert tuple(out.image[4, 16]) == tuple(out.image[13, 9]) == (127, 127, 127)
    assert tuple(out.image[5, 10]) == (0, 0, 0) and tuple(out.image[23, 48]) == (0, 0, 0)
    assert tuple(out.image[24, 48]) == (127, 127, 127) and tuple(out.image[23, 49]) == (127, 127, 127)
    # shrinking: a red 2 x 2 block at columns 6-7, rows 4-5 (centre (6.5, 4.5)) at scale 0.5 is one red pixel
    # of the INTER_AREA half-size photo; shift (10.75, 4.75): 0.5 * 6.5 + 10.75 = 14, 0.5 * 4.5 + 4.75 = 7
    photo = np.zeros((10, 20, 3), np.uint8)
    photo[4:6, 6:8] = RED
    tile = Tile(photo, _points(6.5, 4.5, 0, 0)[None], np.zeros((0, 4)))
    out = compose_mosaic([tile], [Placement(0.5, 10.75, 4.75, (0, 0, 32, 32))], size=32, fill=GREY)
    assert tuple(out.image[7, 14]) == RED and out.image[6:9, 13:16].astype(int).sum() == 255
    np.testing.assert_allclose(out.points[0], [[14, 7], [10.75, 4.75]])


def test_two_tiles_placed_by_hand_later_covers_earlier() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (64, 64, 3), np.uint8), rng.integers(0, 256, (64, 40, 3), np.uint8)
    faces_a = np.stack([
        _points(5, 5, 10, 5, 5, 10, 10, 10),  # left of B's window: all visible
        _points(20, 30, 22, 34, 26, 30, 28, 34),  # x >= 23.5 is under B: 2 of 4 visible = MIN_VISIBLE, kept
        _points(18, 50, 25, 50, 26, 55, 27, 55),  # 1 of 4 visible: an ignore region
    ])
    ignore_a = np.array([[2.0, 40, 12, 44], [28, 2, 30, 6]])  # the second lies wholly under B
    tile_a = Tile(a, faces_a, ignore_a)
    tile_b = Tile(b, _points(1, 1, 3, 1, 1, 3, 3, 3)[None], np.array([[10.0, 10, 20, 20]]))
    # A at scale 1 in columns 0-31; B at scale 1 shifted 24 px right, in columns 24-63 (covering A's 24-31)
    places = [Placement(1.0, 0.0, 0.0, (0, 0, 32, 64)), Placement(1.0, 24.0, 0.0, (24, 0, 64, 64))]
    out = compose_mosaic([tile_a, tile_b], places, size=64, fill=GREY)
    np.testing.assert_array_equal(out.image[:, :24], a[:, :24])
    background = np.full((64, 64, 3), 9, np.uint8)
    shifted = compose_mosaic([tile_a, tile_b._replace(image=b[:, :32])], places, size=64, background=background)
    assert (shifted.image[:, 56:] == 9).all()  # B's photo, 32 wide, ends at column 24 + 31 = 55
    np.testing.assert_array_equal(shifted.image[:, 24:56], b[:, :32])
    with pytest.raises(ValueError, match=r"background must be \(64, 64, 3\) uint8, got \(32, 64, 3\) uint8"):
        compose_mosaic([tile_a], places[:1], size=64, background=background[:32])
    np.testing.assert_array_equal(out.image[:, 24:], b)
    assert MIN_VISIBLE == 0.5 and len(out.points) == 3  # A's first two faces and B's face
    np.testing.assert_allclose(out.points[1], faces_a[1])
    assert out.visible[0].all() and out.visible[1].tolist() == [True, True, False, False]
    np.testing.assert_allclose(out.points[2], [[25, 1], [27, 1], [25, 3], [27, 3]])
    assert out.visible[2].all()
    # A's third face: its landmark box [18, 50, 27, 55] less B's window (x from 23.5) -> [18, 50, 23.5, 55];
    # A's first ignore box as it was; B's box moved 24 px right
    np.testing.assert_allclose(out.ignore, [[18, 50, 23.5, 55], [2, 40, 12, 44], [34, 10, 44, 20]])


def test_a_face_wholly_covered_is_neither_label_nor_ignore() -> None:
    photo = np.zeros((32, 32, 3), np.uint8)
    face = _points(10, 10, 12, 12, 14, 10)[None]
    places = [Placement(1.0, 0.0, 0.0, (0, 0, 32, 32)), Placement(1.0, 0.0, 0.0, (0, 0, 32, 32))]
    out = compose_mosaic([Tile(photo, face, np.array([[1.0, 1, 5, 5]])), Tile(photo, face[:0], np.zeros((0, 4)))],
                         places, size=32)
    assert out.points == [] and out.ignore.shape == (0, 4)


def test_uncovered_box_hand_worked() -> None:
    box = np.array([10.0, 10, 20, 20])
    np.testing.assert_array_equal(uncovered_box(box, [30, 30, 40, 40]), box)  # apart
    assert uncovered_box(box, [0, 0, 30, 30]) is None  # wholly covered
    np.testing.assert_array_equal(uncovered_box(box, [15, 0, 30, 30]), [10, 10, 15, 20])  # from the right
    np.testing.assert_array_equal(uncovered_box(box, [0, 0, 12, 30]), [12, 10, 20, 20])  # from the left
    np.testing.assert_array_equal(uncovered_box(box, [0, 16, 30, 30]), [10, 10, 20, 16])  # from below
    np.testing.assert_array_equal(uncovered_box(box, [15, 15, 30, 30]), box)  # a corner: the bounding box stays
    np.testing.assert_array_equal(uncovered_box(box, [12, 0, 14, 30]), box)  # a band through the middle


def test_flip_boxes_hand_worked() -> None:
    # width 10: x -> 9 - x, so [1, 2, 3, 4] -> [9 - 3, 2, 9 - 1, 4]
    np.testing.assert_array_equal(flip_boxes(np.array([[1.0, 2, 3, 4]]), 10), [[6, 2, 8, 4]])
    assert flip_boxes(np.zeros((0, 4)), 10).shape == (0, 4)


def test_grid_cells_cover_the_canvas() -> None:
    rng = np.random.default_rng(0)
    assert grid_cells(1, 64, rng) == [(0, 0, 64, 64)]
    # 3 tiles: 2 columns, 2 rows, the last row one wide cell
    assert grid_cells(3, 64, rng, jitter=0.0) == [(0, 0, 32, 32), (32, 0, 64, 32), (0, 32, 64, 64)]
    for n in range(1, 8):
        cover = np.zeros((64, 64), int)
        for x0, y0, x1, y1 in grid_cells(n, 64, rng):
            cover[y0:y1, x0:x1] += 1
        assert (cover == 1).all(), n
    with pytest.raises(ValueError, match="at least 1 cell, got 0"):
        grid_cells(0, 64, rng)


def test_draw_placements_scale_the_median_face_and_put_a_face_in_its_cell() -> None:
    photo = np.zeros((100, 100, 3), np.uint8)
    # landmark-box sides 10, 20 and 40: the median 20 becomes face_size 0.25 of 64 = 16 px (scale 0.8)
    faces = np.stack([_points(0, 0, 10, 10), _points(30, 30, 50, 50), _points(50, 0, 90, 40)])
    tiles = [Tile(photo, faces, np.zeros((0, 4))), Tile(photo, faces[:0], np.array([[10.0, 10, 30, 30]]))]
    for seed in range(20):
        places = draw_placements(tiles, size=64, rng=np.random.default_rng(seed), face_size=(0.25, 0.25), overlap=0.3)
        assert places[0].scale == pytest.approx(0.8) and places[1].scale == pytest.approx(16 / 20)
        cells = grid_cells(2, 64, np.random.default_rng(seed))
        for place, cell, boxes in zip(places, cells, ([[0, 0, 10, 10], [30, 30, 50, 50], [50, 0, 90, 40]], [[10, 10, 30, 30]])):
            centres = np.array(boxes, float).reshape(-1, 2, 2).mean(axis=1) * place.scale + [place.tx, place.ty]
            inside = (centres >= np.array(cell[:2]) - 0.5) & (centres <= np.array(cell[2:]) - 0.5)
            assert inside.all(axis=1).any()  # the anchor face
            x0, y0, x1, y1 = place.window
            assert x0 <= cell[0] and y0 <= cell[1] and x1 >= cell[2] and y1 >= cell[3]  # the cell, grown
            assert x0 >= cell[0] - 0.3 * (cell[2] - cell[0]) - 1 and x1 <= cell[2] + 0.3 * (cell[2] - cell[0]) + 1
    with pytest.raises(ValueError, match="tile 0 has no face"):
        draw_placements([Tile(photo, faces[:0], np.zeros((0, 4)))], size=64, rng=np.random.default_rng(0))


def test_mosaic_options_are_checked() -> None:
    d = DataConfig()
    assert d.mosaics_per_epoch == 0  # off unless a config asks
    assert (d.mosaic_face_size, d.mosaic_overlap) == (FACE_SIZE, OVERLAP)  # the config's defaults are the module's
    for kw, msg in [
        ({"mosaics_per_epoch": -1}, r"mosaics_per_epoch must be >= 0 \(0: none\), got -1"),
        ({"mosaic_tiles": (3, 2)}, r"mosaic_tiles must be \[lo, hi\] with 1 <= lo <= hi, got \[3, 2\]"),
        ({"mosaic_tiles": (0, 2)}, r"mosaic_tiles must be \[lo, hi\]"),
        ({"mosaic_face_size": (0.0, 0.5)}, r"mosaic_face_size must be \[lo, hi\] with 0 < lo <= hi <= 1"),
        ({"mosaic_face_size": (0.1, 1.5)}, r"mosaic_face_size must be"),
        ({"mosaic_overlap": 1.5}, r"mosaic_overlap must be in \[0, 1\] \(fraction of a cell\), got 1.5"),
        ({"mosaic_group_share": -0.1}, r"mosaic_group_share must be in \[0, 1\], got -0.1"),
    ]:
        with pytest.raises(ValueError, match=msg):
            DataConfig(**kw)


# ------------------------------------------------------------------------------------- real photos
def _real_groups() -> list[GroupPhoto]:
    """3 real group photos (10001: 612 x 408, 10011, 10012) with stand-in faces in their hand-drawn boxes."""
    from tests.data.test_pack_groups import _labels  # the repository root is on pytest's pythonpath

    return _labels()


@needs_data
def test_a_real_group_photo_at_half_size_is_its_area_resize_shifted() -> None:
    photo = _real_groups()[0]
    rgb = read_image(GROUPS / photo.image)
    h, w = rgb.shape[:2]
    assert (w % 2, h % 2) == (0, 0)  # 612 x 408: halves exactly
    # scale 0.5, shift (9.75, 4.75): photo x -> 0.5 x + 9.75; the half-size pixel u (photo x = 2u + 0.5) -> u + 10
    place = Placement(0.5, 9.75, 4.75, (0, 0, 256, 256))
    out = compose_mosaic([Tile(rgb, photo.faces, photo.ignore)], [place], size=256)
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out.image[5 : 5 + h // 2, 10 : 10 + w // 2][:246], small[:246, :246])
    np.testing.assert_allclose(out.points[0], 0.5 * photo.faces[0] + [9.75, 4.75])
    np.testing.assert_allclose(out.ignore, 0.5 * photo.ignore + [9.75, 4.75, 9.75, 4.75])


@needs_data
def test_dataset_on_real_photos_is_reproducible_and_labels_are_consistent() -> None:
    codec = BottomUpCodec(input_size=128, heatmap_size=32, num_points=68)
    samples = read_annotations(FACES / "train68.txt")[:4]
    ds = MosaicDataset(groups=_real_groups(), group_root=GROUPS, samples=samples, scheme="68", size=128, codec=codec,
                       length=6, max_faces=4, tiles=(2, 3), seed=3)
    seen_ignore = False
    for i in range(6):
        m = ds.mosaic(i)
        assert m.image.shape == (128, 128, 3) and m.image.dtype == np.uint8
        for pts, vis in zip(m.points, m.visible):
            assert vis.sum() >= MIN_VISIBLE * 68 and (pts[vis] >= -0.5).all() and (pts[vis] < 127.5).all()
        assert (m.ignore[:, 2:] > m.ignore[:, :2]).all() and (m.ignore >= -0.5).all() and (m.ignore <= 127.5).all()
        item = ds[i]
        np.testing.assert_array_equal(item["ignore"].numpy(), codec.ignore_cells(m.ignore))
        seen_ignore |= bool(item["ignore"].any())
        assert int(item["num_faces"]) == min(len(m.points), 4)
    assert seen_ignore
    again = ds[2]
    for k, v in ds[2].items():
        assert v.numpy().tobytes() == again[k].numpy().tobytes(), k  # NaN padding included
    ds.set_epoch(1)
    assert not torch.equal(ds[2]["image"], again["image"])  # another epoch, another canvas
    with pytest.raises(ValueError, match="expected group photos or face samples to tile, got neither"):
        MosaicDataset(scheme="68", size=128, codec=codec, length=1, max_faces=1)
    with pytest.raises(ValueError, match=r"tiles must be 1 <= lo <= hi, got \(3, 2\)"):
        MosaicDataset(samples=samples, scheme="68", size=128, codec=codec, length=1, max_faces=1, tiles=(3, 2))
