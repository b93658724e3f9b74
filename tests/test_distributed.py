"""`facealign detect --ray`: inputs at scale, the exactly-once shard sink, and runs on a local Ray cluster
(head + 2 worker nodes on 127.0.0.1, started and stopped here) with a worker killed mid-run and a resume."""

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from facealign.api import load_predictor
from facealign.detect_run import run_detect
from facealign.imageio import read_image

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from facealign.distributed import ShardLayout, detect_on_ray, iter_input_paths, prepare_job, run_shard  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"
PHOTOS = ["300w/takeo.ppm", "300w/image_0010.png"] + [
    f"multiface/dlib_examples/{n}.jpg" for n in ("2008_001322", "2008_002470", "2008_002506", "2009_004587")
]


@pytest.fixture()
def photos(tmp_path) -> Path:
    """Six real photos in a folder tree, and one truncated JPEG (a failure record)."""
    d = tmp_path / "photos"
    for i, rel in enumerate(PHOTOS):
        dest = d / f"set{i % 2}" / Path(rel).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / rel, dest)
    (d / "set1/truncated.jpg").write_bytes((SAMPLES / PHOTOS[2]).read_bytes()[:300])
    return d


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


# ---------------------------------------------------------------- inputs, shards, no Ray needed


def test_inputs_folders_globs_text_and_parquet_lists(tmp_path, photos):
    (photos / "set0/notes.md").write_text("not an image")  # folders yield image / video files only
    walked = list(iter_input_paths([photos]))
    assert [Path(p).relative_to(photos).as_posix() for p in walked] == [
        "set0/2008_001322.jpg", "set0/2008_002506.jpg", "set0/takeo.ppm",
        "set1/2008_002470.jpg", "set1/2009_004587.jpg", "set1/image_0010.png", "set1/truncated.jpg",
    ]
    assert sorted(iter_input_paths([str(photos / "*/*.png"), str(photos / "**/takeo.*")])) == sorted(
        [str(photos / "set1/image_0010.png"), str(photos / "set0/takeo.ppm")])
    lst = photos / "list.txt"  # relative entries are relative to the list's folder
    lst.write_text("# two photos\nset0/takeo.ppm\n\n/abs/x.jpg\n")
    assert list(iter_input_paths([lst])) == [str(photos / "set0/takeo.ppm"), "/abs/x.jpg"]
    pq.write_table(pa.table({"path": ["set1/image_0010.png", "/abs/y.jpg"], "n": [1, 2]}), photos / "list.parquet")
    assert list(iter_input_paths([photos / "list.parquet"])) == [str(photos / "set1/image_0010.png"), "/abs/y.jpg"]
    # a name that matches nothing comes out as it is: the run reports it as a failure record
    assert list(iter_input_paths(["missing.jpg", str(tmp_path / "none*.jpg")])) == ["missing.jpg", str(tmp_path / "none*.jpg")]


def test_parquet_list_without_a_path_column_is_refused(tmp_path):
    pq.write_table(pa.table({"a": ["x"], "b": ["y"]}), tmp_path / "l.parquet")
    with pytest.raises(ValueError, match=r"l.parquet: expected a Parquet list of paths .* got columns \['a', 'b'\]"):
        list(iter_input_paths([tmp_path / "l.parquet"]))


def _spec(inputs, shard_size=3, parquet=True):
    return {"inputs": [str(p) for p in inputs], "cwd": os.getcwd(), "shard_size": shard_size,
            "settings": {"json": True, "parquet": parquet}}


def test_shard_writes_the_single_process_lines_parquet_rows_and_failure_records(aligner, photos, tmp_path):
    layout = ShardLayout(work=tmp_path / "pq/_facealign", parquet=tmp_path / "pq", jsonl=True)
    job = prepare_job(layout, _spec([photos], shard_size=4), resume=False)
    assert (job["shards"], job["paths"]) == (2, 7)  # 4 + 3 paths
    counts = [run_shard(aligner, layout, i, cwd=os.getcwd()) for i in range(2)]
    assert [c["images"] for c in counts] == [4, 2] and [c["failures"] for c in counts] == [0, 1]
    single = tmp_path / "single.jsonl"
    run_detect(aligner, [photos], json_out=single, progress=False)
    ray_lines = _lines(layout.lines(0)) + _lines(layout.lines(1))
    failure = json.loads(ray_lines.pop())  # shard order = input order: the truncated file is last
    assert failure["image"].endswith("truncated.jpg") and failure["error"].startswith("ValueError: cannot decode")
    assert ray_lines == _lines(single)  # the very same JSON lines
    rows = pq.read_table(layout.parquet).to_pylist()
    # every field of a line is its row's column of the same name (photos: frame / time_ms null)
    assert [{k: r[k] for k in json.loads(line)} for r, line in zip(rows, ray_lines)] == [json.loads(x) for x in ray_lines]
    assert all(r["frame"] is None and r["time_ms"] is None for r in rows)
    assert rows[-1]["faces"] == [] and rows[-1]["error"] == failure["error"]
    assert json.loads(layout.done(1).read_text()) == counts[1]


def test_a_video_in_a_shard_gives_the_single_process_frame_lines(aligner, tmp_path):
    import cv2

    img = cv2.imread(str(SAMPLES / PHOTOS[0]))
    video = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (img.shape[1], img.shape[0]))
    for _ in range(4):
        w.write(img)
    w.release()
    layout = ShardLayout(work=tmp_path / "v.jsonl.parts", parquet=tmp_path / "pq", jsonl=True)
    prepare_job(layout, _spec([video]), resume=False)
    assert run_shard(aligner, layout, 0, cwd=os.getcwd())["frames"] == 4
    run_detect(aligner, [video], json_out=tmp_path / "single.jsonl", progress=False)
    assert _lines(layout.lines(0)) == _lines(tmp_path / "single.jsonl")
    assert pq.read_table(layout.table(0)).column("frame").to_pylist() == [0, 1, 2, 3]


def test_a_shard_tracks_videos_with_the_run_options_and_reports_a_truncated_one(default_aligner, tmp_path):
    """The shard and the single-process run share one loop of tracked frames (video.tracked_frames):
    the same tracker options give the same lines, and a video cut short keeps its frames' lines, then
    gets a failure record saying how many of the announced frames were read."""
    import cv2

    from facealign.synthetic_video import motion_matrices, render_clip

    rgb = read_image(SAMPLES / PHOTOS[0])  # takeo, 150 x 225, moving 4 px a frame
    clip = render_clip(rgb, motion_matrices("translation", 12, (75, 112), px_per_frame=4.0), size=(240, 225))
    video = tmp_path / "walk.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (240, 225))
    for f in clip.frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    w.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    options = {"smoothing": "one-euro", "min_cutoff": 0.05, "beta": 0.0}  # a heavy smoothing that trails the face
    layout = ShardLayout(work=tmp_path / "o.jsonl.parts", parquet=None, jsonl=True)
    prepare_job(layout, _spec([video, cut], parquet=False), resume=False)
    counts = run_shard(default_aligner, layout, 0, cwd=os.getcwd(), tracker_options=options)
    single = tmp_path / "single.jsonl"
    s = run_detect(default_aligner, [video, cut], json_out=single, tracker_options=options, progress=False)
    lines = _lines(layout.lines(0))
    failure = json.loads(lines.pop())
    n = s.frames - 12  # frames read from the cut file
    assert 0 < n < 12 and counts["frames"] == 12 + n and counts["failures"] == 1
    assert lines == _lines(single)  # the same options, the same frames and points
    assert failure["image"] == str(cut)
    assert failure["error"] == f"TruncatedVideoError: {s.failures[0][1]}"
    assert f"video ends after {n} of the 12 frames its header announces" in failure["error"]
    default = ShardLayout(work=tmp_path / "d.jsonl.parts", parquet=None, jsonl=True)
    prepare_job(default, _spec([video], parquet=False), resume=False)
    run_shard(default_aligner, default, 0, cwd=os.getcwd())  # the default Kalman filter keeps up with the face
    x_nose = [[json.loads(x)["faces"][0]["points"][30][0] for x in ls] for ls in (lines[:12], _lines(default.lines(0)))]
    assert x_nose[0][-1] < x_nose[1][-1] - 8  # the options were honoured: heavy smoothing trails by > 2 frames


def test_a_finished_or_other_job_is_never_overwritten(photos, tmp_path):
    layout = ShardLayout(work=tmp_path / "out.jsonl.parts", parquet=None, jsonl=True)
    prepare_job(layout, _spec([photos], parquet=False), resume=False)
    with pytest.raises(ValueError, match="holds an earlier run of a job: pass --resume to continue it"):
        detect_on_ray([photos], json_out=tmp_path / "out.jsonl", shard_size=3)
    with pytest.raises(ValueError, match="--resume: .*job.json was made for"):
        detect_on_ray([photos], json_out=tmp_path / "out.jsonl", shard_size=2, resume=True)
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq/part-000000.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="already holds Parquet shards of another run: choose an empty folder"):
        detect_on_ray([photos], parquet_dir=tmp_path / "pq")
    with pytest.raises(ValueError, match=r"give json_out \(--json OUT\) and/or parquet_dir"):
        detect_on_ray([photos])
    with pytest.raises(ValueError, match="unknown model 'no_such_model'"):  # before any file or Ray
        detect_on_ray([photos], json_out=tmp_path / "x.jsonl", model="no_such_model")
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*gone.pt"):
        detect_on_ray([photos], json_out=tmp_path / "x.jsonl", model=str(tmp_path / "gone.pt"))
    assert not (tmp_path / "x.jsonl.parts").exists()


def test_cli_ray_options_need_ray(tmp_path, capsys):
    from facealign.cli import main

    assert main(["detect", "x.jpg", "--parquet", str(tmp_path / "d")]) == 2
    assert "--parquet and --resume belong to --ray runs" in capsys.readouterr().err


def test_cli_ray_runs_get_the_tracker_options(tmp_path, monkeypatch):
    import facealign.distributed
    from facealign.cli import main

    seen = {}

    def fake(paths, **kwargs):  # the job itself is tested above and below; here only what reaches it
        seen.update(kwargs)
        return facealign.distributed.RaySummary()

    monkeypatch.setattr(facealign.distributed, "detect_on_ray", fake)
    assert main(["detect", "clips/", "--ray", "--json", str(tmp_path / "o.jsonl"), "--quiet", "--smoothing", "one-euro",
                 "--beta", "0.2", "--landmark-pull", "0.5"]) == 0
    assert seen["tracker_options"] == {"smoothing": "one-euro", "beta": 0.2, "landmark_pull": 0.5}
    with pytest.raises(ValueError, match=r"landmark_pull must be in \(0, 1\], got 2.0"):  # before Ray starts
        detect_on_ray(["clips/"], json_out=tmp_path / "o.jsonl", tracker_options={"landmark_pull": 2.0})


def test_single_process_detect_never_imports_ray(ckpt, tmp_path):
    code = (
        "import sys; from facealign.cli import main; "
        f"rc = main(['detect', {str(SAMPLES / PHOTOS[0])!r}, '--json', {str(tmp_path / 'o.jsonl')!r}, "
        f"'--model', {str(ckpt)!r}, '--backend', 'torch', '--quiet']); "
        "print(rc, 'ray' in sys.modules, 'pyarrow' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["0", "False", "False"], out.stderr
    assert len(_lines(tmp_path / "o.jsonl")) == 1


@contextlib.contextmanager
def _deadline(seconds: int):
    """Bounded time: a TimeoutError in the test (its fixtures still tear down) if Ray hangs."""

    def expire(signum, frame):
        raise TimeoutError(f"a Ray test still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture()
def deadline():
    with _deadline(240):
        yield


@pytest.fixture()
def ray_tmp(monkeypatch):
    """Ray's session files in a short temporary folder (its socket paths must fit in 107 bytes)."""
    pytest.importorskip("ray")
    tmp = tempfile.mkdtemp(prefix="fa-ray-")
    os.makedirs(os.path.join(tmp, "ray"))
    monkeypatch.setenv("RAY_TMPDIR", tmp)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def test_cli_ray_embedded_instance(deadline, ckpt, photos, reference, ray_tmp, tmp_path, capsys):
    from facealign.cli import main

    out = tmp_path / "ray.jsonl"
    argv = ["detect", str(photos / "set0"), str(photos / "set1" / "*.png"), "--json", str(out), "--model", str(ckpt),
            "--backend", "torch", "--quiet", "--workers", "1", "--shard-size", "2", "--ray"]
    assert main(argv) == 0
    assert "4 images, 0 video frames" in capsys.readouterr().err
    names = ["2008_001322.jpg", "2008_002506.jpg", "takeo.ppm", "image_0010.png"]  # folder walk, then the glob
    assert [Path(json.loads(x)["image"]).name for x in _lines(out)] == names
    assert set(_lines(out)) <= set(reference)
    assert not Path(f"{out}.parts").exists()


# ---------------------------------------------------------------- on a local cluster: head + 2 workers


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster on 127.0.0.1: a head without CPUs and two 1-CPU worker nodes; no dashboard, no usage
    reporting, Ray's files in a temporary folder; its processes and files are gone after the module."""
    pytest.importorskip("ray")
    from facealign.distributed import loopback

    tmp = tempfile.mkdtemp(prefix="fa-ray-")  # short: Ray's socket paths must fit in 107 bytes
    os.makedirs(os.path.join(tmp, "ray"))
    common = {"node_ip_address": "127.0.0.1", "object_store_memory": 80 * 1024 * 1024, "temp_dir": tmp}
    c = None
    with pytest.MonkeyPatch.context() as mp, loopback():
        mp.setenv("RAY_TMPDIR", tmp)  # Ray's address file, not /tmp/ray's
        import ray
        from ray.cluster_utils import Cluster

        try:
            with _deadline(120):
                c = Cluster(initialize_head=True, head_node_args={**common, "num_cpus": 0, "include_dashboard": False})
                for _ in range(2):
                    c.add_node(**common, num_cpus=1)
            assert {n.node_ip_address for n in [c.head_node, *c.worker_nodes]} == {"127.0.0.1"}
            yield c
        finally:
            if ray.is_initialized():
                ray.shutdown()
            if c is not None:
                c.shutdown()
            shutil.rmtree(tmp, ignore_errors=True)


class KillOnce:
    """A predictor factory (pickled to the workers): its predictor logs every photo it aligns and SIGKILLs
    its own worker process on the photo named ``victim``, the first time only (the marker says it did).
    Shards hand the predictor decoded pixels, so a photo is known by the hash of its pixels."""

    def __init__(self, ckpt: Path, log: Path, photos: Path, victim: str = "", marker: Path | None = None) -> None:
        self.ckpt, self.log, self.victim, self.marker = ckpt, log, victim, marker
        self.names = {_pixels_key(read_image(f)): f.name for f in photos.rglob("*") if f.is_file() and f.name != "truncated.jpg"}

    def __call__(self):
        aligner = load_predictor(self.ckpt, backend="torch")
        predictor = functools.partial(_align_or_die, aligner, self)
        predictor.card = aligner.card  # the JSON lines name the model from its card
        return predictor


def _pixels_key(rgb: np.ndarray) -> str:
    return hashlib.sha1(rgb.tobytes()).hexdigest()


def _align_or_die(aligner, how: KillOnce, image: np.ndarray, *, color: str):
    name = how.names[_pixels_key(image)]
    with open(how.log, "a") as fh:  # O_APPEND: whole lines from every worker
        fh.write(name + "\n")
    if name == how.victim:
        try:
            os.close(os.open(how.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return aligner(image, color=color)


@pytest.fixture()
def reference(aligner, photos, tmp_path) -> list[str]:
    """The single-process run's JSON lines."""
    run_detect(aligner, [photos], json_out=tmp_path / "single.jsonl", progress=False)
    return _lines(tmp_path / "single.jsonl")


def _by_image(lines: list[str]) -> dict[str, str]:
    rows = [json.loads(x) for x in lines]
    names = [r["image"] for r in rows]
    assert len(names) == len(set(names)), "a photo written twice"
    return dict(zip(names, lines))


def test_cluster_run_gives_the_single_process_lines_and_parquet(deadline, cluster, ckpt, photos, reference, tmp_path):
    out, pqdir = tmp_path / "ray.jsonl", tmp_path / "pq"
    s = detect_on_ray([photos], json_out=out, parquet_dir=pqdir, address=cluster.address, shard_size=3,
                      make_predictor=KillOnce(ckpt, tmp_path / "aligned.log", photos), progress=False)
    assert (s.images, s.failures, s.shards, s.shards_run) == (6, 1, 3, 3)
    lines = _by_image(_lines(out))
    failure = json.loads(lines.pop(str(photos / "set1/truncated.jpg")))
    assert failure["error"].startswith("ValueError: cannot decode")
    assert lines == _by_image(reference)  # the same faces, line for line
    assert s.faces == sum(len(json.loads(x)["faces"]) for x in reference)
    assert sorted(p.name for p in pqdir.iterdir()) == ["_facealign", "part-000000.parquet", "part-000001.parquet",
                                                      "part-000002.parquet"]
    assert pq.read_table(pqdir).num_rows == 7
    assert not (tmp_path / "ray.jsonl.parts").exists() and not (pqdir / "_facealign/manifests").exists()
    again = detect_on_ray([photos], json_out=out, parquet_dir=pqdir, address=cluster.address, shard_size=3,
                          resume=True, progress=False)  # a finished job: nothing to do, Ray not started
    assert (again.images, again.shards_run) == (6, 0)


def test_worker_killed_mid_shard_loses_and_duplicates_nothing(deadline, cluster, ckpt, photos, reference, tmp_path):
    out, log, marker = tmp_path / "ray.jsonl", tmp_path / "aligned.log", tmp_path / "killed"
    # shard 0 = set0/2008_001322.jpg, set0/2008_002506.jpg, set0/takeo.ppm: the worker dies on its 2nd photo
    kill = KillOnce(ckpt, log, photos, victim="2008_002506.jpg", marker=marker)
    s = detect_on_ray([photos], json_out=out, address=cluster.address, shard_size=3, make_predictor=kill,
                      progress=False)
    assert marker.exists()  # the worker was killed
    aligned = log.read_text().split()
    assert aligned.count("2008_001322.jpg") == 2  # aligned before the kill, and again when Ray retried the shard
    assert aligned.count("takeo.ppm") == 1  # never reached before the kill
    lines = _by_image(_lines(out))  # every photo exactly once
    del lines[str(photos / "set1/truncated.jpg")]
    assert lines == _by_image(reference)
    assert (s.images, s.failures) == (6, 1)


def test_resume_runs_only_the_unfinished_shards(deadline, cluster, aligner, ckpt, photos, reference, tmp_path):
    out, log = tmp_path / "ray.jsonl", tmp_path / "aligned.log"
    # a first run that stopped after its first shard (3 photos)
    layout = ShardLayout(work=Path(f"{out}.parts"), parquet=None, jsonl=True)
    settings = {"model": str(ckpt), "backend": "onnx", "flip_test": "turned", "score_threshold": 0.6, "json": True,
                "parquet": False, "tracking": {}}  # the tracker options of videos: the defaults
    prepare_job(layout, {**_spec([photos], shard_size=3), "settings": settings}, resume=False)
    run_shard(aligner, layout, 0, cwd=os.getcwd())
    s = detect_on_ray([photos], json_out=out, address=cluster.address, model=ckpt, shard_size=3, resume=True,
                      make_predictor=KillOnce(ckpt, log, photos), progress=False)
    assert (s.shards, s.shards_run, s.images, s.failures) == (3, 2, 6, 1)
    assert s.aligned_run == 3 and s.working_seconds > 0  # shard 1's three photos (shard 2 is the bad file)
    # shard 1's photos reach the predictor; shard 2's truncated file fails at decoding, before it
    assert sorted(log.read_text().split()) == ["2008_002470.jpg", "2009_004587.jpg", "image_0010.png"]
    lines = _by_image(_lines(out))
    del lines[str(photos / "set1/truncated.jpg")]
    assert lines == _by_image(reference)
    assert not layout.work.exists()  # work files cleared once OUT is complete
