"""Fuzzing the text readers: junk, truncation and random numbers give valid Samples or AnnotationError.

Nothing else may escape a reader: no IndexError, no bare ValueError from ``float()``, no
UnicodeDecodeError, no ExpatError, no JSONDecodeError.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facealign.data.readers import (
    AnnotationError,
    read_annotations,
    read_imglab_xml,
    read_jd106_file,
    read_points_list,
    read_predictions_jsonl,
    read_pts,
    read_wflw_list,
)
from facealign.types import Sample

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e400", "-0", "0x10", "1_0", "nan", "NaN", "+3.5", ".5", "5.", "1e-9"]),
)
junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["{", "}", "version: 1", "n_points: 68", "n_points: 5", "n_points:", "#", ":", "a.jpg", "\r"]),
)
tokens = st.one_of(numbers, junk)
lines = st.lists(tokens, max_size=6).map(" ".join)


def check(samples: list[Sample]) -> None:
    """What every reader promises of what it returns."""
    assert isinstance(samples, list)
    for s in samples:
        assert isinstance(s, Sample)
        assert s.points.ndim == 2 and s.points.shape[1] == 2 and s.points.dtype == np.float64
        assert s.scheme == str(s.num_points)
        assert not np.isinf(s.points).any()
        assert s.source


def outcome(read, path: Path) -> None:
    """``read(path)`` returns valid samples or raises AnnotationError naming the file; nothing else."""
    try:
        out = read(path)
    except AnnotationError as e:
        assert path.name in str(e)
        return
    check(out if isinstance(out, list) else [out])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "a.jpg").write_bytes(b"x")
    return d


def pts_file(rng_points: list[tuple[str, str]], n_points: str) -> str:
    body = "\n".join(f"{x} {y}" for x, y in rng_points)
    return f"version: 1\nn_points: {n_points}\n{{\n{body}\n}}\n"


@FUZZ
@given(text=st.lists(lines, max_size=12).map(lambda ls: "version: 1\nn_points: 5\n{\n" + "\n".join(ls)))
def test_pts_random_lines(work, text):
    p = work / "f.pts"
    p.write_text(text, encoding="utf-8")
    outcome(lambda q: read_pts(q, check_images=False), p)


VALID_68 = [(f"{10 + i * 1.5:.3f}", f"{20 + i:.3f}") for i in range(68)]


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 67), st.integers(0, 1), tokens), max_size=3),
    n=st.sampled_from(["68", "5", "67", "x", "-1", "1e3"]),
    cut=st.integers(0, 1400),
)
def test_pts_random_numbers_and_truncation(work, edits, n, cut):
    xy = [list(pair) for pair in VALID_68]
    for k, c, tok in edits:  # a valid file with a few values replaced by random tokens
        xy[k][c] = tok
    p = work / "g.pts"
    text = pts_file(xy, n)
    p.write_text(text[: len(text) - cut], encoding="utf-8")
    outcome(lambda q: read_pts(q, check_images=False), p)


@FUZZ
@given(data=st.binary(max_size=300))
def test_pts_and_lists_random_bytes(work, data):
    for name, read in (("h.pts", read_pts), ("h.txt", read_points_list), ("h.jpg.txt", read_jd106_file)):
        p = work / name
        p.write_bytes(data)
        outcome(lambda q, r=read: r(q, check_images=False), p)


@FUZZ
@given(
    rows=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["a.jpg", "b/c.jpg", "1.5"]), st.lists(numbers, min_size=8, max_size=12)).map(
                lambda t: " ".join([t[0], *t[1]])
            ),
            lines,
        ),
        max_size=5,
    )
)
def test_points_list_random_rows(work, rows):
    p = work / "list.txt"
    p.write_text("\n".join(rows), encoding="utf-8")
    outcome(lambda q: read_points_list(q, check_images=False), p)
    outcome(lambda q: read_annotations(q, check_images=False), p)


@FUZZ
@given(
    count=st.sampled_from(["5", "6", "3", "x", ""]),
    xy=st.lists(st.tuples(numbers, numbers).map(" ".join) | lines, max_size=8),
)
def test_jd106_random(work, count, xy):
    p = work / "landmark" / "z.jpg.txt"
    p.parent.mkdir(exist_ok=True)
    p.write_text("\n".join([count, *xy]), encoding="utf-8")
    outcome(lambda q: read_jd106_file(q, check_images=False), p)


VALID_WFLW = [f"{100 + i * 0.5:.6f}" for i in range(196)] + ["90", "80", "300", "320"] + ["0"] * 6 + ["x/a.jpg"]


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 206), tokens), max_size=3),
    drop=st.integers(0, 230),
    extra=st.lists(lines, max_size=3),
)
def test_wflw_random_rows(work, edits, drop, extra):
    row = list(VALID_WFLW)
    for i, tok in edits:  # box values, flags, coordinates or the path replaced by random tokens
        row[i] = tok
    if drop < len(row):
        del row[drop]  # one field short
    p = work / "list_98pt_rect_attr_fuzz.txt"
    p.write_text("\n".join([" ".join(row), *extra]), encoding="utf-8")
    outcome(lambda q: read_wflw_list(q, check_images=False), p)
    outcome(lambda q: read_annotations(q, check_images=False), p)


XML = (
    "<?xml version='1.0'?>\n<dataset><images>\n<image file='a.jpg'>\n"
    "<box top='{t}' left='{l}' width='{w}' height='{h}'>\n{parts}</box>\n</image>\n</images></dataset>\n"
)


@FUZZ
@given(
    vals=st.lists(numbers, min_size=4, max_size=4),
    parts=st.lists(st.tuples(st.sampled_from(["00", "5", "67", "105", "200", "x", ""]), numbers, numbers), max_size=6),
    cut=st.integers(0, 400),
    noise=st.text(max_size=5),
)
def test_imglab_random(work, vals, parts, cut, noise):
    body = "".join(f"<part name='{n}' x='{x}' y='{y}'/>\n" for n, x, y in parts)
    text = XML.format(t=vals[0], l=vals[1], w=vals[2], h=vals[3], parts=body)
    pos = max(0, len(text) - cut)
    p = work / "fuzz.xml"
    p.write_text(text[:pos] + noise + text[pos:], encoding="utf-8")
    outcome(lambda q: read_imglab_xml(q, check_images=False), p)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
json_faces = st.fixed_dictionaries(
    {"points": st.lists(st.lists(st.floats() | st.integers() | st.none(), min_size=2, max_size=2), max_size=6)},
    optional={
        "box": st.lists(st.floats() | st.integers(), max_size=5),
        "scheme": st.sampled_from(["5", "68", 5, None, "x"]),
    },
)
json_rows = st.fixed_dictionaries(
    {"image": st.text(max_size=8) | st.integers(), "faces": st.lists(json_faces | json_values, max_size=3)},
    optional={"frame": st.integers() | st.floats() | st.booleans()},
)


@FUZZ
@given(rows=st.lists(json_rows | json_values, max_size=5), junk_line=st.none() | lines)
def test_predictions_jsonl_random(work, rows, junk_line):
    text = [json.dumps(r) for r in rows]
    if junk_line is not None:
        text.insert(len(text) // 2, junk_line)
    p = work / "pred.jsonl"
    p.write_text("\n".join(text), encoding="utf-8")
    outcome(read_predictions_jsonl, p)


@FUZZ
@given(text=st.lists(lines, max_size=6).map("\n".join))
def test_read_annotations_random_txt(work, text):
    p = work / "anything.txt"
    p.write_text(text, encoding="utf-8")
    outcome(lambda q: read_annotations(q, check_images=False), p)


# ------------------------------------------------------------------------------------------------------
# Real files, mutated byte by byte: truncation, bit flips, huge header values, inserted junk.

SAMPLES = Path(__file__).resolve().parents[2] / "../shared/data/samples"
FACES = Path(__file__).resolve().parents[2] / "../shared/data/faces"
#: Examples per seeded test (FACEALIGN_FUZZ_EXAMPLES=1500 for a long local run: all passed on 2026-12-04).
EXAMPLES = int(os.environ.get("FACEALIGN_FUZZ_EXAMPLES", "30"))
SEEDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

positions = st.one_of(st.integers(0, 600), st.floats(0.0, 1.0))  # the header often, anywhere sometimes
mutation = st.one_of(
    st.tuples(st.just("cut"), positions),
    st.tuples(st.just("flip"), positions, st.integers(0, 7)),
    st.tuples(st.just("huge"), positions, st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00", b"\xff\xff"])),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=16)),
)
mutations = st.lists(mutation, min_size=1, max_size=4)


def mutate(data: bytes, ops) -> bytes:
    """``data`` with each operation applied in turn; a position is a byte offset or a fraction of the length."""
    out = bytearray(data)
    for op, where, *arg in ops:
        at = min(len(out), where if isinstance(where, int) else int(where * len(out)))
        if op == "cut":
            del out[at:]
        elif op == "flip" and at < len(out):
            out[at] ^= 1 << arg[0]
        elif op == "huge":
            out[at : at + len(arg[0])] = arg[0]
        elif op == "insert":
            out[at:at] = arg[0]
    return bytes(out)


@SEEDED
@given(ops=mutations, name=st.sampled_from(["300w/einstein.jpg", "300w/indoor_020.png", "300w/takeo.ppm"]))
def test_mutated_photos_read_or_raise_value_error(work, ops, name):
    """``read_image`` documents ``ValueError`` for anything undecodable or too large: nothing else
    escapes, and what it returns is always ``(H, W, 3)`` uint8."""
    from facealign.imageio import read_image

    p = work / ("mutated" + Path(name).suffix)
    p.write_bytes(mutate((SAMPLES / name).read_bytes(), ops))
    try:
        rgb = read_image(p)
    except ValueError:
        return
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size > 0


def _faces_list_text() -> str:
    return "".join((FACES / "val5.txt").read_text().splitlines(keepends=True)[:6])


@SEEDED
@given(
    ops=mutations,
    kind=st.sampled_from(["pts", "xml", "list", "mat"]),
)
def test_mutated_annotation_files_give_samples_or_annotation_error(work, ops, kind):
    from facealign.data.readers import read_cofw_mat

    source, name, read = {
        "pts": ((SAMPLES / "300w/einstein.pts").read_bytes(), "m.pts", lambda q: read_pts(q, check_images=False)),
        "xml": ((SAMPLES / "multiface/dlib_examples/testing_with_face_landmarks.xml").read_bytes(), "m.xml",
                lambda q: read_imglab_xml(q, check_images=False)),
        "list": (_faces_list_text().encode(), "m.txt", lambda q: read_points_list(q, check_images=False)),
        "mat": ((SAMPLES / "cofw/COFW_test_color.mat").read_bytes(), "m.mat", read_cofw_mat),
    }[kind]
    p = work / name
    p.write_bytes(mutate(source, ops))
    outcome(read, p)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """An 8-frame MP4 (mp4v) of a real photo, 12 fps."""
    import cv2

    img = cv2.resize(cv2.imread(str(SAMPLES / "300w/einstein.jpg")), (240, 300))
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (240, 300))
    for _ in range(8):
        writer.write(img)
    writer.release()
    return path


@settings(max_examples=max(3, EXAMPLES // 6), deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(jpeg=mutations, png=mutations, mp4=mutations)
def test_a_run_over_mutated_files_still_processes_the_good_ones(aligner, clip, tmp_path_factory, jpeg, png, mp4):
    """``facealign detect`` over a folder of mutated photos and a mutated video beside good ones: the good
    files are all processed, every bad one is processed or skipped with a line, the JSON lines are valid."""
    import shutil

    from facealign.detect_run import run_detect

    d = tmp_path_factory.mktemp("run")
    shutil.copy(SAMPLES / "300w/einstein.jpg", d / "a_good.jpg")
    shutil.copy(clip, d / "a_good.mp4")
    (d / "b_bad.jpg").write_bytes(mutate((SAMPLES / "300w/einstein.jpg").read_bytes(), jpeg))
    (d / "b_bad.png").write_bytes(mutate((SAMPLES / "300w/indoor_020.png").read_bytes(), png))
    (d / "b_bad.mp4").write_bytes(mutate(clip.read_bytes(), mp4))
    out = d / "out.jsonl"
    log = io.StringIO()
    s = run_detect(aligner, [d], json_out=out, draw_dir=d / "draw", progress=False, log=log)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    done = {Path(r["image"]).name for r in rows}
    assert {"a_good.jpg", "a_good.mp4"} <= done
    assert sum(1 for r in rows if r["image"].endswith("a_good.mp4")) == 8
    assert all(Path(f).name.startswith("b_bad") for f, _ in s.failures)
    assert done.isdisjoint(Path(f).name for f, _ in s.failures if not f.endswith(".mp4"))  # a video may fail midway
    assert len(s.failures) == log.getvalue().count("skipped ")
    assert {p.name for p in d.iterdir() if p.name.startswith(".")} == set()  # no temporaries left
