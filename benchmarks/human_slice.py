"""Models side by side on the held-out ``300w_human`` slice (issue 24): people's 68 points of the faces
``configs/holdout_300w_human.txt`` names, scored as training scores them (the ``human68`` protocol of
:mod:`facealign.evaluation.protocols`: crops aligned on the detector's 5 points, the config's flip test, NME over
the outer eye corners, failure above 10 %), with parameters and GMACs (:func:`facealign.models.model_info`).

Each entry is a config that names the slice (``data.human68_val``), optionally ``=CHECKPOINT``: the checkpoint's
weights, else the weights the config starts from (its ``init_from``: a shipped model's weights), so the
shipped default is ``configs/mnv2_050_68_hard.toml`` (issue 20's config, which starts from it).

    .venv/bin/python -m benchmarks.human_slice configs/mnv2_050_68_hard.toml \\
        configs/experiments/scc_human.toml=runs/scc_human/last.pt ... [--paired]

``--paired``: each entry against the first, face by face (:func:`facealign.evaluation.protocols.paired_difference`: the mean difference of the
per-face NME, its bootstrap 95 % interval and how many faces the entry has better).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks.hih_table5 import load_trainer, slice_dataset
from facealign.engine.config import load_config
from facealign.evaluation.protocols import face_errors, paired_difference, summarise
from facealign.engine.trainer import Trainer
from facealign.models import model_info

SLICE = "human68"


def parse_entry(entry: str) -> tuple[str, Path | None]:
    """``"CONFIG=CHECKPOINT"`` or ``"CONFIG"`` -> ``(config, checkpoint or None)``."""
    config, sep, ckpt = entry.partition("=")
    if not config or (sep and not ckpt):
        raise ValueError(f"expected CONFIG or CONFIG=CHECKPOINT, got {entry!r}")
    return config, Path(ckpt) if ckpt else None


def load_entry(entry: str) -> Trainer:
    """The trainer of an entry (:func:`parse_entry`): the checkpoint's weights, else those the config starts from."""
    config, ckpt = parse_entry(entry)
    return load_trainer(config, ckpt) if ckpt else Trainer(load_config(config), config_root=Path.cwd())


def score_slice(trainer: Trainer) -> tuple[dict[str, float], np.ndarray]:
    """``nme`` / ``fr`` / ``auc`` (%) of the trainer's model on the held-out human-68 slice, and each face's NME (%).
    Shape: ``-> ..., (N,)``."""
    dataset = slice_dataset(trainer, SLICE)  # raises with the config's name when it has no such slice
    protocol = next(p for p in trainer.protocols if p.name == SLICE)
    pred = trainer.predict(dataset)
    per_face, threshold = face_errors(protocol.kind, pred, protocol.dataset.records, trainer.scheme)
    return summarise(per_face, threshold), 100 * per_face


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("entries", nargs="+", help="CONFIG or CONFIG=CHECKPOINT")
    ap.add_argument("--paired", action="store_true", help="each entry against the first, face by face")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print("| model | run | params M | GMACs | NME % | FR@10 % | AUC@10 | faces |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    faces = []
    for entry in args.entries:
        config, ckpt = parse_entry(entry)
        trainer = load_entry(entry)
        s, per_face = score_slice(trainer)
        faces.append(per_face)
        info = model_info(trainer.model, trainer.card.input_size)
        run = f"{Path(config).stem} ({ckpt if ckpt else 'init_from ' + trainer.cfg.init_from})"
        print(f"| {trainer.cfg.model} | {run} | {info.params / 1e6:.3f} | {info.gmacs:.3f} | {s['nme']:.2f} | {s['fr']:.1f} | "
              f"{s['auc'] / 100:.3f} | {len(per_face)} |", flush=True)
    if args.paired:
        for entry, per_face in zip(args.entries[1:], faces[1:]):
            d = paired_difference(per_face, faces[0])
            print(f"{entry} minus {args.entries[0]}: {d['mean']:+.3f} NME points (bootstrap 95 % CI {d['lo']:+.3f} .. "
                  f"{d['hi']:+.3f}), better on {d['better']} of {len(per_face)} faces")
    return 0


if __name__ == "__main__":
    sys.exit(main())
