"""Dataset readers on the real sample files in ../shared/data, hand-checked values and error messages."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

from facealign.data.readers import (
    AnnotationError,
    read_300vw,
    read_annotations,
    read_cofw_mat,
    read_imglab_xml,
    read_jd106_file,
    read_jd106_folder,
    read_points_list,
    read_predictions_jsonl,
    read_pts,
    read_pts_folder,
    read_wflw_list,
    write_points_list,
)
from facealign.types import Box, FaceLandmarks, Sample

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLES = DATA / "samples"
FACES = DATA / "faces"
NEEDS_DATA = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared data not found at {DATA}")
COFW_MAT = SAMPLES / "cofw" / "COFW_test_color.mat"
WFLW_LIST = SAMPLES / "wflw" / "list_98pt_rect_attr_test.txt"
DLIB = SAMPLES / "multiface" / "dlib_examples"


def image_size(s: Sample) -> tuple[int, int]:
    """(W, H) of the sample's image (embedded pixels or the file's header)."""
    if s.image is not None:
        return s.image.shape[1], s.image.shape[0]
    with Image.open(s.image_path) as im:
        return im.size


def assert_inside_image(samples: list[Sample]) -> None:
    """Every annotated point lies in the image's extent [-0.5, W - 0.5] x [-0.5, H - 0.5]."""
    for s in samples:
        w, h = image_size(s)
        pts = s.points[np.isfinite(s.points).all(axis=1)]
        assert len(pts) > 0, s.source
        assert (pts[:, 0] >= -0.5).all() and (pts[:, 0] <= w - 0.5).all(), s.source
        assert (pts[:, 1] >= -0.5).all() and (pts[:, 1] <= h - 0.5).all(), s.source


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pts_text(points: np.ndarray, n_points: int | None = None) -> str:
    n = len(points) if n_points is None else n_points
    body = "\n".join(f"{x} {y}" for x, y in points)
    return f"version: 1\nn_points: {n}\n{{\n{body}\n}}\n"


# ----------------------------------------------------------------------------- iBUG .pts


@NEEDS_DATA
def test_pts_real_files_shift_to_zero_based():
    samples = read_pts_folder(SAMPLES / "300w")
    assert len(samples) == 6
    assert [s.image_path.name for s in samples] == [
        "breakingbad.jpg", "einstein.jpg", "image_0010.png", "indoor_020.png", "indoor_029.png", "takeo.ppm"
    ]
    for s in samples:
        assert s.scheme == "68" and s.points.shape == (68, 2) and s.box is None and s.visible is None
    bb = samples[0]
    # breakingbad.pts line 4: "1283.598566 276.387616" (1-based) -> minus 1
    assert bb.points[0] == pytest.approx([1282.598566, 275.387616], abs=1e-9)
    assert bb.source.endswith("breakingbad.pts:1")
    assert image_size(bb) == (1920, 1080)
    # takeo.pts last point, line 71: "79.291435 145.632369"
    assert samples[5].points[-1] == pytest.approx([78.291435, 144.632369], abs=1e-9)
    assert_inside_image(samples)


@NEEDS_DATA
def test_read_annotations_dispatches_pts_file_and_folder():
    one = read_annotations(SAMPLES / "300w" / "einstein.pts")
    assert len(one) == 1 and one[0].image_path.name == "einstein.jpg"
    # einstein.pts line 4: "357.417253 308.455774"
    assert one[0].points[0] == pytest.approx([356.417253, 307.455774], abs=1e-9)
    assert len(read_annotations(SAMPLES / "300w")) == 6


def test_pts_errors_name_file_and_line(tmp_path):
    pts = np.arange(136, dtype=float).reshape(68, 2) + 10
    write(tmp_path / "face.png", "not really a png; only its existence is checked")
    ok = write(tmp_path / "face.pts", pts_text(pts))
    assert read_pts(ok).points[0] == pytest.approx([9.0, 10.0])  # "10.0 11.0" - 1

    lines = pts_text(pts).splitlines()
    bad_num = write(tmp_path / "bad_num.pts", "\n".join(lines[:6] + ["12.5 abc"] + lines[7:]))
    with pytest.raises(AnnotationError, match=r"bad_num\.pts:7: expected y of point 4 to be a number, got 'abc'"):
        read_pts(bad_num, check_images=False)

    short = write(tmp_path / "short.pts", pts_text(pts[:67], n_points=68))  # '}' arrives as point 68
    with pytest.raises(AnnotationError, match=r"short\.pts:71: expected point 68 of 68 as 2 numbers 'x y', got '\}'"):
        read_pts(short, check_images=False)

    truncated = write(tmp_path / "trunc.pts", "\n".join(lines[:40]))  # header + 37 points, then EOF
    with pytest.raises(AnnotationError, match=r"trunc\.pts:41: expected point 38 of 68 .*got end of file"):
        read_pts(truncated, check_images=False)

    no_close = write(tmp_path / "noclose.pts", "\n".join(lines[:-1]))
    with pytest.raises(AnnotationError, match=r"noclose\.pts:72: expected '\}' after 68 points, got end of file"):
        read_pts(no_close, check_images=False)

    extra = write(tmp_path / "extra.pts", "\n".join(lines[:-1] + ["1 2", "}"]))
    with pytest.raises(AnnotationError, match=r"extra\.pts:72: expected '\}' after 68 points \(n_points\), got '1 2'"):
        read_pts(extra, check_images=False)

    header = write(tmp_path / "header.pts", "version: 1\npoints: 68\n{\n")
    with pytest.raises(AnnotationError, match=r"header\.pts:2: expected 'n_points: <number>', got 'points: 68'"):
        read_pts(header, check_images=False)

    count = write(tmp_path / "count.pts", pts_text(pts[:7]))
    with pytest.raises(
        AnnotationError,
        match=r"count\.pts:2: expected n_points to be one of 5, 29, 68, 98, 106.*got 7",
    ):
        read_pts(count, check_images=False)

    empty = write(tmp_path / "empty.pts", "\n \n")
    with pytest.raises(AnnotationError, match=r"empty\.pts:1: expected annotations, got an empty file"):
        read_pts(empty, check_images=False)

    lonely = write(tmp_path / "lonely.pts", pts_text(pts))
    with pytest.raises(
        AnnotationError,
        match=r"lonely\.pts:1: expected an image beside it named lonely\.\{jpg/jpeg/png",
    ):
        read_pts(lonely)
    assert read_pts(lonely, check_images=False).image_path == tmp_path / "lonely.jpg"


# ----------------------------------------------------------------------------- 300-VW


@NEEDS_DATA
def test_300vw_frames_in_order_with_frame_numbers():
    samples = read_300vw(SAMPLES / "300vw")
    assert [(s.image_path.parent.parent.name, s.attributes["frame"]) for s in samples] == [
        ("001", 6), ("001", 9), ("401", 731), ("401", 732)
    ]
    assert [s.image_path.name for s in samples] == ["000006.jpg", "000009.jpg", "000731.jpg", "000732.jpg"]
    assert all(s.image_path.parent.name == "imgs" and s.scheme == "68" for s in samples)
    # 001/annot/000006.pts line 4: "743.224 197.764" -> minus 1
    assert samples[0].points[0] == pytest.approx([742.224, 196.764], abs=1e-9)
    # 401/annot/000731.pts line 4: "354.326810 277.170196"
    assert samples[2].points[0] == pytest.approx([353.32681, 276.170196], abs=1e-9)
    assert image_size(samples[0]) == (1280, 720) and image_size(samples[2]) == (700, 512)
    assert_inside_image(samples)
    clip = read_annotations(SAMPLES / "300vw" / "401")
    assert [s.attributes["frame"] for s in clip] == [731, 732]
    one = read_annotations(SAMPLES / "300vw" / "001" / "annot" / "000009.pts")
    assert one[0].attributes == {"frame": 9} and one[0].image_path.name == "000009.jpg"


def test_300vw_sorts_by_frame_number_and_checks_images(tmp_path):
    pts = np.full((68, 2), 5.0)
    for name in ("000010", "000002"):
        write(tmp_path / "clip" / "annot" / f"{name}.pts", pts_text(pts))
    write(tmp_path / "clip" / "imgs" / "000002.jpg", "x")
    with pytest.raises(AnnotationError, match=r"000010\.pts:1: expected the frame image .*000010\.jpg"):
        read_300vw(tmp_path / "clip")
    samples = read_300vw(tmp_path / "clip", check_images=False)
    assert [s.attributes["frame"] for s in samples] == [2, 10]


# ----------------------------------------------------------------------------- WFLW


@NEEDS_DATA
def test_wflw_real_list():
    samples = read_wflw_list(WFLW_LIST)
    assert len(samples) == 4 and len({s.image_path for s in samples}) == 2
    assert [s.image_path.name for s in samples].count("7_Cheering_Cheering_7_16.jpg") == 3
    assert all(s.image_path.parent.parent.name == "WFLW_images" for s in samples)
    first = samples[0]
    assert first.scheme == "98" and first.points.shape == (98, 2)
    # row 1 starts "440.696106 132.732559": WFLW is read unshifted
    assert first.points[0] == pytest.approx([440.696106, 132.732559], abs=1e-9)
    assert first.box == Box(432.0, 113.0, 532.0, 214.0)
    assert first.attributes == dict.fromkeys(("pose", "expression", "illumination", "makeup", "occlusion", "blur"), 0)
    assert first.source.endswith("list_98pt_rect_attr_test.txt:1")
    # the third face's points reach y = 842.16, below its box's y_max = 768
    assert samples[2].points[:, 1].max() > samples[2].box.y2
    assert_inside_image(samples)
    assert len(read_annotations(WFLW_LIST)) == 4


@NEEDS_DATA
def test_wflw_finds_images_two_levels_up_like_the_release(tmp_path):
    # release layout: WFLW_annotations/list_98pt_rect_attr_train_test/list.txt beside WFLW_images/
    (tmp_path / "WFLW_images").symlink_to(SAMPLES / "wflw" / "WFLW_images")
    nested = tmp_path / "WFLW_annotations" / "list_98pt_rect_attr_train_test" / WFLW_LIST.name
    write(nested, WFLW_LIST.read_text())
    samples = read_wflw_list(nested)
    football = "36--Football/36_Football_americanfootball_ball_36_415.jpg"
    assert samples[0].image_path == tmp_path / "WFLW_images" / football


@NEEDS_DATA
def test_wflw_errors(tmp_path):
    row = WFLW_LIST.read_text().splitlines()[0].split()
    (tmp_path / "WFLW_images").symlink_to(SAMPLES / "wflw" / "WFLW_images")

    def lst(name: str, rows: list[list[str]]) -> Path:
        return write(tmp_path / name, "\n".join(" ".join(r) for r in rows) + "\n")

    with pytest.raises(
        AnnotationError,
        match=r"short\.txt:2: expected 207 fields \(196 coordinates, 4 box values, 6 flags, image path\), got 206",
    ):
        read_wflw_list(lst("short.txt", [row, row[:5] + row[6:]]))
    flag = row[:203] + ["2"] + row[204:]
    with pytest.raises(AnnotationError, match=r"flag\.txt:1: expected the makeup flag to be 0 or 1, got 2"):
        read_wflw_list(lst("flag.txt", [flag]))
    box = row[:196] + ["532", "113", "432", "214"] + row[200:]
    with pytest.raises(AnnotationError, match=r"box\.txt:1: expected a box with x_max > x_min"):
        read_wflw_list(lst("box.txt", [box]))
    junk = row[:10] + ["1.2.3"] + row[11:]
    with pytest.raises(AnnotationError, match=r"junk\.txt:1: expected coordinate 11 to be a number, got '1\.2\.3'"):
        read_wflw_list(lst("junk.txt", [junk]))
    missing = row[:206] + ["7--Cheering/nope.jpg"]
    with pytest.raises(
        AnnotationError,
        match=r"missing\.txt:2: expected the image .*nope\.jpg, but that file does not exist",
    ):
        read_wflw_list(lst("missing.txt", [row, missing]))
    assert len(read_wflw_list(tmp_path / "missing.txt", check_images=False)) == 2


# ----------------------------------------------------------------------------- COFW .mat


@NEEDS_DATA
def test_cofw_v5_real_file():
    samples = read_cofw_mat(COFW_MAT)
    raw = scipy.io.loadmat(COFW_MAT)
    assert len(samples) == 2
    a = samples[0]
    assert a.scheme == "29" and a.points.shape == (29, 2) and a.visible.shape == (29,)
    # phisT(1, 1) = 47.563..., phisT(1, 30) = 121.076... (1-based MATLAB pixels) -> minus 1
    assert a.points[0] == pytest.approx([46.563, 120.076], abs=1e-3)
    assert a.points[0] == pytest.approx(raw["phisT"][0, [0, 29]] - 1.0, abs=1e-12)
    assert a.visible.all()  # the sample's 29 occlusion flags are all 0
    # bboxesT(1, :) = [38 102 105 180] (x y w h, 1-based) -> x1 = 37, y1 = 101, x2 = 37 + 105, y2 = 101 + 180
    assert a.box == Box(37.0, 101.0, 142.0, 281.0)
    assert a.image.dtype == np.uint8 and a.image.shape == (322, 235, 3)
    assert samples[1].image.shape == (253, 352, 3)
    np.testing.assert_array_equal(a.image, raw["IsT"][0, 0])
    assert str(a.image_path).endswith("COFW_test_color.mat#1") and a.source.endswith("COFW_test_color.mat:1")
    assert_inside_image(samples)
    assert len(read_annotations(COFW_MAT)) == 2


def _write_matlab_v73(path: Path, variables: dict[str, object]) -> None:
    """Write ``variables`` the way MATLAB's ``save -v7.3`` does.

    MATLAB arrays are column-major, so an ``N x 87`` double lands in HDF5 as ``(87, N)``; a cell
    is a dataset of object references (transposed too) to datasets in the ``#refs#`` group; each
    dataset carries a ``MATLAB_class`` attribute; the file starts with a 512-byte user block that
    holds MATLAB's 128-byte text header.
    """
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        for name, value in variables.items():
            if isinstance(value, np.ndarray) and value.dtype == object:  # a cell
                cell = np.empty(value.shape[::-1], dtype=h5py.ref_dtype)
                for idx in np.ndindex(value.shape):
                    element = np.asarray(value[idx])
                    d = refs.create_dataset(f"{name}_{'_'.join(map(str, idx))}", data=element.T)
                    d.attrs["MATLAB_class"] = np.bytes_("uint8" if element.dtype == np.uint8 else "double")
                    cell[idx[::-1]] = d.ref
                ds = f.create_dataset(name, data=cell)
                ds.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                ds = f.create_dataset(name, data=np.asarray(value, dtype=np.float64).T)
                ds.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")


@NEEDS_DATA
def test_cofw_v73_hdf5_gives_identical_samples(tmp_path):
    raw = scipy.io.loadmat(COFW_MAT)
    v73 = tmp_path / "COFW_test_color.mat"
    _write_matlab_v73(v73, {"IsT": raw["IsT"], "phisT": raw["phisT"], "bboxesT": raw["bboxesT"]})
    assert h5py.is_hdf5(v73) and v73.read_bytes()[:10] == b"MATLAB 7.3"
    with h5py.File(v73, "r") as f:  # the layout MATLAB uses: transposed, refs into #refs#
        assert f["phisT"].shape == (87, 2) and f["IsT"].shape == (1, 2)
        assert f[f["IsT"][0, 0]].shape == (3, 235, 322)
    got, want = read_cofw_mat(v73), read_cofw_mat(COFW_MAT)
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.points, w.points)
        np.testing.assert_array_equal(g.visible, w.visible)
        np.testing.assert_array_equal(g.image, w.image)
        assert g.box == w.box and g.scheme == w.scheme
        assert g.image_path.name == w.image_path.name


def test_cofw_train_names_grayscale_and_occlusion(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, size=(40, 30), dtype=np.uint8)  # H x W grayscale
    phis = np.zeros((1, 87))
    phis[0, :29] = np.linspace(5, 25, 29)  # x, 1-based
    phis[0, 29:58] = np.linspace(3, 35, 29)  # y
    phis[0, 58 + 4] = 1  # point 5 occluded
    images = np.empty((1, 1), dtype=object)
    images[0, 0] = gray
    for version, path in (("v5", tmp_path / "train5.mat"), ("v7.3", tmp_path / "train73.mat")):
        variables = {"IsTr": images, "phisTr": phis, "bboxesTr": np.array([[2.0, 3.0, 20.0, 30.0]])}
        if version == "v5":
            scipy.io.savemat(path, variables)
        else:
            _write_matlab_v73(path, variables)
        (s,) = read_cofw_mat(path)
        assert s.image.shape == (40, 30, 3)
        np.testing.assert_array_equal(s.image[..., 1], gray)
        assert s.points[0] == pytest.approx([4.0, 2.0])  # (5, 3) - 1
        assert s.visible.tolist() == [i != 4 for i in range(29)]
        assert s.box == Box(1.0, 2.0, 21.0, 32.0)  # x, y = (2, 3) - 1, w, h = 20, 30


def test_cofw_errors(tmp_path):
    images = np.empty((2, 1), dtype=object)
    images[0, 0] = images[1, 0] = np.zeros((10, 10, 3), np.uint8)
    boxes = np.ones((2, 4))
    p = tmp_path / "shape.mat"
    scipy.io.savemat(p, {"IsT": images, "phisT": np.zeros((2, 58)), "bboxesT": boxes})
    with pytest.raises(AnnotationError, match=r"shape\.mat:1: expected phisT of shape \(2, 87\) .*got \(2, 58\)"):
        read_cofw_mat(p)
    p = tmp_path / "missing.mat"
    scipy.io.savemat(p, {"IsT": images, "phisT": np.zeros((2, 87))})
    with pytest.raises(
        AnnotationError,
        match=r"missing\.mat:1: expected variables IsT, phisT, bboxesT, missing bboxesT",
    ):
        read_cofw_mat(p)
    p = tmp_path / "flags.mat"
    phis = np.zeros((2, 87))
    phis[1, 60] = 0.5
    scipy.io.savemat(p, {"IsT": images, "phisT": phis, "bboxesT": boxes})
    with pytest.raises(
        AnnotationError,
        match=r"flags\.mat:2: expected occlusion flags 0 or 1 in phisT row 2, got 0\.5",
    ):
        read_cofw_mat(p)
    p = tmp_path / "none.mat"
    scipy.io.savemat(p, {"x": np.zeros(3)})
    with pytest.raises(
        AnnotationError,
        match=r"none\.mat:1: expected COFW variables IsT/phisT/bboxesT or IsTr/phisTr/bboxesTr",
    ):
        read_cofw_mat(p)
    p = write(tmp_path / "text.mat", "this is not a MATLAB file at all, just text\n" * 4)
    with pytest.raises(AnnotationError, match=r"text\.mat:1: expected a MATLAB \.mat file"):
        read_cofw_mat(p)


# ----------------------------------------------------------------------------- JD-106


@NEEDS_DATA
def test_jd106_real_folder():
    samples = read_jd106_folder(SAMPLES / "jd106")
    assert [s.image_path.name for s in samples] == ["10773046825_0.jpg", "13609937564_5.jpg"]
    assert all(s.scheme == "106" and s.points.shape == (106, 2) for s in samples)
    # 10773046825_0.jpg.txt line 2: "406.000 644.000"; JD is read unshifted
    assert samples[0].points[0].tolist() == [406.0, 644.0]
    assert samples[1].points[0].tolist() == [179.0, 213.0]
    assert samples[0].source.endswith("10773046825_0.jpg.txt:1")
    assert_inside_image(samples)
    single = read_annotations(SAMPLES / "jd106" / "landmark" / "13609937564_5.jpg.txt")
    assert single[0].image_path == SAMPLES / "jd106" / "picture" / "13609937564_5.jpg"
    assert len(read_annotations(SAMPLES / "jd106")) == 2


def test_jd106_errors(tmp_path):
    pts = [f"{i}.0 {i + 1}.0" for i in range(106)]
    write(tmp_path / "picture" / "a.jpg", "x")
    ok = write(tmp_path / "landmark" / "a.jpg.txt", "106\n" + "\n".join(pts) + "\n")
    assert read_jd106_file(ok).points[3].tolist() == [3.0, 4.0]
    short = write(tmp_path / "landmark" / "short.jpg.txt", "106\n" + "\n".join(pts[:100]))
    with pytest.raises(
        AnnotationError,
        match=r"short\.jpg\.txt:102: expected 106 point lines \(line 1 says 106\), got end of file after 100",
    ):
        read_jd106_file(short, check_images=False)
    bad = write(tmp_path / "landmark" / "bad.jpg.txt", "106\n" + "\n".join(pts[:4] + ["1 2 3"] + pts[5:]))
    with pytest.raises(AnnotationError, match=r"bad\.jpg\.txt:6: expected point 5 as 2 numbers 'x y', got 3 fields"):
        read_jd106_file(bad, check_images=False)
    count = write(tmp_path / "landmark" / "count.jpg.txt", "10six\n1 2\n")
    with pytest.raises(
        AnnotationError,
        match=r"count\.jpg\.txt:1: expected the point count on line 1 to be an integer, got '10six'",
    ):
        read_jd106_file(count, check_images=False)
    with pytest.raises(AnnotationError, match=r"bad\.jpg\.txt:1: expected its image at .*picture/bad\.jpg"):
        read_jd106_file(write(tmp_path / "landmark" / "bad.jpg.txt", "106\n" + "\n".join(pts)))


# ----------------------------------------------------------------------------- dlib imglab XML


@NEEDS_DATA
def test_imglab_real_files_43_faces_in_9_photos():
    train = read_imglab_xml(DLIB / "training_with_face_landmarks.xml")
    test = read_imglab_xml(DLIB / "testing_with_face_landmarks.xml")
    assert (len(train), len(test)) == (18, 25)
    both = read_annotations(DLIB)
    assert len(both) == 43 and len({s.image_path for s in both}) == 9
    per_photo = sorted(sum(1 for s in both if s.image_path == p) for p in {s.image_path for s in both})
    assert per_photo[0] >= 2 and per_photo[-1] <= 7
    first = train[0]
    # <image file='2007_007763.jpg'><box top='90' left='194' width='37' height='37'><part name='00' x='201' y='107'/>
    assert first.image_path == DLIB / "2007_007763.jpg"
    assert first.box == Box(194.0, 90.0, 231.0, 127.0)
    assert first.points[0].tolist() == [201.0, 107.0]
    assert first.scheme == "68" and np.isfinite(first.points).all()
    assert first.source.endswith("training_with_face_landmarks.xml:11")
    assert_inside_image(both)


def test_imglab_missing_parts_are_nan_and_errors(tmp_path):
    write(tmp_path / "a.jpg", "x")
    xml = (
        "<?xml version='1.0'?>\n<dataset><images>\n<image file='a.jpg'>\n"
        "  <box top='10' left='20' width='30' height='40'>\n"
        + "".join(f"    <part name='{i:02d}' x='{i}' y='{2 * i}'/>\n" for i in range(68) if i != 30)
        + "  </box>\n  <box top='1' left='2' width='3' height='4' ignore='1'/>\n</image>\n</images></dataset>\n"
    )
    (s,) = read_imglab_xml(write(tmp_path / "ok.xml", xml))
    assert s.scheme == "68" and np.isnan(s.points[30]).all() and s.points[31].tolist() == [31.0, 62.0]
    assert s.box == Box(20.0, 10.0, 50.0, 50.0) and s.source.endswith("ok.xml:4")
    assert len(read_imglab_xml(tmp_path / "ok.xml", include_ignored=True)) == 2

    broken = write(tmp_path / "broken.xml", xml.replace("</box>\n  <box", "</bx>\n  <box", 1))
    with pytest.raises(AnnotationError, match=r"broken\.xml:72: expected well-formed XML, got mismatched tag"):
        read_imglab_xml(broken)
    name = write(tmp_path / "name.xml", xml.replace("name='05'", "name='left_eye'"))
    with pytest.raises(
        AnnotationError,
        match=r"name\.xml:10: expected a part name that is a point index \(e\.g\. '00'\), got 'left_eye'",
    ):
        read_imglab_xml(name)
    coord = write(tmp_path / "coord.xml", xml.replace("x='7'", "x='seven'"))
    with pytest.raises(AnnotationError, match=r"coord\.xml:12: expected x of part 07 to be a number, got 'seven'"):
        read_imglab_xml(coord)
    missing = write(tmp_path / "missing.xml", xml.replace("file='a.jpg'", "file='b.jpg'"))
    with pytest.raises(
        AnnotationError,
        match=r"missing\.xml:4: expected the image .*b\.jpg, but that file does not exist",
    ):
        read_imglab_xml(missing)
    with pytest.raises(AnnotationError, match=r"empty\.xml:1: expected imglab XML, got an empty file"):
        read_imglab_xml(write(tmp_path / "empty.xml", ""))


# ----------------------------------------------------------------------------- points lists


@NEEDS_DATA
def test_faces_lists_real_files():
    train5 = read_points_list(FACES / "train5.txt")
    assert len(train5) == 9400 and all(s.scheme == "5" and s.points.shape == (5, 2) for s in train5)
    # line 1: "images/lfw_5590/AJ_Cook_0001.jpg 33.52 37.04 47.28 35.28 ..."
    assert train5[0].image_path == FACES / "images" / "lfw_5590" / "AJ_Cook_0001.jpg"
    assert train5[0].points[:2].tolist() == [[33.52, 37.04], [47.28, 35.28]]
    assert train5[11].source.endswith("train5.txt:12")
    val68 = read_annotations(FACES / "val68.txt")
    assert len(val68) == 552 and all(s.scheme == "68" and s.points.shape == (68, 2) for s in val68)
    first = FACES.joinpath("val68.txt").read_text().split("\n", 1)[0].split()
    assert val68[0].points[0].tolist() == [float(first[1]), float(first[2])]
    assert_inside_image(train5[:300:10] + read_points_list(FACES / "val5.txt")[:600:40])


def test_points_list_errors(tmp_path):
    write(tmp_path / "a.jpg", "x")
    row = "a.jpg 1 2 3 4 5 6 7 8 9 10"
    rows = [row] * 11 + ["a.jpg 1 2 3 4 5 6 7 8"]
    with pytest.raises(AnnotationError, match=r"train5\.txt:12: expected 11 fields \(path \+ 5 x,y pairs\), got 9"):
        read_points_list(write(tmp_path / "train5.txt", "\n".join(rows)))
    with pytest.raises(AnnotationError, match=r"num\.txt:2: expected y of point 3 to be a number, got 'six'"):
        read_points_list(write(tmp_path / "num.txt", row + "\n" + row.replace(" 6 ", " six ")))
    with pytest.raises(
        AnnotationError,
        match=r"odd\.txt:1: expected PATH followed by x y pairs \(an even count of numbers\), got 9",
    ):
        read_points_list(write(tmp_path / "odd.txt", "a.jpg 1 2 3 4 5 6 7 8 9\n"))
    with pytest.raises(
        AnnotationError,
        match=r"four\.txt:1: expected the number of x,y pairs to be one of 5, 29, 68.*got 4",
    ):
        read_points_list(write(tmp_path / "four.txt", "a.jpg 1 2 3 4 5 6 7 8\n"))
    with pytest.raises(
        AnnotationError,
        match=r"gone\.txt:3: expected the image .*b\.jpg, but that file does not exist",
    ):
        read_points_list(write(tmp_path / "gone.txt", f"{row}\n# comment\n{row.replace('a.jpg', 'b.jpg')}\n"))
    with pytest.raises(AnnotationError, match=r"inf\.txt:1: expected x of point 1 to be a finite number, got 'inf'"):
        read_points_list(write(tmp_path / "inf.txt", row.replace(" 1 ", " inf ")))
    with pytest.raises(AnnotationError, match=r"empty\.txt:1: expected annotations, got an empty file"):
        read_points_list(write(tmp_path / "empty.txt", ""))


@NEEDS_DATA
def test_write_points_list_round_trip_and_atomic(tmp_path):
    samples = read_points_list(FACES / "val68.txt")[:20]
    samples[3].points[7] = np.nan  # a missing point survives as "nan"
    out = write_points_list(tmp_path / "sub" / "pred68.txt", samples)
    assert sorted(os.listdir(tmp_path / "sub")) == ["pred68.txt"]  # no temp file left behind
    first = out.read_text().split("\n", 1)[0].split()
    assert first[0].startswith("../") and len(first) == 1 + 136  # relative to the list's folder
    back = read_points_list(out)
    assert len(back) == 20
    for a, b in zip(samples, back):
        assert os.path.samefile(a.image_path, b.image_path)
        np.testing.assert_allclose(b.points, a.points, atol=5e-4)
    assert np.isnan(back[3].points[7]).all() and np.isfinite(back[3].points[8]).all()

    old = out.read_text()
    mixed = samples[:2] + [Sample(image_path=samples[0].image_path, points=np.zeros((5, 2)), scheme="5")]
    with pytest.raises(ValueError, match=r"sample 2 .*expected 68 points like sample 0, got 5"):
        write_points_list(out, mixed)
    assert out.read_text() == old  # a failed write leaves the old file as it was


# ----------------------------------------------------------------------------- detect --json


def test_read_predictions_jsonl_round_trip(tmp_path):
    pts = np.arange(136, dtype=np.float32).reshape(68, 2)
    face = FaceLandmarks(
        points=pts, scores=np.ones(68, np.float32), box=Box(1.0, 2.0, 80.0, 90.0),
        detector_score=0.9, align_points=pts[:5], scheme="68",
    )
    lines = [
        {"image": "a.jpg", "faces": [face.to_dict(), face.to_dict()]},
        {"image": "empty.jpg", "faces": []},
        {"image": "clip.mp4", "frame": 12, "faces": [face.to_dict()]},
    ]
    p = write(tmp_path / "pred.jsonl", "\n".join(json.dumps(r) for r in lines) + "\n")
    samples = read_predictions_jsonl(p)
    assert len(samples) == 3
    assert [str(s.image_path) for s in samples] == ["a.jpg", "a.jpg", "clip.mp4"]
    assert samples[0].box == Box(1.0, 2.0, 80.0, 90.0) and samples[0].scheme == "68"
    np.testing.assert_allclose(samples[0].points, pts)
    assert samples[2].attributes == {"frame": 12} and samples[2].source.endswith("pred.jsonl:3")
    assert len(read_annotations(p)) == 3
    as_array = write(tmp_path / "pred.json", json.dumps(lines))
    assert len(read_predictions_jsonl(as_array)) == 3


def test_read_predictions_jsonl_errors(tmp_path):
    good = json.dumps({"image": "a.jpg", "faces": [{"box": [0, 0, 9, 9], "points": [[1, 2]] * 5, "scheme": "5"}]})
    with pytest.raises(AnnotationError, match=r"p\.jsonl:2: expected one JSON object a line, got invalid JSON"):
        read_predictions_jsonl(write(tmp_path / "p.jsonl", good + "\n{\"image\": \n"))
    wrong = good.replace('"scheme": "5"', '"scheme": "68"')
    with pytest.raises(
        AnnotationError,
        match=r"q\.jsonl:1: expected face 1 with scheme '68' to have a matching point count, got 5 points",
    ):
        read_predictions_jsonl(write(tmp_path / "q.jsonl", wrong))
    with pytest.raises(AnnotationError, match=r"r\.jsonl:1: expected y of point 1 of face 1 to be a number, got \"2\""):
        read_predictions_jsonl(write(tmp_path / "r.jsonl", good.replace("[1, 2]", '[1, "2"]', 1)))
    with pytest.raises(AnnotationError, match=r"s\.jsonl:1: expected the box of face 1 to have x2 > x1"):
        read_predictions_jsonl(write(tmp_path / "s.jsonl", good.replace("[0, 0, 9, 9]", "[9, 0, 0, 9]")))


# ----------------------------------------------------------------------------- dispatch


def test_read_annotations_unknown_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotation path not found"):
        read_annotations(tmp_path / "nothing.txt")
    with pytest.raises(AnnotationError, match=r"x\.csv:1: cannot tell the annotation format from the suffix '\.csv'"):
        read_annotations(write(tmp_path / "x.csv", "a,b\n"))
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(AnnotationError, match=r"empty_dir: cannot tell the annotation format of this folder"):
        read_annotations(tmp_path / "empty_dir")
    with pytest.raises(
        AnnotationError,
        match=r"y\.txt:2: cannot tell the annotation format: .*got 3 field\(s\) starting '1'",
    ):
        read_annotations(write(tmp_path / "y.txt", "# header\n1 2 3\n"))


@NEEDS_DATA
@pytest.mark.parametrize(
    "rel, count",
    [("300w", 6), ("300vw", 4), ("wflw/list_98pt_rect_attr_test.txt", 4), ("cofw/COFW_test_color.mat", 2),
     ("jd106", 2), ("multiface/dlib_examples", 43)],
)
def test_read_annotations_every_sample_format(rel, count):
    samples = read_annotations(SAMPLES / rel)
    assert len(samples) == count
    assert all(re.search(r":\d+$", s.source) for s in samples)
