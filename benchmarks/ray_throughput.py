"""Photos per second of ``facealign detect``: the single-process run against Ray (an embedded instance on
127.0.0.1) with 1 and 2 workers, on the same photos (the first ``--photos`` of ``groups/images``, 3 to
30+ faces each, mostly 612 x 408).

Two rates per run: over the whole command (model load; for Ray also Ray's start, the actors' start-up
and the merge), and while the photos were being aligned (single process: ``run_detect`` after the model
is loaded; Ray: from the first shard's start to the last shard's end on the workers, ``RaySummary.
working_seconds``), the rate a long job settles at. Prints a markdown table.

    .venv/bin/python -m benchmarks.ray_throughput [--photos 120] [--shard-size 10] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from facealign.api import load_predictor
from facealign.detect_run import run_detect
from facealign.distributed import detect_on_ray
from facealign.card import DEFAULT_MODEL

GROUPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "groups" / "images"


def single_process(photos: list[Path], out: Path) -> tuple[float, float]:
    """(whole wall seconds, seconds of ``run_detect`` alone), 1 thread."""
    t = time.perf_counter()
    summary = run_detect(load_predictor(DEFAULT_MODEL, threads=1), photos, json_out=out, progress=False,
                         log=io.StringIO())
    return time.perf_counter() - t, summary.seconds


def on_ray(photos: list[Path], out: Path, *, workers: int, shard_size: int) -> tuple[float, float]:
    """(whole wall seconds, seconds from the first shard's start to the last one's end)."""
    t = time.perf_counter()
    summary = detect_on_ray(photos, json_out=out, workers=workers, shard_size=shard_size, threads=1,
                            progress=False, log=io.StringIO())
    return time.perf_counter() - t, summary.working_seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=120)
    ap.add_argument("--shard-size", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    photos = sorted(GROUPS.glob("*.jpg"))[: args.photos]
    n = len(photos)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rows = [("single process", 1, *single_process(photos, d / "single.jsonl"))]
        for w in args.workers:
            rows.append((f"ray, {w} worker{'s' if w > 1 else ''}", w,
                         *on_ray(photos, d / f"ray{w}.jsonl", workers=w, shard_size=args.shard_size)))
        per_photo = (d / "single.jsonl").stat().st_size / n
    print(f"{n} photos of groups/images, {DEFAULT_MODEL}, ONNX Runtime, 1 thread per worker, shards of "
          f"{args.shard_size}; {os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.1f}; "
          f"JSONL {per_photo / 1024:.1f} KiB per photo")
    print()
    print("| run | workers | wall s | photos/s (whole command) | aligning s | photos/s (aligning) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, w, whole, busy in rows:
        print(f"| {name} | {w} | {whole:.1f} | {n / whole:.2f} | {busy:.1f} | {n / busy:.2f} |")


if __name__ == "__main__":
    main()
