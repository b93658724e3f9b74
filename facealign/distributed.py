"""``facealign detect --ray``: the single-process run's JSON lines (and Parquet) from a Ray cluster,
every photo written exactly once.

How a job runs (all files of a job sit in one work folder, ``DIR/_facealign`` with ``--parquet DIR``,
else ``OUT.parts`` beside ``--json OUT``):

1. The driver enumerates the inputs lazily (folders walked, globs, text and Parquet lists of paths
   streamed) and cuts them into shards of ``shard_size`` paths, each written as a manifest
   ``manifests/part-NNNNNN.txt``; then ``job.json``. It holds one shard of paths at a time, so its
   memory does not grow with the number of photos.
2. A Ray Data dataset of shard numbers goes through ``map_batches`` with an actor pool of predictors
   (one per ``threads`` CPUs of the cluster). An actor aligns its shard's photos and writes the shard's
   outputs, each atomically (temporary file + rename) under its deterministic name: ``DIR/part-NNNNNN.parquet``,
   ``jsonl/part-NNNNNN.jsonl``, and last ``done/part-NNNNNN.json`` (counts, start, end), the mark of a complete
   shard. An actor killed mid-shard is restarted by Ray and the shard's task retried; a retry rewrites
   the same names, so a shard is written once whatever happens to the workers.
3. The driver merges the JSONL shards in shard order into ``OUT`` (atomically) and clears the work files.

``resume=True`` dispatches only the shards without their ``done`` mark. A photo that fails becomes a
failure record (``{"image": ..., "error": ...}``), never a lost line. Ray is imported only here, only
when a job runs: the single-process ``facealign detect`` never imports it.
"""

from __future__ import annotations

import functools
import glob
import io
import json
import os
import shutil
import sys
import time
import contextlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO
from urllib.parse import urlsplit

import numpy as np

from .atomic import atomic_write_bytes, atomic_write_text
from .detect_run import IMAGE_EXTS, VIDEO_EXTS, _AtomicText, _record, _video_frames

__all__ = ["RaySummary", "detect_on_ray", "iter_input_paths", "loopback", "parquet_schema", "ray_session"]

#: Shard files are numbered with this many digits (a million shards; the name still sorts beyond).
_DIGITS = 6
#: Object store of an embedded instance: rows are shard numbers and counts, the outputs go to files.
EMBEDDED_OBJECT_STORE_BYTES = 256 * 1024 * 1024
LIST_EXTS = {".txt", ".lst"}
_LOOPBACK = {"127.0.0.1", "localhost"}


@dataclass
class RaySummary:
    """Counts of a whole job (complete shards of earlier runs included when resuming)."""

    images: int = 0
    frames: int = 0
    faces: int = 0
    failures: int = 0
    shards: int = 0
    shards_run: int = 0
    seconds: float = 0.0
    #: from the first shard's start to the last shard's end, on the workers' clocks: the job without
    #: Ray's start, the actors' model loading and the final merge
    working_seconds: float = 0.0

    def line(self) -> str:
        n = self.images + self.frames
        rate = n / self.working_seconds if self.working_seconds > 0 else 0.0
        return (
            f"{self.images} images, {self.frames} video frames, {self.faces} faces, {self.failures} failures "
            f"(failure records in the output); {self.shards_run} of {self.shards} shards run in {self.seconds:.1f} s, "
            f"{rate:.2f} images/frames per s while the shards ran"
        )


def _walk(folder: Path) -> Iterator[str]:
    """Image and video files under ``folder``, depth first, each folder's names sorted."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            if Path(f).suffix.lower() in IMAGE_EXTS | VIDEO_EXTS:
                yield os.path.join(root, f)


def _parquet_paths(path: Path) -> Iterator[str]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    strings = [f.name for f in pf.schema_arrow if f.type in ("string", "large_string")]
    col = "path" if "path" in names else (strings[0] if len(strings) == 1 else None)
    if col is None:
        raise ValueError(f"{path}: expected a Parquet list of paths (a 'path' column or one string column), got columns {names}")
    for batch in pf.iter_batches(columns=[col], batch_size=65536):
        for p in batch.column(0).to_pylist():
            if p:
                yield p if os.path.isabs(p) else os.path.join(path.parent, p)


def iter_input_paths(inputs: Iterable[str | Path]) -> Iterator[str]:
    """The photo / video paths named by ``inputs``, lazily, in a fixed order.

    Each input is a folder (image and video files under it, recursive), a text list (``.txt`` / ``.lst``:
    one path a line, ``#`` comments and blank lines skipped), a Parquet list (a ``path`` column, or its
    only string column), a glob pattern (``**`` recursive) or a file. Relative paths in a list are
    relative to the list's folder. A name that matches nothing is yielded as it is, so that it comes
    out as a failure record, as in the single-process run.
    """
    for item in map(str, inputs):
        p = Path(item)
        if p.is_dir():
            yield from _walk(p)
        elif p.suffix.lower() in LIST_EXTS and p.is_file():
            with open(p, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        yield line if os.path.isabs(line) else os.path.join(p.parent, line)
        elif p.suffix.lower() == ".parquet" and p.is_file():
            yield from _parquet_paths(p)
        elif glob.has_magic(item):
            found = False
            for m in glob.iglob(item, recursive=True):
                found = True
                if os.path.isdir(m):
                    yield from _walk(Path(m))
                else:
                    yield m
            if not found:
                yield item
        else:
            yield item


def parquet_schema():
    """One Parquet row per JSON line: ``image``, ``frame`` (null for photos), ``faces`` (the JSON
    line's face dicts as structs) and ``error`` (null unless the photo failed)."""
    import pyarrow as pa

    floats = pa.list_(pa.float64())
    face = pa.struct([("box", floats), ("score", pa.float64()), ("points", pa.list_(floats)),
                      ("point_scores", floats), ("scheme", pa.string())])
    return pa.schema([("image", pa.string()), ("frame", pa.int64()), ("faces", pa.list_(face)), ("error", pa.string())])


def _part(i: int) -> str:
    return f"part-{i:0{_DIGITS}d}"


@dataclass(frozen=True)
class _Layout:
    """Where one job's files live."""

    work: Path
    parquet: Path | None
    jsonl: bool

    def manifest(self, i: int) -> Path:
        return self.work / "manifests" / f"{_part(i)}.txt"

    def done(self, i: int) -> Path:
        return self.work / "done" / f"{_part(i)}.json"

    def lines(self, i: int) -> Path:
        return self.work / "jsonl" / f"{_part(i)}.jsonl"

    def table(self, i: int) -> Path:
        assert self.parquet is not None
        return self.parquet / f"{_part(i)}.parquet"


def _write_manifests(layout: _Layout, inputs: list[str], shard_size: int) -> tuple[int, int]:
    """Cut the inputs into shard manifests (one JSON string a line); (shards, paths)."""
    shard, n, chunk = 0, 0, []
    for path in iter_input_paths(inputs):
        chunk.append(json.dumps(path))
        n += 1
        if len(chunk) == shard_size:
            atomic_write_text(layout.manifest(shard), "\n".join(chunk) + "\n")
            shard, chunk = shard + 1, []
    if chunk:
        atomic_write_text(layout.manifest(shard), "\n".join(chunk) + "\n")
        shard += 1
    return shard, n


def run_shard(predictor, layout: _Layout, shard: int, *, cwd: str, smooth: bool = True) -> dict[str, int]:
    """Align one shard's photos and write its outputs, the ``done`` mark last; its counts and its
    start and end (``time.time()`` of the worker).

    Any error on one photo (or video) becomes that file's failure record; the shard goes on.
    """
    paths = [json.loads(x) for x in layout.manifest(shard).read_text(encoding="utf-8").splitlines() if x]
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    counts = {"images": 0, "frames": 0, "faces": 0, "failures": 0}
    start = time.time()
    for name in paths:
        full = Path(cwd, name)
        try:
            if full.suffix.lower() in VIDEO_EXTS:
                for i, _, faces, _ in _video_frames(predictor, full, smooth):
                    counts["frames"] += 1
                    counts["faces"] += len(faces)
                    rows.append({"image": name, "frame": i, "faces": [f.to_dict() for f in faces], "error": None})
                    lines.append(_record(name, i, faces))
            else:
                faces = predictor(str(full))  # a path: the predictor reads it (read_image)
                counts["images"] += 1
                counts["faces"] += len(faces)
                rows.append({"image": name, "frame": None, "faces": [f.to_dict() for f in faces], "error": None})
                lines.append(_record(name, None, faces))
        except Exception as exc:  # noqa: BLE001 - one bad file of millions must not stop its shard
            counts["failures"] += 1
            msg = f"{type(exc).__name__}: {exc}"
            rows.append({"image": name, "frame": None, "faces": [], "error": msg})
            lines.append(json.dumps({"image": name, "error": msg}))
    if layout.parquet is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=parquet_schema()), buf)
        atomic_write_bytes(layout.table(shard), buf.getvalue())
    if layout.jsonl:
        atomic_write_text(layout.lines(shard), "".join(s + "\n" for s in lines))
    done = {**counts, "start": start, "end": time.time()}
    atomic_write_text(layout.done(shard), json.dumps(done))
    return done


class ShardWorker:
    """A Ray Data actor: one predictor, built once, for every shard sent to it."""

    def __init__(self, make_predictor: Callable[[], Any], layout: _Layout, cwd: str, smooth: bool) -> None:
        self.predictor = make_predictor()
        self.layout, self.cwd, self.smooth = layout, cwd, smooth

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        done = [run_shard(self.predictor, self.layout, int(s), cwd=self.cwd, smooth=self.smooth) for s in batch["shard"]]
        return {"shard": batch["shard"], **{k: np.array([d[k] for d in done]) for k in done[0]}} if done else batch


@contextmanager
def loopback():
    """Keep every Ray process and connection of this process (and of the Ray processes it starts) on
    127.0.0.1, usage reporting off. On Linux Ray replaces a loopback node or cluster address by the
    machine's network address and listens on all interfaces; with its multi-machine switch off
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read when ray is imported, hence also set on the loaded
    module) 127.0.0.1 stays 127.0.0.1. Both are restored on exit."""
    saved = {k: os.environ.get(k) for k in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_USAGE_STATS_ENABLED")}
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from ray._private import ray_constants

    was, ray_constants.ENABLE_RAY_CLUSTER = ray_constants.ENABLE_RAY_CLUSTER, False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = was
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None, object_store_memory: int | None = None):
    """Ray for one job. ``address`` None: an embedded instance on 127.0.0.1 (stopped afterwards);
    otherwise that cluster (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``), the driver on 127.0.0.1
    when the cluster is. Dashboard and usage reporting off. An already initialised Ray is used as is."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address is None:
        kwargs.update(address="local", include_dashboard=False, num_cpus=num_cpus,
                      object_store_memory=object_store_memory or EMBEDDED_OBJECT_STORE_BYTES)
    else:
        kwargs["address"] = address
    host = urlsplit(address if "://" in address else f"//{address}").hostname if address else "127.0.0.1"
    with loopback() if host in _LOOPBACK else contextlib.nullcontext():
        if host in _LOOPBACK:
            kwargs["_node_ip_address"] = "127.0.0.1"
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(**kwargs)
        try:
            yield ray
        finally:
            ray.shutdown()


def _job_spec(inputs: list[str], shard_size: int, settings: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": inputs, "cwd": os.getcwd(), "shard_size": shard_size, "settings": settings}


def _prepare(layout: _Layout, spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    """The job's ``job.json``: read (``resume``) or made, with the manifests, for a new job."""
    job_file = layout.work / "job.json"
    if job_file.is_file():
        job = json.loads(job_file.read_text())
        if not resume:
            raise ValueError(f"{layout.work} holds an earlier run of a job: pass --resume to continue it, "
                             "or remove that folder to start again")
        mine = {k: job[k] for k in spec}
        if mine != spec:
            raise ValueError(f"--resume: {job_file} was made for {mine}, not for this command's {spec}")
        return job
    if layout.parquet is not None and any(layout.parquet.glob("part-*.parquet")):
        raise ValueError(f"{layout.parquet} already holds Parquet shards of another run: choose an empty folder")
    for sub in ("manifests", "jsonl", "done"):  # leftovers of a run stopped while enumerating
        shutil.rmtree(layout.work / sub, ignore_errors=True)
    shards, paths = _write_manifests(layout, spec["inputs"], spec["shard_size"])
    job = {**spec, "shards": shards, "paths": paths}
    atomic_write_text(job_file, json.dumps(job, indent=1))
    return job


def _merge_jsonl(layout: _Layout, shards: int, out: Path) -> None:
    dest = _AtomicText(out)
    for i in range(shards):
        with open(layout.lines(i), encoding="utf-8") as fh:
            shutil.copyfileobj(fh, dest.fh)
    dest.commit()


def detect_on_ray(
    paths: list[str | Path],
    *,
    json_out: str | Path | None = None,
    parquet_dir: str | Path | None = None,
    address: str | None = None,
    model: str | Path | None = None,
    backend: str = "onnx",
    threads: int = 1,
    flip_test: bool = False,
    score_threshold: float = 0.6,
    smooth: bool = True,
    workers: int | None = None,
    shard_size: int = 500,
    resume: bool = False,
    make_predictor: Callable[[], Any] | None = None,
    object_store_memory: int | None = None,
    progress: bool = True,
    log: TextIO | None = None,
) -> RaySummary:
    """``facealign detect`` on a Ray cluster (see the module docstring for the exactly-once design).

    Args:
        paths: folders, globs, files, text or Parquet lists of paths (:func:`iter_input_paths`).
        json_out: the JSON lines of the single-process run (in shard order) plus a failure record
            ``{"image": ..., "error": ...}`` per file that failed.
        parquet_dir: one Parquet file per shard, ``part-NNNNNN.parquet`` (:func:`parquet_schema`).
        address: None for an embedded local instance, else the cluster's address.
        workers: predictors (Ray actors of ``threads`` CPUs each); by default the cluster's CPUs / threads.
        shard_size: photos per shard: the unit of output files, retries and resume.
        resume: continue the job whose work folder is there, skipping its complete shards.
        make_predictor: builds the predictor on each actor (default: :func:`facealign.api.load_predictor`
            with ``model``, ``backend``, ``threads``, ``flip_test``, ``score_threshold``).
    """
    log = log if log is not None else sys.stderr
    if json_out is None and parquet_dir is None:
        raise ValueError("a Ray run writes files: give json_out (--json OUT) and/or parquet_dir (--parquet DIR)")
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {shard_size}")
    from .models.zoo import DEFAULT_MODEL

    model = str(model or DEFAULT_MODEL)
    settings = {"model": model, "backend": backend, "flip_test": flip_test, "score_threshold": score_threshold,
                "json": json_out is not None, "parquet": parquet_dir is not None}
    if make_predictor is None:
        from .api import load_predictor

        make_predictor = functools.partial(load_predictor, model, backend=backend, threads=threads,
                                           flip_test=flip_test, score_threshold=score_threshold)
    parquet = Path(parquet_dir).resolve() if parquet_dir is not None else None
    work = parquet / "_facealign" if parquet is not None else Path(f"{json_out}.parts").resolve()
    layout = _Layout(work=work, parquet=parquet, jsonl=json_out is not None)
    t0 = time.perf_counter()
    job = _prepare(layout, _job_spec([str(p) for p in paths], shard_size, settings), resume)
    if "summary" in job:
        print(f"{work}: this job is complete, nothing to resume", file=log)
        return RaySummary(**{**job["summary"], "shards_run": 0, "seconds": time.perf_counter() - t0})
    todo = [i for i in range(job["shards"]) if not layout.done(i).is_file()]
    if todo:
        _run_shards(layout, todo, job["cwd"], make_predictor, smooth=smooth, address=address, workers=workers,
                    threads=threads, object_store_memory=object_store_memory, progress=progress, log=log)
    summary = RaySummary(shards=job["shards"], shards_run=len(todo))
    first, last = float("inf"), 0.0
    for i in range(job["shards"]):
        done = json.loads(layout.done(i).read_text())
        first, last = min(first, done.pop("start")), max(last, done.pop("end"))
        for k, v in done.items():
            setattr(summary, k, getattr(summary, k) + v)
    summary.working_seconds = max(0.0, last - first)
    if json_out is not None:
        _merge_jsonl(layout, job["shards"], Path(json_out))
    if parquet is not None:  # the mark of a finished job, before its work files go
        atomic_write_text(work / "job.json", json.dumps({**job, "summary": asdict(summary)}, indent=1))
    for sub in ("manifests", "jsonl", "done"):
        shutil.rmtree(work / sub, ignore_errors=True)
    if parquet is None:
        shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    print(summary.line(), file=log)
    return summary


def _run_shards(layout: _Layout, todo: list[int], cwd: str, make_predictor: Callable[[], Any], *, smooth: bool,
                address: str | None, workers: int | None, threads: int, object_store_memory: int | None,
                progress: bool, log: TextIO) -> None:
    """Ray Data batch inference over the shards ``todo``: an actor pool of predictors, one shard a call."""
    from tqdm import tqdm

    with ray_session(address, object_store_memory=object_store_memory) as ray:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        pool = workers or max(1, cpus // threads)
        ds = ray.data.from_items([{"shard": i} for i in todo], override_num_blocks=len(todo))
        out = ds.map_batches(ShardWorker, fn_constructor_kwargs={"make_predictor": make_predictor, "layout": layout,
                                                                 "cwd": cwd, "smooth": smooth},
                             batch_size=1, compute=ray.data.ActorPoolStrategy(size=pool), num_cpus=threads)
        with tqdm(total=len(todo), desc=f"detect on ray ({pool} workers)", unit="shard", disable=not progress,
                  file=log) as bar:
            for batch in out.iter_batches(batch_size=None):
                bar.update(len(batch["shard"]))
