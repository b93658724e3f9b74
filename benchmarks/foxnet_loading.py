"""Training-data loading speed of FoxNet configs: items/s of each kind of item (feathered canvases, real
group-photo crops, mosaics) and of the whole shuffled epoch, as the bottom-up trainer loads them.

    .venv/bin/python -m benchmarks.foxnet_loading [--configs configs/experiments/foxnet_groups_68.toml \
        configs/experiments/foxnet_groups_68_mosaic.toml] [--epochs 2] [--workers 1]

Each set is read ``--epochs`` times through a ``DataLoader`` of the config's batch size with ``--workers``
worker processes (started afresh each epoch, as in training), then the trainer's own epoch loader (all kinds,
the epoch's permutation). No network runs: this is the time the loader needs to keep up with the steps.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence

from torch.utils.data import DataLoader, Dataset

from facealign.engine.bottomup_trainer import BottomUpTrainer
from facealign.engine.config import load_config

CONFIGS = ("configs/experiments/foxnet_groups_68.toml", "configs/experiments/foxnet_groups_68_mosaic.toml")


def items_per_second(loader_of_epoch, sets: Sequence[Dataset], epochs: int) -> tuple[int, float]:
    """Items read and seconds spent over ``epochs`` epochs of ``loader_of_epoch(epoch)`` (each set's epoch set first)."""
    items, start = 0, time.perf_counter()
    for epoch in range(epochs):
        for ds in sets:
            ds.set_epoch(epoch)
        for batch in loader_of_epoch(epoch):
            items += len(batch["index"])
    return items, time.perf_counter() - start


def run(configs: Sequence[str], *, epochs: int, workers: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for path in configs:
            cfg = load_config(path, out_dir=out, workers=workers)
            trainer = BottomUpTrainer(cfg)
            for ds in trainer._epoch_sets:
                loader = DataLoader(ds, batch_size=cfg.batch_size, num_workers=workers)
                n, s = items_per_second(lambda e, lo=loader: lo, [ds], epochs)
                rows.append({"config": cfg.name, "items": type(ds).__name__, "n": n, "s": s})

            def epoch_loader(epoch: int, t: BottomUpTrainer = trainer) -> DataLoader:
                t.sampler.set_epoch(epoch)
                return t._loader(t.train_set, train=True)

            n, s = items_per_second(epoch_loader, trainer._epoch_sets, epochs)
            rows.append({"config": cfg.name, "items": "epoch (all, shuffled)", "n": n, "s": s})
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    rows = run(args.configs, epochs=args.epochs, workers=args.workers)
    print(f"| config | items | read | s | items/s |  ({args.epochs} epochs, {args.workers} worker(s))")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['config']} | {r['items']} | {r['n']} | {r['s']:.1f} | {r['n'] / r['s']:.1f} |")


if __name__ == "__main__":
    main()
