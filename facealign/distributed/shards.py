"""A shard: a manifest of paths in, its JSON lines / Parquet rows and its ``done`` mark out, each file
written atomically under the shard's own name, so that a retried shard is still written once."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..atomic import atomic_write_bytes, atomic_write_text
from ..detect_run import VIDEO_EXTS, _row
from ..imageio import read_image
from ..video import tracked_frames
from .inputs import iter_input_paths

__all__ = ["ShardLayout", "ShardWorker", "parquet_schema", "run_shard", "write_manifests"]

#: Shard files are numbered with this many digits (a million shards; the names still sort beyond).
_DIGITS = 6


def parquet_schema():
    """One Parquet row per JSON line, the line's fields as columns (README, "Output"): ``image``,
    ``width``, ``height``, ``model``, ``frame`` and ``time_ms`` (null for photos), ``faces`` (the line's
    face dicts as structs) and ``error`` (null unless the photo failed)."""
    import pyarrow as pa

    floats = pa.list_(pa.float64())
    face = pa.struct([("box", floats), ("score", pa.float64()), ("points", pa.list_(floats)),
                      ("point_scores", floats), ("scheme", pa.string())])
    return pa.schema([("image", pa.string()), ("width", pa.int64()), ("height", pa.int64()), ("model", pa.string()),
                      ("frame", pa.int64()), ("time_ms", pa.float64()), ("faces", pa.list_(face)), ("error", pa.string())])


def _part(i: int) -> str:
    return f"part-{i:0{_DIGITS}d}"


@dataclass(frozen=True)
class ShardLayout:
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


def write_manifests(layout: ShardLayout, inputs: list[str], shard_size: int) -> tuple[int, int]:
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


def run_shard(predictor, layout: ShardLayout, shard: int, *, cwd: str, tracker_options: dict | None = None) -> dict[str, int]:
    """Align one shard's photos and write its outputs, the ``done`` mark last; its counts and its
    start and end (``time.time()`` of the worker). Videos are tracked as in ``facealign detect``
    (:func:`facealign.video.tracked_frames`, ``FaceTracker(predictor, **tracker_options)``).

    Any error on one photo (or video) becomes that file's failure record; the shard goes on. A video
    that ends before the frames its header announces keeps the lines of the frames read, then gets
    its failure record (as the single-process run reports it).
    """
    paths = [json.loads(x) for x in layout.manifest(shard).read_text(encoding="utf-8").splitlines() if x]
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    counts = {"images": 0, "frames": 0, "faces": 0, "failures": 0}
    start = time.time()
    model = getattr(getattr(predictor, "card", None), "name", None)
    for name in paths:
        full = Path(cwd, name)
        try:
            if full.suffix.lower() in VIDEO_EXTS:
                for fr, faces in tracked_frames(predictor, full, tracker_options):
                    counts["frames"] += 1
                    counts["faces"] += len(faces)
                    row = _row(name, fr.index, faces, rgb=fr.rgb, model=model, time_s=fr.time_ms / 1000.0)
                    lines.append(json.dumps(row))
                    rows.append({**row, "error": None})
            else:
                rgb = read_image(full)
                faces = predictor(rgb, color="rgb")
                counts["images"] += 1
                counts["faces"] += len(faces)
                row = _row(name, None, faces, rgb=rgb, model=model)
                lines.append(json.dumps(row))
                rows.append({**row, "error": None})
        except Exception as exc:  # noqa: BLE001 - one bad file of millions must not stop its shard
            counts["failures"] += 1
            msg = f"{type(exc).__name__}: {exc}"
            rows.append({"image": name, "faces": [], "error": msg})
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

    def __init__(self, make_predictor: Callable[[], Any], layout: ShardLayout, cwd: str, tracker_options: dict) -> None:
        self.predictor = make_predictor()
        self.layout, self.cwd, self.tracker_options = layout, cwd, tracker_options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        done = [run_shard(self.predictor, self.layout, int(s), cwd=self.cwd, tracker_options=self.tracker_options) for s in batch["shard"]]
        return {"shard": batch["shard"], **{k: np.array([d[k] for d in done]) for k in done[0]}} if done else batch
