"""A job: its work folder and ``job.json``, the Ray Data run over the unfinished shards, the merge."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

from ..atomic import atomic_write_text
from ..atomic import AtomicLines
from .session import ray_session
from .shards import ShardLayout, ShardWorker, write_manifests

__all__ = ["RaySummary", "detect_on_ray", "prepare_job"]


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
    #: from the first shard's start to the last shard's end of this run, on the workers' clocks: the run
    #: without Ray's start, the actors' model loading and the final merge
    working_seconds: float = 0.0
    #: images + video frames of this run's shards
    aligned_run: int = 0

    def line(self) -> str:
        rate = self.aligned_run / self.working_seconds if self.working_seconds > 0 else 0.0
        return (
            f"{self.images} images, {self.frames} video frames, {self.faces} faces, {self.failures} failures "
            f"(failure records in the output); {self.shards_run} of {self.shards} shards run in {self.seconds:.1f} s, "
            f"{rate:.2f} images/frames per s while the shards ran"
        )


def _job_spec(inputs: list[str], shard_size: int, settings: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": inputs, "cwd": os.getcwd(), "shard_size": shard_size, "settings": settings}


def prepare_job(layout: ShardLayout, spec: dict[str, Any], resume: bool) -> dict[str, Any]:
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
    shards, paths = write_manifests(layout, spec["inputs"], spec["shard_size"])
    job = {**spec, "shards": shards, "paths": paths}
    atomic_write_text(job_file, json.dumps(job, indent=1))
    return job


def _merge_jsonl(layout: ShardLayout, shards: int, out: Path) -> None:
    dest = AtomicLines(out)
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
    flip_test: bool | str | None = None,
    score_threshold: float = 0.6,
    smooth: bool = True,
    tracker_options: dict[str, Any] | None = None,
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
        smooth, tracker_options: how videos are tracked, as in :func:`facealign.detect_run.run_detect`
            (``FaceTracker`` keyword arguments; ``smooth=False``: no smoothing); part of the job's settings.
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
    from ..card import DEFAULT_MODEL

    from ..video import tracker_options as video_tracker_options

    model = str(model or DEFAULT_MODEL)
    tracking = video_tracker_options(tracker_options, smooth=smooth)  # bad ones fail here, not on every actor
    from ..api import flip_mode

    settings = {"model": model, "backend": backend, "flip_test": flip_mode(flip_test, model), "score_threshold": score_threshold,
                "json": json_out is not None, "parquet": parquet_dir is not None, "tracking": tracking}
    if make_predictor is None:
        from ..api import load_predictor
        from ..models.registry import get_model_card

        if model.endswith(".pt"):  # refused here, not by every actor of the cluster
            if not Path(model).is_file():
                raise FileNotFoundError(f"checkpoint not found: {model}")
        else:
            get_model_card(model)

        make_predictor = functools.partial(load_predictor, model, backend=backend, threads=threads,
                                           flip_test=flip_test, score_threshold=score_threshold)
    parquet = Path(parquet_dir).resolve() if parquet_dir is not None else None
    work = parquet / "_facealign" if parquet is not None else Path(f"{json_out}.parts").resolve()
    layout = ShardLayout(work=work, parquet=parquet, jsonl=json_out is not None)
    t0 = time.perf_counter()
    job = prepare_job(layout, _job_spec([str(p) for p in paths], shard_size, settings), resume)
    if "summary" in job:
        print(f"{work}: this job is complete, nothing to resume", file=log)
        return RaySummary(**{**job["summary"], "shards_run": 0, "aligned_run": 0, "working_seconds": 0.0,
                             "seconds": time.perf_counter() - t0})
    todo = [i for i in range(job["shards"]) if not layout.done(i).is_file()]
    if todo:
        _run_shards(layout, todo, job["cwd"], make_predictor, tracker_options=tracking, address=address, workers=workers,
                    threads=threads, object_store_memory=object_store_memory, progress=progress, log=log)
    summary = RaySummary(shards=job["shards"], shards_run=len(todo))
    first, last, ran = float("inf"), 0.0, set(todo)
    for i in range(job["shards"]):
        done = json.loads(layout.done(i).read_text())
        start, end = done.pop("start"), done.pop("end")
        if i in ran:  # this run's shards only: a resumed job's pause is no working time
            first, last = min(first, start), max(last, end)
            summary.aligned_run += done["images"] + done["frames"]
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


def _run_shards(layout: ShardLayout, todo: list[int], cwd: str, make_predictor: Callable[[], Any], *, tracker_options: dict,
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
                                                                 "cwd": cwd, "tracker_options": tracker_options},
                             batch_size=1, compute=ray.data.ActorPoolStrategy(size=pool), num_cpus=threads)
        with tqdm(total=len(todo), desc=f"detect on ray ({pool} workers)", unit="shard", disable=not progress,
                  file=log) as bar:
            for batch in out.iter_batches(batch_size=None):
                bar.update(len(batch["shard"]))
