"""Video, camera and stream inputs of `facealign detect`: timestamps, track ids, frame rate, truncation."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign.cli import main
from facealign.detect_run import expand_inputs, run_detect
from facealign.imageio import read_image
from facealign.synthetic_video import motion_matrices, render_clip
from facealign.video import VideoSource, is_stream_url, tracker_options

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"


def _write(path: Path, frames: list[np.ndarray], fps: float, fourcc: str = "MJPG") -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()


def _container_times(path: Path) -> list[float]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while cap.read()[0]:
        out.append(cap.get(cv2.CAP_PROP_POS_MSEC))
    cap.release()
    return out


@pytest.fixture(scope="module")
def moving_clip(tmp_path_factory) -> Path:
    """A 12 fps clip of a real face moving 4 px a frame to the right (10 frames)."""
    rgb = read_image(SAMPLES / "300w/takeo.ppm")  # 150 x 225
    clip = render_clip(rgb, motion_matrices("translation", 10, (75, 112), px_per_frame=4.0), size=(240, 225))
    path = tmp_path_factory.mktemp("v") / "walk.avi"
    _write(path, clip.frames, 12.0)
    return path


def test_video_lines_carry_frame_time_and_track_and_the_drawing_keeps_the_frame_rate(default_aligner, moving_clip, tmp_path):
    out = tmp_path / "v.jsonl"
    s = run_detect(default_aligner, [moving_clip], json_out=out, draw_dir=tmp_path / "draw", progress=False)
    assert s.frames == 10 and not s.failures
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(10))
    times = [r["time_ms"] for r in rows]
    assert times == [round(t, 3) for t in _container_times(moving_clip)]  # the container's timestamps
    assert times == [round(1000 * i / 12, 3) for i in range(10)] and np.all(np.diff(times) > 0)
    assert all([f["track"] for f in r["faces"]] == [0] for r in rows)  # one face, one track
    drawn = cv2.VideoCapture(str(tmp_path / "draw/walk_landmarks.mp4"))
    assert drawn.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)  # was written at 30 fps whatever the input
    assert drawn.get(cv2.CAP_PROP_FRAME_COUNT) == 10
    drawn.release()


def test_truncated_video_says_how_many_frames_were_read(aligner, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.avi"
    _write(path, [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(30)], 30.0)
    cut = tmp_path / "cut.avi"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    src = VideoSource(cut)
    n = sum(1 for _ in src)
    assert src.frame_count == 30 and 0 < n < 30 and src.truncated
    out = tmp_path / "cut.jsonl"
    s = run_detect(aligner, [cut, path], json_out=out, progress=False)
    assert s.frames == n + 30
    assert len(s.failures) == 1 and s.failures[0][0] == str(cut)
    assert f"video ends after {n} of the 30 frames its header announces" in s.failures[0][1]
    assert len(out.read_text().splitlines()) == n + 30  # the frames read were kept
    assert not VideoSource(path).truncated


def test_max_frames_and_bad_sources(aligner, moving_clip, tmp_path):
    out = tmp_path / "m.jsonl"
    s = run_detect(aligner, [moving_clip, 99, tmp_path / "nope.mp4"], json_out=out, max_frames=3, progress=False)
    assert s.frames == 3
    assert [m for _, m in s.failures] == ["cannot open camera 99", f"no such video file: {tmp_path / 'nope.mp4'}"]
    with pytest.raises(ValueError, match="smoothing must be one of"):
        run_detect(aligner, [moving_clip], tracker_options={"smoothing": "median"}, progress=False)


def test_tracker_options_name_an_unknown_option_in_one_value_error():
    # a misspelt key was a TypeError from FaceTracker's constructor, not the ValueError the docstring promises
    with pytest.raises(ValueError, match=r"unknown tracker option\(s\) \['smothing'\]; expected some of \[.*'smoothing'"):
        tracker_options({"smothing": "none"})
    assert tracker_options({"beta": 0.2}, smooth=False) == {"beta": 0.2, "smoothing": "none"}


def test_stream_urls_are_kept_as_they_are():
    assert is_stream_url("rtsp://127.0.0.1:8554/cam") and is_stream_url("HTTP://x/y.mjpg")
    assert not is_stream_url("clips/rtsp.mp4")
    assert expand_inputs(["rtsp://127.0.0.1:8554/cam", 0]) == ["rtsp://127.0.0.1:8554/cam", 0]


def test_cli_show_without_a_display_is_one_clear_line(ckpt, moving_clip, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    rc = main(["detect", str(moving_clip), "--model", str(ckpt), "--backend", "torch", "--show", "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["facealign detect: error: --show needs a display: DISPLAY / WAYLAND_DISPLAY is not set (use --draw to write a video)"]


def test_cli_video_options(ckpt, moving_clip, tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    rc = main(["detect", str(moving_clip), "--model", str(ckpt), "--backend", "torch", "--json", str(out), "--quiet",
               "--smoothing", "one-euro", "--beta", "0.2", "--max-frames", "4"])
    assert rc == 0 and len(out.read_text().splitlines()) == 4
    assert main(["detect", "--model", str(ckpt), "--quiet"]) == 2
    assert "give photos, folders, videos or stream URLs, or --camera N" in capsys.readouterr().err
    assert main(["detect", str(moving_clip), "--model", str(ckpt), "--process-noise", "0", "--quiet"]) == 2
    assert "process_noise > 0" in capsys.readouterr().err
    assert main(["detect", str(moving_clip), "--model", str(ckpt), "--manoeuvre", "-1", "--quiet"]) == 2
    assert "manoeuvre > 0" in capsys.readouterr().err
    assert main(["detect", str(moving_clip), "--model", str(ckpt), "--landmark-pull", "0", "--quiet"]) == 2
    assert "landmark_pull must be in (0, 1], got 0.0" in capsys.readouterr().err


class _TimelessCamera:
    """A camera as OpenCV shows many: frames, but 0 ms for every timestamp and no frame count."""

    def __init__(self, index):
        self.left = 4

    def isOpened(self):
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: 0.0, cv2.CAP_PROP_FRAME_COUNT: -1.0}.get(prop, 0.0)

    def read(self):
        self.left -= 1
        return (True, np.zeros((8, 8, 3), np.uint8)) if self.left >= 0 else (False, None)

    def release(self):
        pass


def test_a_camera_without_timestamps_is_timed_by_the_clock(monkeypatch):
    monkeypatch.setattr(cv2, "VideoCapture", _TimelessCamera)
    src = VideoSource(0)
    times = [f.time_ms for f in src]
    assert len(times) == 4 and src.timing == "clock" and src.live
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))  # increasing, as the tracker needs
    assert src.fps is None and src.frame_count == 0 and not src.truncated
