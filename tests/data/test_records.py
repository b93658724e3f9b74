"""The training record: a Sample with the human 5 points, alignment points and its source's weight; its
small-face copy."""

import numpy as np
import pytest

from facealign.data.records import FaceRecord, align_points, downscaled_record, merge_records
from facealign.geometry import template_points
from facealign.landmarks import get_scheme
from facealign.types import Box, Sample

SCH = get_scheme("68")
DENSE = np.stack([np.arange(68.0), np.arange(68.0) * 0.5], axis=1)
FIVE = SCH.to_five(DENSE) + 1.0


def test_a_record_is_the_readers_sample_with_the_training_fields_added():
    s = Sample("a.jpg", DENSE, "68", box=Box(0, 0, 67, 33.5), visible=np.ones(68, bool), source="list.txt:3")
    rec = FaceRecord.from_sample(s, SCH, five=FIVE, label_source="teacher68", weight=0.5)
    assert isinstance(rec, Sample)
    assert rec.image_path == s.image_path and rec.points is s.points and rec.box == s.box and rec.source == "list.txt:3"
    assert rec.visible is s.visible and rec.five.dtype == np.float64 and (rec.label_source, rec.weight) == ("teacher68", 0.5)
    five = FaceRecord.from_sample(s, "5", points=SCH.to_five(DENSE))
    assert five.scheme == "5" and five.visible is None and five.five is None  # 68 flags do not fit 5 points


def test_a_record_refuses_five_points_of_another_shape_naming_its_line():
    with pytest.raises(ValueError, match=r"list.txt:3: five must be \(5, 2\), got \(4, 2\)"):
        FaceRecord("a.jpg", DENSE, "68", five=np.zeros((4, 2)), source="list.txt:3")
    with pytest.raises(ValueError, match=r"list.txt:3: align must be \(5, 2\), got \(10,\)"):
        FaceRecord("a.jpg", DENSE, "68", align=np.zeros(10), source="list.txt:3")


def test_merging_joins_a_photos_dense_and_human_points_and_keeps_the_lone_ones():
    dense = [Sample("a.jpg", DENSE, "68", source="d:1"), Sample("c.jpg", DENSE + 5, "68", source="d:2")]
    five = [Sample("b.jpg", FIVE, "5", source="f:1"), Sample("a.jpg", FIVE + 2, "5", source="f:2")]
    recs = merge_records(SCH, dense=dense, five=five)
    # order: the five list's faces, then the dense-only ones
    assert [(str(r.image_path), r.source) for r in recs] == [("b.jpg", "f:1"), ("a.jpg", "d:1"), ("c.jpg", "d:2")]
    assert np.isnan(recs[0].points).all() and recs[0].points.shape == (68, 2) and np.array_equal(recs[0].five, FIVE)
    assert np.array_equal(recs[1].points, DENSE) and np.array_equal(recs[1].five, FIVE + 2)
    assert recs[2].five is None and {r.scheme for r in recs} == {"68"}
    with pytest.raises(ValueError, match=r"f:1: expected 5 points, got 68"):
        merge_records(SCH, five=[Sample("b.jpg", DENSE, "68", source="f:1")])


def test_a_crop_aligns_on_the_detector_then_the_human_then_the_scheme_points():
    rec = FaceRecord("a.jpg", DENSE, "68")
    np.testing.assert_array_equal(align_points(rec, SCH), SCH.to_five(DENSE))
    rec.five = FIVE
    np.testing.assert_array_equal(align_points(rec, SCH), FIVE)
    rec.align = FIVE + 3
    np.testing.assert_array_equal(align_points(rec, SCH), FIVE + 3)


def test_the_small_face_photo_is_downscaled_so_the_crop_spans_the_asked_pixels():
    # align points = the 128 px template scaled by 2 about the origin: the crop spans 256 photo px,
    # so an 80 px crop means a factor 80 / 256 = 0.3125 (400 px photo -> 125 px)
    align = template_points(128) * 2.0
    image = np.zeros((400, 400, 3), np.uint8)
    pts = np.array([[100.0, 120.0], [300.0, 120.0]])
    rec = FaceRecord("x.jpg", pts, "custom", five=np.repeat(pts[:1], 5, axis=0), box=Box(100.0, 120.0, 300.0, 121.0), image=image)
    small = downscaled_record(rec, align, input_size=128, crop_px=80)
    assert small.image.shape == (125, 125, 3)
    np.testing.assert_allclose(small.points, (pts + 0.5) * 0.3125 - 0.5)  # pixel centres
    np.testing.assert_allclose(small.align, (align + 0.5) * 0.3125 - 0.5)
    np.testing.assert_allclose(small.five, (rec.five + 0.5) * 0.3125 - 0.5)
    np.testing.assert_allclose(small.box.as_array(), (np.array([100.0, 120.0, 300.0, 121.0]) + 0.5) * 0.3125 - 0.5)
    assert downscaled_record(rec, align, input_size=128, crop_px=300) is rec  # already that small
