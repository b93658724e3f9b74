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

from .inputs import iter_input_paths
from .job import RaySummary, detect_on_ray, prepare_job
from .session import loopback, ray_session
from .shards import ShardLayout, ShardWorker, parquet_schema, run_shard

__all__ = ["RaySummary", "ShardLayout", "ShardWorker", "detect_on_ray", "iter_input_paths", "loopback",
           "parquet_schema", "prepare_job", "ray_session", "run_shard"]
