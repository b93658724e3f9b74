"""FaceTracker on synthetic clips with known motion (a real photo warped, fresh noise per frame)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from facealign.geometry import apply_affine
from facealign.imageio import read_image
from facealign.landmarks import get_scheme
from facealign.synthetic_video import motion_matrices, render_clip
from facealign.tracking import FaceTracker, TrackedFace, fraction_inside
from facealign.types import Box
from facealign.video_metrics import jitter_std, lag_frames

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"


def _photo(width: int) -> np.ndarray:
    rgb = read_image(SAMPLES / "300w/indoor_029.png")  # 960 x 845, one face
    return cv2.resize(rgb, (width, round(width * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)


def _run(tracker: FaceTracker, frames: list[np.ndarray], fps: float = 30.0) -> list[list[TrackedFace]]:
    return [tracker.track(f, 1000.0 * i / fps, color="rgb") for i, f in enumerate(frames)]


def test_two_faces_keep_their_ids(default_aligner):
    face = _photo(300)
    canvas = np.zeros((300, 660, 3), np.uint8)
    canvas[: face.shape[0], :300] = face
    canvas[: face.shape[0], 340:640] = face[:, ::-1]  # the same person mirrored, on the right
    clip = render_clip(canvas, motion_matrices("translation", 16, (330, 150), px_per_frame=1.0))
    for tracker in (FaceTracker(default_aligner), FaceTracker(lambda rgb, color: default_aligner(rgb, color=color))):
        frames = _run(tracker, clip.frames)
        assert all(len(f) == 2 for f in frames)
        left = {min(f, key=lambda x: x.box.center[0]).track for f in frames}
        right = {max(f, key=lambda x: x.box.center[0]).track for f in frames}
        assert len(left) == 1 and len(right) == 1 and left != right  # one id each, never swapped
        assert sorted(left | right) == [0, 1]
    # the crop-following tracker ran the detector on its first frame only (redetect_every=30)
    assert FaceTracker(default_aligner).top_down and not tracker.top_down


def test_a_face_walking_out_ends_its_track(default_aligner):
    face = _photo(240)
    canvas = np.zeros((300, 640, 3), np.uint8)
    canvas[: face.shape[0], 380:620] = face
    clip = render_clip(canvas, motion_matrices("translation", 24, (320, 150), px_per_frame=12.0))
    frames = _run(FaceTracker(default_aligner), clip.frames)
    assert [f.track for f in frames[0]] == [0]
    seen = [i for i, f in enumerate(frames) if f]
    assert seen == list(range(len(seen)))  # present from the start, then gone for good
    assert 4 <= len(seen) < 20
    assert all(not f for f in frames[20:])  # no ghost once the face is out (it left by frame 19)
    for f in frames[: len(seen)]:
        assert [x.track for x in f] == [0]
        assert fraction_inside(f[0].points, 640, 300) >= 0.5


def test_box_is_the_box_around_the_points_on_every_frame(default_aligner):
    clip = render_clip(_photo(320), motion_matrices("rotation", 8, (160, 140), deg_per_frame=1.5), size=(400, 320))
    for faces in _run(FaceTracker(default_aligner, redetect_every=4), clip.frames):
        assert len(faces) == 1
        assert faces[0].box == Box.from_points(faces[0].points)
        assert faces[0].to_dict()["track"] == 0


@pytest.mark.parametrize("smoothing", ["kalman", "one-euro", "none"])
def test_still_jitter_and_moving_lag_within_loose_bounds(default_aligner, smoothing):
    """The benchmark (benchmarks/jitter.py) states the exact figures; these bounds are loose."""
    photo = _photo(400)
    scheme = get_scheme("68")
    tracks = {}
    for kind in ("still", "translation"):
        mats = motion_matrices(kind, 30, (200, 176))
        clip = render_clip(photo, mats, size=(560, 400))
        tracks[kind] = np.array([f[0].points for f in _run(FaceTracker(default_aligner, smoothing=smoothing), clip.frames)], np.float64)
    ref = tracks["still"].mean(0)
    iod = float(np.linalg.norm(np.subtract(*scheme.eye_centres(ref))))
    truth = np.array([apply_affine(m, ref) for m in motion_matrices("translation", 30, (200, 176))])
    lag = lag_frames(tracks["translation"], truth, skip=10)
    jitter = 100 * jitter_std(tracks["still"]) / iod
    if smoothing == "kalman":
        assert abs(lag) < 0.5 and jitter < 0.5  # this 30-frame clip: 0.36 % with the issue-20 default (benchmark: 0.14 %)
    elif smoothing == "one-euro":
        assert lag > 1.0  # One-Euro trails a face moving at 3 px a frame
    else:
        assert abs(lag) < 0.5 and jitter < 0.6


def test_rotation_lag_within_a_loose_bound(default_aligner):
    """A face turning 0.5 degrees a frame, both ways, on the photo where it is hardest (indoor_020, the
    one that carried the tracker's 0.70-frame rotation lag of the issue-19 benchmark). A turn is slow in
    pixels (0.7 px a frame 80 px from the centre), so an error that depends on the face's angle reads as
    lag of opposite signs in the two directions, while a lag has one sign: the mean of both is the lag.
    The benchmark (benchmarks/jitter.py) states the exact figures; this 30-frame clip gave 0.66 and -0.57 frame."""
    rgb = read_image(SAMPLES / "300w/indoor_020.png")  # 1024 x 1083: one face, tilted
    rgb = cv2.resize(rgb, (400, 423), interpolation=cv2.INTER_AREA)
    place = np.array([[1.0, 0.0, 40.0], [0.0, 1.0, 40.0], [0.0, 0.0, 1.0]])  # on a 480 x 503 canvas

    def clip(mats):
        return render_clip(rgb, np.array([np.vstack([m, [0, 0, 1]]) @ place for m in mats])[:, :2], size=(480, 503))

    still = _run(FaceTracker(default_aligner), clip(motion_matrices("still", 30, (0, 0))).frames)
    ref = np.array([f[0].points for f in still], np.float64).mean(0)
    centre = tuple(ref.mean(0))
    lags = []
    for deg in (0.5, -0.5):
        mats = motion_matrices("rotation", 30, centre, deg_per_frame=deg)
        faces = _run(FaceTracker(default_aligner), clip(mats).frames)
        assert all(len(f) == 1 and f[0].track == 0 for f in faces)  # one face, one track all along
        truth = np.array([apply_affine(m, ref) for m in mats])
        lags.append(lag_frames(np.array([f[0].points for f in faces], np.float64), truth, skip=10))
    assert all(abs(lag) < 1.0 for lag in lags), lags
    assert abs(np.mean(lags)) < 0.5, lags


def test_timestamps_must_increase(default_aligner):
    rgb = _photo(200)
    tracker = FaceTracker(default_aligner)
    tracker.track(rgb, 0.0, color="rgb")
    tracker.track(rgb, 33.3, color="rgb")
    with pytest.raises(ValueError, match=r"timestamps must increase: got 33.3 ms after 33.3 ms"):
        tracker.track(rgb, 33.3, color="rgb")
    tracker.reset()
    assert tracker.track(rgb, 0.0, color="rgb")[0].track == 0  # a new stream: ids start again


def test_bad_options_are_refused(default_aligner):
    with pytest.raises(ValueError, match="smoothing must be one of"):
        FaceTracker(default_aligner, smoothing="gauss")
    with pytest.raises(ValueError, match="process_noise > 0"):
        FaceTracker(default_aligner, process_noise=0.0)
    with pytest.raises(ValueError, match="min_cutoff > 0"):
        FaceTracker(default_aligner, smoothing="one-euro", min_cutoff=-1.0)
    with pytest.raises(ValueError, match="min_inside"):
        FaceTracker(default_aligner, min_inside=0.0)
    with pytest.raises(ValueError, match=r"landmark_pull must be in \(0, 1\], got 1.5"):
        FaceTracker(default_aligner, landmark_pull=1.5)


def test_bgr_frames_give_the_same_faces(default_aligner):
    rgb = _photo(200)
    a = FaceTracker(default_aligner, smoothing="none").track(rgb, 0.0, color="rgb")
    b = FaceTracker(default_aligner, smoothing="none").track(np.ascontiguousarray(rgb[:, :, ::-1]), 0.0, color="bgr")
    np.testing.assert_allclose(a[0].points, b[0].points)
    with pytest.raises(ValueError, match="color must be 'rgb' or 'bgr', got 'rgba'"):
        FaceTracker(default_aligner).track(rgb, 0.0, color="rgba")
    with pytest.raises(ValueError, match="color='rgb'.*color='bgr'|color='bgr'.*color='rgb'"):
        FaceTracker(default_aligner).track(rgb, 0.0)  # an array must state its channel order


def test_a_tracked_face_switches_to_the_flip_test_graph_with_hysteresis(default_aligner):
    """With flip_test="turned" (the default), a track turns at 40 degrees of yaw read off its crop's 5 points and
    turns back only under 35: a face held near 40 does not switch graphs from frame to frame."""
    from types import SimpleNamespace

    from facealign.headpose import nose_offset_at_yaw

    assert default_aligner.flip_test == "turned" and default_aligner.turned_yaw == 40.0
    tracker = FaceTracker(default_aligner)
    tracker.tracks = [SimpleNamespace(turned=False)]

    def five(yaw):  # eyes 40 px apart, the nose tip off their midpoint as the mean face turned `yaw` degrees
        return np.array([[0.0, 0.0], [40.0, 0.0], [20.0 + 40.0 * nose_offset_at_yaw(yaw), 25.0], [5.0, 45.0], [35.0, 45.0]])

    states = [tracker._turned([five(y)])[0] for y in (38, 39.9, 40.1, 37, 35.1, 34.9, 39, 41, 30)]
    assert states == [False, False, True, True, True, False, False, True, False]
    # no flip-test choice to make without the turned mode: the tracker passes none
    from facealign.api import Aligner

    assert FaceTracker(Aligner(flip_test=False))._turned([five(60)]) is None
