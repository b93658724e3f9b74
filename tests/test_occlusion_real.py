"""The list of really occluded held-out faces (``configs/occluded_300w_human.tsv``), its reader, the contact
sheets it was made from, and the real-occlusion NME of ``benchmarks/occlusion_real.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from benchmarks import occlusion_real
from facealign.data.readers import AnnotationError, read_excluded_paths

REPO = Path(__file__).resolve().parents[1]
LIST = REPO / "configs/occluded_300w_human.tsv"
HOLDOUT = REPO / "configs/holdout_300w_human.txt"


def test_the_real_list_names_held_out_faces_and_points_0_to_67_once_each():
    rows = occlusion_real.read_hidden_points(LIST, holdout=HOLDOUT)
    held = read_excluded_paths(HOLDOUT)
    assert len(held) == 120 and {r.face for r in rows} <= held
    per_face: dict[str, list[int]] = {}
    for r in rows:
        assert r.kind in occlusion_real.KINDS and r.note and all(0 <= k <= 67 for k in r.indices)
        per_face.setdefault(r.face, []).extend(r.indices)
    assert all(len(v) == len(set(v)) for v in per_face.values())
    assert len({(r.face, r.kind) for r in rows}) == len(rows)
    # rows checked against the sheets by hand: the sunglasses hide both eyes (36-47), the microphone the chin
    by = {(r.face, r.kind): r.indices for r in rows}
    assert by["afw/2353849_1", "sunglasses"] == tuple(range(36, 48))
    assert by["afw/2844520516_1", "object"] == (7, 8)
    # enough faces with something in front of them to measure on (32 when written), and the turned heads apart
    assert len({r.face for r in rows if r.kind in occlusion_real.OCCLUDERS}) >= 30
    assert len({r.face for r in rows if r.kind == "self"}) >= 30


def test_parse_indices_ranges_and_singles():
    assert occlusion_real.parse_indices("0-3,16", "f:1", 68) == (0, 1, 2, 3, 16)
    assert occlusion_real.parse_indices(" 67 ", "f:1", 68) == (67,)
    with pytest.raises(AnnotationError, match=r"f:2: expected point indices 0\.\.67 \(ranges a-b with a <= b\), got '60-70'"):
        occlusion_real.parse_indices("60-70", "f:2", 68)
    with pytest.raises(AnnotationError, match=r"f:3: expected point indices 0\.\.67 .*got '5-2'"):
        occlusion_real.parse_indices("5-2", "f:3", 68)
    with pytest.raises(AnnotationError, match=r"f:4: expected each point index once, got 3 twice in '1-3,3'"):
        occlusion_real.parse_indices("1-3,3", "f:4", 68)
    with pytest.raises(AnnotationError, match=r"f:5: expected a point index in 'a' to be an integer, got 'a'"):
        occlusion_real.parse_indices("a", "f:5", 68)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("afw/1_1\thand\t1-2", r"x\.tsv:2: expected 4 tab-separated fields \(face id, kind, indices, words\), got 3"),
        ("afw/1_1\thands\t1\tx", r"x\.tsv:2: expected a kind among hair, hand, .*, self, frame, got 'hands'"),
        ("afw/9_9\thand\t1\tx", r"x\.tsv:2: expected a face id of .*holdout\.txt, got 'afw/9_9'"),
        ("afw/1_1\thand\t1\tx\nafw/1_1\thand\t2\ty", r"x\.tsv:3: expected one 'hand' row for afw/1_1, got another \(line 2\)"),
        ("afw/1_1\thand\t1-4\tx\nafw/1_1\thair\t4\ty", r"x\.tsv:3: expected each point of afw/1_1 in one row, got 4 again \(line 2\)"),
        ("afw/1_1\tself\t68\tx", r"x\.tsv:2: expected point indices 0\.\.67"),
    ],
)
def test_a_bad_row_says_file_line_and_what_was_expected(tmp_path, body, message):
    (tmp_path / "holdout.txt").write_text("# faces\nafw/1_1\n")
    (tmp_path / "x.tsv").write_text("# header\n" + body + "\n")
    with pytest.raises(AnnotationError, match=message):
        occlusion_real.read_hidden_points(tmp_path / "x.tsv", holdout=tmp_path / "holdout.txt")


def _contact_sheet():
    spec = importlib.util.spec_from_file_location("_contact_sheet", REPO / "scripts" / "contact_sheet.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_contact_sheet_draws_each_point_in_its_region_colour_where_it_lies():
    sheet = _contact_sheet()
    rgb = np.zeros((50, 100, 3), np.uint8)
    pts = np.full((68, 2), 5.0)
    pts[36] = (49.5, 24.5)  # an eye corner, at the centre of a 100 x 50 image
    face = np.asarray(sheet.draw_face(rgb, pts, "x", 200))  # scale 2: (49.5 + 0.5) * 2 - 0.5 = 99.5, 49.5
    assert face.shape == (200 + sheet.TITLE_PX, 200, 3)  # a square cell, the face at its top
    assert tuple(face[sheet.TITLE_PX + 49, 99]) == sheet.REGION_COLOURS["eyelid"]
    pages = sheet.contact_sheets([("a", rgb, pts)] * 7, cols=3, rows=2, cell=64)
    assert [p.size for p in pages] == [(192, 2 * (64 + sheet.TITLE_PX))] * 2


def _row(face: str, kind: str, indices: tuple[int, ...]) -> occlusion_real.HiddenPoints:
    return occlusion_real.HiddenPoints(face, kind, indices, "", "test")


def test_real_occlusion_nme_hand_worked():
    """Three faces, outer eye corners (36, 45) 10 px apart, errors along x. ``c`` has nothing listed: points 0-1 off by
    2 px (20 %), 16 by 1 px (10 %), the other 65 by 0.5 px (5 %). ``a``: a hand hides 0-1, off by 3 px (30 %), the
    other 66 by 1 px (10 %). ``b``: its far jaw 16 hidden (self), off by 4 px (40 %), the other 67 by 0.5 px (5 %)."""
    gt = np.zeros((3, 68, 2))
    gt[:, 45] = (10.0, 0.0)
    err = np.full((3, 68), 0.5)
    err[0, :2], err[0, 16] = 2.0, 1.0  # c
    err[1, :], err[1, :2] = 1.0, 3.0  # a
    err[2, 16] = 4.0  # b
    pred = gt.copy()
    pred[..., 0] += err
    ids, rows = ["c", "a", "b"], [_row("a", "hand", (0, 1)), _row("b", "self", (16,))]

    clean = occlusion_real.real_occlusion_nme(pred, gt, ids, rows, None)
    assert clean["n"] == 1 and clean["visible"] == pytest.approx((2 * 20 + 10 + 65 * 5) / 68)  # 5.515
    front = occlusion_real.real_occlusion_nme(pred, gt, ids, rows, occlusion_real.OCCLUDERS)
    assert front["n"] == 1 and front["visible"] == pytest.approx(10.0) and front["hidden"] == pytest.approx(30.0)
    # the control: c's error over a's visible points (all but 0-1) and over its hidden ones (0-1)
    assert front["visible_clean"] == pytest.approx((10 + 65 * 5) / 66) and front["hidden_clean"] == pytest.approx(20.0)
    turned = occlusion_real.real_occlusion_nme(pred, gt, ids, rows, ("self",))
    assert turned["n"] == 1 and turned["visible"] == pytest.approx(5.0) and turned["hidden"] == pytest.approx(40.0)
    assert turned["visible_clean"] == pytest.approx((2 * 20 + 65 * 5) / 67) and turned["hidden_clean"] == pytest.approx(10.0)
    assert occlusion_real.real_occlusion_nme(pred, gt, ids, rows, ("frame",)) == {"n": 0}
    # hair over b's point 1 as well: b joins the occluded faces unless those with a turned head are left out
    more = [*rows, _row("b", "hair", (1,))]
    assert occlusion_real.real_occlusion_nme(pred, gt, ids, more, occlusion_real.OCCLUDERS)["n"] == 2
    apart = occlusion_real.real_occlusion_nme(pred, gt, ids, more, occlusion_real.OCCLUDERS, ("self",))
    assert apart["n"] == 1 and apart["visible"] == pytest.approx(10.0) and apart["hidden"] == pytest.approx(30.0)
    listed, hidden = occlusion_real.hidden_masks(ids, rows, ("self",))
    assert listed.sum() == 3 and listed[1, :2].all() and hidden.sum() == 1 and hidden[2, 16]


DATA = REPO.parent / "shared" / "data" / "300w_human"


@pytest.mark.skipif(not DATA.is_dir(), reason="shared 300w_human not present")
def test_a_registered_model_is_scored_on_real_held_out_faces_by_their_ids():
    from benchmarks.occlusion import load_faces
    from facealign.metrics import nme

    samples, fives, _ = load_faces(str(DATA), str(HOLDOUT), 3, "")  # no table: crops on the labels' 5 points
    label, by_id = occlusion_real.predict_entry("facealign_mnv2_050_68", samples, fives, DATA, flip_test=False)
    assert label == "facealign_mnv2_050_68 (flip test off)" and list(by_id) == ["afw/1295311477_1", "afw/134212_1", "afw/134212_2"]
    pred, gt = np.stack(list(by_id.values())), np.stack([s.points for s in samples])
    assert (nme(pred, gt, scheme="68") < 0.10).all()  # the shipped model finds these faces (about 4 % NME on the slice)


def test_bootstrap_growth_hand_worked_and_drawn_from_the_faces():
    # two occluded faces, visible NME 2 and 4; the clean faces (2 of them) over face 0's points: 1, 3; over face 1's: 2, 2
    group = {"faces": {"visible": np.array([2.0, 4.0]), "clean_visible": np.array([[1.0, 3.0], [2.0, 2.0]])}}
    g = occlusion_real.bootstrap_growth([group, group], draws=200)
    assert g.shape == (2, 201) and g[0, 0] == pytest.approx(100 * (3.0 / 2.0 - 1))  # +50 %: mean 3 against mean 2
    assert (g[0] == g[1]).all()  # the same draws for every model: a model against itself differs by exactly 0
    # each draw picks occluded faces (i, i') and clean faces (j, j') with replacement: 16 possible values
    v, cv = group["faces"]["visible"], group["faces"]["clean_visible"]
    possible = {round(100 * (v[list(i)].mean() / cv[np.ix_(list(i), list(j))].mean() - 1), 9)
                for i in [(0, 0), (0, 1), (1, 1)] for j in [(0, 0), (0, 1), (1, 1)]}
    assert {round(x, 9) for x in g[0, 1:]} <= possible and len({round(x, 9) for x in g[0, 1:]}) > 3
