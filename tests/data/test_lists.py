"""The face lists of a config: exclusions, limits, keys relative to data_root, the alignment-point table."""

import json
from pathlib import Path

import numpy as np

from facealign.data.lists import FaceLists
from facealign.data.records import merge_records

REPO = Path(__file__).resolve().parents[2]
FACES = (REPO / "../shared/data/faces").resolve()


def test_excluded_faces_are_left_out_before_the_limit(tmp_path):
    every = FaceLists(FACES).read("val5.txt", 0)
    assert len(every) == 600
    exclude = tmp_path / "exclude.txt"
    exclude.write_text(f"# labels in another frame\n{FaceLists(FACES).key(every[1].image_path)} 1 2 3\n\n")
    kept = FaceLists(FACES, exclude=str(exclude)).read("val5.txt", 3)
    assert [s.image_path for s in kept] == [every[i].image_path for i in (0, 2, 3)]
    assert FaceLists(FACES).read("", 5) == []


def test_keys_are_paths_relative_to_data_root_which_is_relative_to_the_config():
    lists = FaceLists("faces", config_root=FACES.parent)
    assert lists.root == FACES and lists.path("val5.txt") == FACES / "val5.txt"
    assert lists.path("/abs/list.txt") == Path("/abs/list.txt")
    assert lists.key(FACES / "images/net_7876/a.jpg") == "images/net_7876/a.jpg"
    assert lists.key(FACES.parent / "300w_human/afw/123_1.jpg") == "../300w_human/afw/123_1.jpg"


def test_the_alignment_table_sets_the_points_of_the_photos_it_names(tmp_path):
    lists = FaceLists(FACES)
    faces = lists.read("val5.txt", 2)
    five = np.arange(10.0).reshape(5, 2)
    table = tmp_path / "align.json"
    table.write_text(json.dumps({lists.key(faces[0].image_path): five.tolist()}))
    records = merge_records("5", dense=faces)
    lists.attach_align_points(records, table)
    assert np.array_equal(records[0].align, five) and records[1].align is None
