"""Label sources: weights, held-out splits, the human 5 points over the teacher's, schemes and masks."""

from pathlib import Path

import numpy as np
import pytest

from facealign.data.readers import read_annotations
from facealign.data.readers.cfp import read_cfp
from facealign.data.sources import human_five_override, source_records, source_weight, split_holdout
from facealign.landmarks import get_scheme
from facealign.types import Box

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "../shared/data"


def test_source_weights_default_to_one_and_refuse_unknown_names_and_negatives():
    assert source_weight({"human68": 2.0}, "human68") == 2.0
    assert source_weight({"human68": 2.0}, "teacher68") == 1.0
    with pytest.raises(ValueError, match=r"unknown source\(s\) \['people'\]; expected some of \['teacher68', 'human5', 'human68', 'profile'\]"):
        source_weight({"people": 1.0}, "human68")
    with pytest.raises(ValueError, match=r"source_weights.profile must be a finite number >= 0, got -1.0"):
        source_weight({"profile": -1.0}, "profile")


def test_the_human_five_points_move_the_teachers_groups_rigidly():
    sch = get_scheme("68")
    teacher = np.stack([np.arange(68, dtype=float), np.arange(68, dtype=float) * 0.5], axis=1)
    five = sch.to_five(teacher)
    five[0] += [2.0, -1.0]  # people put the left eye 2 px right and 1 px up
    five[2] = [np.nan, np.nan]  # no human nose tip: the teacher's stays
    out = human_five_override(teacher, five, sch)
    np.testing.assert_allclose(out[36:42], teacher[36:42] + [2.0, -1.0])  # the whole eye contour, shape kept
    np.testing.assert_allclose(out[36:42].mean(axis=0), five[0])
    np.testing.assert_array_equal(out[30], teacher[30])
    np.testing.assert_array_equal(np.delete(out, range(36, 42), axis=0), np.delete(teacher, range(36, 42), axis=0))
    with pytest.raises(ValueError, match=r"expected points \(68, 2\) and five \(5, 2\), got \(5, 2\) and \(5, 2\)"):
        human_five_override(five, five, sch)


def test_the_committed_300w_holdout_keeps_whole_photos_and_half_afw():
    root = DATA / "300w_human"
    samples = read_annotations(root)
    train, held = split_holdout(samples, root, REPO / "configs/holdout_300w_human.txt")
    assert len(train) + len(held) == 1207 == len(samples)
    afw = [s for s in held if s.image_path.parent.name == "afw"]
    assert 60 <= len(afw) <= 70 and 120 <= len(held) <= 135
    photo = lambda s: (s.image_path.parent.name, s.image_path.stem.rsplit("_", 1)[0])  # noqa: E731
    assert not {photo(s) for s in train} & {photo(s) for s in held}  # no photo on both sides


def test_the_committed_cfp_holdout_keeps_whole_people(tmp_path):
    from facealign.data.readers.cfp import read_cfp_folder

    root = DATA / "cfp_profile"
    train, held = split_holdout(read_cfp_folder(root), root, REPO / "configs/holdout_cfp_profile.txt")
    assert len(held) == 200 and len(train) == 1800
    assert not {s.image_path.parent.name for s in train} & {s.image_path.parent.name for s in held}


def test_source_records_put_each_source_in_the_models_scheme_with_nan_where_undefined():
    pts = read_annotations(DATA / "300w_human/afw/1051618982_1.pts")[0]
    cfp = read_cfp(DATA / "cfp_profile/001/01.txt")
    r68 = source_records([pts, cfp], "68", weight=2.0, source="human68")
    assert np.isfinite(r68[0].points).all() and r68[0].weight == 2.0 and r68[0].label_source == "human68"
    assert np.isfinite(r68[1].points).all(axis=1).sum() == 5  # the profile's five corresponding points
    assert r68[1].box == Box.from_points(cfp.points) and r68[1].source == cfp.source  # the 30 points' face box, its file
    r5 = source_records([pts, cfp], "5", weight=1.0, source="profile")
    np.testing.assert_allclose(r5[0].points, get_scheme("68").to_five(pts.points))
    assert np.isfinite(r5[1].points).all(axis=1).tolist() == [True, False, True, True, False]  # looks right
    with pytest.raises(ValueError, match=r"cannot put cfp30 \(30\) points into scheme 98"):
        source_records([cfp], "98", weight=1.0, source="profile")


def test_label_offsets_move_peoples_points_and_five_by_the_longest_prefix_and_leave_the_teacher():
    from facealign.data.records import FaceRecord
    from facealign.data.sources import remove_label_offsets

    sch = get_scheme("68")
    teacher = np.stack([np.arange(68, dtype=float), np.full(68, 10.0)], axis=1)
    five = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [np.nan, np.nan]])
    recs = [
        FaceRecord(Path("/d/faces/images/net/a.jpg"), teacher, "68", five=five, label_source="teacher68"),
        FaceRecord(Path("/d/faces/images/net/sub/b.jpg"), five.copy(), "5", label_source="human5"),
        FaceRecord(Path("/d/300w/c.jpg"), teacher, "68", label_source="human68"),
        FaceRecord(Path("/d/faces/images/lfw/d.jpg"), five.copy(), "5", label_source="human5"),
    ]
    key = lambda p: Path(p).relative_to("/d/faces").as_posix() if "faces" in str(p) else "../" + Path(p).relative_to("/d").as_posix()  # noqa: E731
    offsets = {"images/net/": [1.0, 0.0], "images/net/sub/": [0.5, -0.25], "../300w/": [2.0, 1.0]}
    assert remove_label_offsets(recs, offsets, key) == 3
    np.testing.assert_array_equal(recs[0].points, teacher)  # the teacher's points stay
    np.testing.assert_array_equal(recs[0].five, five - [1.0, 0.0])  # people's 5 points of the same face move
    np.testing.assert_array_equal(recs[1].points, five - [0.5, -0.25])  # the longer prefix wins
    np.testing.assert_array_equal(recs[2].points, teacher - [2.0, 1.0])
    np.testing.assert_array_equal(recs[3].points, five)  # no prefix: as people gave it
    assert np.isnan(recs[1].points[4]).all()
    with pytest.raises(ValueError, match=r"data.label_offsets: expected a photo folder prefix = \[dx, dy\] \(two finite pixel offsets\), got 'images/' = \[1.0\]"):
        remove_label_offsets(recs, {"images/": [1.0]}, key)


def test_a_config_with_a_bad_label_offset_is_refused():
    from facealign.data.config import DataConfig

    assert DataConfig(label_offsets={"images/net_7876/": [1.0, 0.0]}).label_offsets == {"images/net_7876/": [1.0, 0.0]}
    with pytest.raises(ValueError, match=r"got '' = \[1.0, 0.0\]"):
        DataConfig(label_offsets={"": [1.0, 0.0]})
    with pytest.raises(ValueError, match=r"got 'x/' = \[1.0, nan\]"):
        DataConfig(label_offsets={"x/": [1.0, float("nan")]})
