"""`facealign detect` over folders and videos: JSON lines, drawings, bad files skipped."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign.api import Aligner
from facealign.cli import main
from facealign.detect_run import expand_inputs, run_detect
from facealign.smoothing import jitter

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"
REPO = Path(__file__).resolve().parents[1]


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
    drawn = sorted(str(p.relative_to(tmp_path / "draw")) for p in (tmp_path / "draw").rglob("*") if p.is_file())
    assert drawn == ["sub/group_landmarks.jpg", "takeo_landmarks.jpg"]  # the input tree, mirrored
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
    assert [r["time_ms"] for r in rows] == [round(1000 * i / 30, 3) for i in range(12)]
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


def test_outputs_are_checked_before_any_work(ckpt, tmp_path, capsys):
    photo = str(SAMPLES / "300w/takeo.ppm")
    (tmp_path / "a_file").write_text("x")
    cases = {
        ("--json", str(tmp_path)): "--json {}: is a folder; expected a file path",
        ("--json", str(tmp_path / "a_file/out.jsonl")): "is a file, not a folder",
        ("--draw", str(tmp_path / "a_file")): "--draw {}: is a file; expected a folder",
    }
    for (option, target), words in cases.items():
        # a missing model would fail too, later: the output check comes first
        assert main(["detect", photo, option, target, "--model", str(tmp_path / "none.pt"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words.format(target) in err, err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["detect", str(empty), "--quiet"]) == 2
    assert f"facealign detect: error: no images found in {empty}" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_json_folder_fails_at_once(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["detect", str(SAMPLES / "300w/takeo.ppm"), "--json", str(locked / "o.jsonl"), "--quiet"]) == 2
    assert "cannot write in" in capsys.readouterr().err


def test_a_missing_input_path_is_a_usage_error_before_any_work(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    rc = main(["detect", str(SAMPLES / "300w/takeo.ppm"), str(tmp_path / "nope.jpg"), "--json", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err == f"facealign detect: error: no such file or folder: {tmp_path / 'nope.jpg'}\n"
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing written, no temporary file left


def test_exit_status_1_names_the_skipped_files(ckpt, folder, capsys):
    rc = main(["detect", str(folder), "--model", str(ckpt), "--backend", "torch", "--quiet"])
    assert rc == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "2 images" in last and "2 failures" in last and last.endswith("skipped: fake.png, truncated.jpg")


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["detect", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "exit status:" in text and "2    usage error" in text and "130" in text


def test_draw_mirrors_the_input_tree(aligner, tmp_path):
    src = tmp_path / "in"
    for sub in ("a", "b"):
        (src / sub).mkdir(parents=True)
        shutil.copy(SAMPLES / "300w/einstein.jpg", src / sub / "x.jpg")
    cv2.imwrite(str(src / "a/x.png"), cv2.imread(str(SAMPLES / "300w/takeo.ppm")))
    s = run_detect(aligner, [src], draw_dir=tmp_path / "draw", progress=False)
    assert s.images == 3 and not s.failures
    drawn = sorted(str(p.relative_to(tmp_path / "draw")) for p in (tmp_path / "draw").rglob("*") if p.is_file())
    assert drawn == ["a/x_jpg_landmarks.jpg", "a/x_png_landmarks.jpg", "b/x_landmarks.jpg"]
    # each drawing is of its own photo: takeo.ppm's size, einstein's size
    assert cv2.imread(str(tmp_path / "draw/a/x_png_landmarks.jpg")).shape == cv2.imread(str(SAMPLES / "300w/takeo.ppm")).shape


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_keeps_the_lines_written_so_far(ckpt, tmp_path, signum):
    photos = tmp_path / "photos"
    photos.mkdir()
    n = 3000  # a run of many seconds: the signal must come while it works, even when this process is starved
    for i in range(n):
        (photos / f"{i:04d}.ppm").symlink_to((SAMPLES / "300w/takeo.ppm").resolve())
    out = tmp_path / "out" / "o.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "facealign.cli", "detect", str(photos), "--json", str(out), "--model", str(ckpt),
           "--backend", "torch", "--quiet"]
    # a terminal's Ctrl-C reaches a process whose SIGINT is at its default; a test runner's worker may ignore
    # SIGINT, and an ignored SIGINT is inherited (Python then installs no KeyboardInterrupt handler)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for a few lines in the hidden temporary file
        partial = list(out.parent.glob(".o.jsonl.*.partial")) if out.parent.exists() else []
        if partial and partial[0].read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before the signal could be sent"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(f"stopped by {signum.name}: ")
    rows = [json.loads(line) for line in out.read_text().splitlines()]  # valid JSON lines, every one whole
    assert 3 <= len(rows) < n and all(r["faces"] for r in rows)
    assert [Path(r["image"]).name for r in rows] == [f"{i:04d}.ppm" for i in range(len(rows))]
    assert sorted(p.name for p in out.parent.iterdir()) == ["o.jsonl"]  # no temporary file left


def test_max_pixels_skips_larger_files_with_a_line(ckpt, tmp_path, capsys):
    photo = str(SAMPLES / "300w/takeo.ppm")  # 150 x 225 = 33750 pixels
    args = ["detect", photo, "--model", str(ckpt), "--backend", "torch", "--quiet"]
    assert main(args + ["--max-pixels", "33749"]) == 1
    err = capsys.readouterr().err
    assert "takeo.ppm: 150 x 225 = 33,750 pixels is above the limit of 33,749" in err and "skipped: takeo.ppm" in err
    assert main(args + ["--max-pixels", "33750"]) == 0
