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
