"""`facealign detect` over folders and videos: JSON lines, drawings, bad files skipped."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign.api import Aligner
from facealign.cli import main
from facealign.detect_run import expand_inputs, run_detect
from facealign.smoothing import jitter

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "300w/takeo.ppm", d / "takeo.ppm")
    shutil.copy(SAMPLES / "multiface/dlib_examples/2008_002470.jpg", d / "sub/group.jpg")
    data = (SAMPLES / "multiface/dlib_examples/2008_001009.jpg").read_bytes()
    (d / "sub/truncated.jpg").write_bytes(data[:200])
    (d / "notes.txt").write_text("not an image")  # not an image extension: not picked up from folders
    (d / "fake.png").write_text("not an image either")
    return d


def test_folder_run_writes_json_lines_and_skips_bad_files(aligner, folder, tmp_path):
    files = expand_inputs([folder])
    assert [f.name for f in files] == ["fake.png", "group.jpg", "truncated.jpg", "takeo.ppm"]  # sorted by path
    out = tmp_path / "out.jsonl"
    s = run_detect(aligner, [folder], json_out=out, draw_dir=tmp_path / "draw", progress=False)
    assert s.images == 2 and len(s.failures) == 2
    assert {Path(f).name for f, _ in s.failures} == {"fake.png", "truncated.jpg"}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 2
    takeo = next(r for r in rows if r["image"].endswith("takeo.ppm"))
    assert len(takeo["faces"]) == 1
    face = takeo["faces"][0]
    assert len(face["box"]) == 4 and len(face["points"]) == 68 and face["scheme"] == "68"
    assert 0.6 <= face["score"] <= 1.0
    group = next(r for r in rows if r["image"].endswith("group.jpg"))
    assert len(group["faces"]) >= 2
    assert sorted(p.name for p in (tmp_path / "draw").iterdir()) == ["group_landmarks.jpg", "takeo_landmarks.jpg"]
    assert not list(tmp_path.glob(".out.jsonl.*"))  # temporary file moved into place


def test_missing_path_is_reported_not_fatal(aligner, tmp_path):
    s = run_detect(aligner, [tmp_path / "nope.jpg", SAMPLES / "300w/takeo.ppm"], progress=False)
    assert s.images == 1 and len(s.failures) == 1


def _still_video(path: Path, frames: int = 12) -> None:
    img = cv2.imread(str(SAMPLES / "300w/takeo.ppm"))
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (img.shape[1], img.shape[0]))
    for _ in range(frames):
        w.write(img)
    w.release()


def test_video_tracks_smooths_and_draws(aligner, tmp_path):
    video = tmp_path / "still.avi"
    _still_video(video)
    out = tmp_path / "v.jsonl"
    s = run_detect(aligner, [video], json_out=out, draw_dir=tmp_path / "draw", progress=False)
    assert s.frames == 12 and not s.failures
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(12))
    track = np.array([r["faces"][0]["points"] for r in rows])
    assert track.shape == (12, 68, 2)
    # a still clip: smoothed landmarks barely move (jitter in pixels)
    assert jitter(track) < 1.0
    assert (tmp_path / "draw/still_landmarks.mp4").is_file()


def test_cli_detect_end_to_end(ckpt, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    rc = main(["detect", str(SAMPLES / "300w/takeo.ppm"), "--model", str(ckpt), "--backend", "torch",
               "--json", str(out), "--quiet"])
    assert rc == 0
    assert json.loads(out.read_text())["faces"][0]["scheme"] == "68"
    assert "1 images" in capsys.readouterr().err


def test_tracker_carries_the_alignment_without_redetecting(aligner):
    from facealign.imageio import read_image
    from facealign.video import FaceTracker

    rgb = read_image(SAMPLES / "300w/takeo.ppm")
    tracker = FaceTracker(aligner, smooth=False, redetect_every=0, min_score=0.0)  # the tiny model is untrained
    first = tracker(rgb, 0.0)
    for i in range(1, 6):
        faces = tracker(rgb, i / 30)
    assert tracker.detector_calls == 1
    # identical frames: the motion between them is the identity, so the crop never drifts
    np.testing.assert_allclose(tracker.tracks[0].align5, first[0].align_points, atol=1e-3)
    np.testing.assert_allclose(faces[0].points, first[0].points, atol=1e-3)


def test_json_lines_csv_and_drawings_follow_the_readme_schema(aligner, tmp_path):
    """Every JSON line names the image, its size and the model (video frames add frame and time_ms); the
    CSV has one row per face with the same numbers; drawings join the scheme's contours."""
    video = tmp_path / "still.avi"
    _still_video(video, frames=3)
    photo = SAMPLES / "300w/takeo.ppm"
    out, table = tmp_path / "o.jsonl", tmp_path / "o.csv"
    run_detect(aligner, [photo, video], json_out=out, csv_out=table, progress=False, model="tiny")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert list(rows[0]) == ["image", "width", "height", "model", "faces"]
    assert (rows[0]["width"], rows[0]["height"], rows[0]["model"]) == (150, 225, "tiny")
    assert list(rows[1]) == ["image", "width", "height", "model", "frame", "time_ms", "faces"]
    assert [(r["frame"], r["time_ms"]) for r in rows[1:]] == [(0, 0.0), (1, 33.333), (2, 66.667)]
    lines = table.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:12] == ["image", "frame", "time_ms", "width", "height", "model", "face", "x1", "y1", "x2", "y2", "score"]
    assert header[12:14] == ["x0", "y0"] and header[-1] == "y67" and len(lines) == 1 + 4
    first = lines[1].split(",")
    assert first[1:7] == ["", "", "150", "225", "tiny", "0"]
    np.testing.assert_allclose(np.array(first[12:], float).reshape(68, 2), rows[0]["faces"][0]["points"], atol=0.006)
    assert lines[3].split(",")[1:3] == ["1", "33.333"]


def test_drawing_joins_the_contours_and_scales_dots_to_the_face():
    from facealign.detect_run import draw_faces
    from facealign.landmarks import IBUG68
    from facealign.types import Box, FaceLandmarks

    canvas = np.zeros((500, 500, 3), np.uint8)
    angle = np.linspace(0, 2 * np.pi, 68, endpoint=False)  # points 18.5 px apart on a circle
    pts = np.stack([250 + 200 * np.cos(angle), 250 + 200 * np.sin(angle)], axis=1).astype(np.float32)
    face = FaceLandmarks(pts, np.ones(68, np.float32), Box(40, 40, 460, 460), 1.0, pts[:5], "68")
    img = draw_faces(canvas, [face])
    lit = lambda p: bool((img[int(round(p[1])), int(round(p[0]))] != 0).any())  # noqa: E731
    # a 420 px face: dots of radius round(420 / 100) = 4 px
    assert lit(pts[30] + [0, 4]) and not lit(pts[30] + [0, 7]) and not lit(pts[30] - [0, 7])
    # the jaw (points 0-16) is one joined contour; the jaw's end and the first brow point are not joined
    assert IBUG68.boundaries[0].indices == tuple(range(17))
    assert lit((pts[3] + pts[4]) / 2) and not lit((pts[16] + pts[17]) / 2)
