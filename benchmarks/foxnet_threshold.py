"""FoxNet's candidate threshold, grouping bandwidth (and grouping method) chosen on the validation data.

The FoxNet paper keeps the NMS peaks of the landmark segmentation maps as candidates but gives no
probability threshold for them, and the Quality Focal Loss calibrates a peak to the soft target it
expects, so the right cut depends on how well the network localises. This script runs the network
once over the validation canvases and photos of a config (``BottomUpTrainer.validation_outputs``)
and decodes them again at each candidate threshold (and each ``--bandwidth`` and ``--grouping``),
printing canvas, photo and held-out group-photo (``data.group_val``: F1 against hand-drawn boxes by the
landmark-centroid rule, NME against the teacher) precision / recall / F1 and NME of the found faces,
then the setting ``best.pt``'s rule prefers (``BottomUpTrainer.score``: the group photos' F1 then NME
where the config has them, else the canvases').

    .venv/bin/python -m benchmarks.foxnet_threshold [--config configs/foxnet_cpu_68.toml]
        [--checkpoint runs/foxnet_cpu_68/best.pt] [--thresholds 0.1 0.15 ...] [--bandwidth ...]
        [--grouping anchor mean_shift] [--teacher]

``--teacher`` also scores the top-down pipeline (RetinaFace + the shipped 68-point default, the
pseudo-labels' teacher) on the held-out group photos by the same rule: the reference the issue gives.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facealign.evaluation.multiface import evaluate_against_boxes
from facealign.engine.bottomup_trainer import VAL_NORM, VAL_THRESHOLD, BottomUpTrainer, ValidationOutputs
from facealign.imageio import read_image
from facealign.engine.checkpoint import load_checkpoint
from facealign.engine.config import load_config

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def sweep(
    trainer: BottomUpTrainer,
    thresholds: Sequence[float],
    bandwidths: Sequence[float],
    outputs: ValidationOutputs | None = None,
    groupings: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Validation rows of every (grouping, threshold, bandwidth) on ``outputs`` (default: the network run
    once), each decoded by a copy of the trainer's codec with those settings (checked before any work)."""
    codecs = [
        (t, bw, g, trainer.codec.replace(threshold=t, bandwidth=bw, grouping=g))
        for g in (groupings or [trainer.codec.grouping]) for bw in bandwidths for t in thresholds
    ]
    if outputs is None:
        outputs = trainer.validation_outputs()
    kept = trainer.codec
    rows = []
    try:
        for t, bw, g, codec in codecs:
            trainer.codec = codec
            rows.append({"threshold": float(t), "bandwidth": float(bw), "grouping": g, **trainer.validate(outputs)})
    finally:
        trainer.codec = kept
    return rows


def best_row(rows: Sequence[dict[str, Any]], trainer: BottomUpTrainer | None = None) -> dict[str, Any]:
    """The row ``best.pt``'s rule would pick (``trainer.score``; without a trainer: highest canvas F1,
    then lowest canvas NME, NaN = worst)."""
    if not rows:
        raise ValueError("no rows to choose from")
    if trainer is not None:
        return min(rows, key=trainer.score)
    return min(rows, key=lambda r: (-r["f1"], r["nme"] if math.isfinite(r["nme"]) else math.inf))


def table(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        "| grouping | threshold | bandwidth | P | R | F1 | NME % | FR % | AUC | missing % | photo P | photo R | photo F1 | photo NME % "
        "| group P | group R | group F1 | group NME % |"
    )
    lines = [head, "| " + " | ".join(["---:"] * (head.count("|") - 1)) + " |"]
    for r in rows:
        lines.append(
            f"| {r.get('grouping', '')} | {r['threshold']:g} | {r['bandwidth']:.3g} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
            f"{r['nme']:.2f} | {r['fr']:.1f} | {r['auc'] / 100:.3f} | {r['missing']:.1f} | "
            f"{r.get('photo_precision', math.nan):.3f} | {r.get('photo_recall', math.nan):.3f} | "
            f"{r.get('photo_f1', math.nan):.3f} | {r.get('photo_nme', math.nan):.2f} | "
            f"{r.get('group_precision', math.nan):.3f} | {r.get('group_recall', math.nan):.3f} | "
            f"{r.get('group_f1', math.nan):.3f} | {r.get('group_nme', math.nan):.2f} |"
        )
    return "\n".join(lines)


def teacher_scores(trainer: BottomUpTrainer, threads: int = 1) -> dict[str, float]:
    """P / R / F1 / NME of the top-down default on the held-out group photos (``evaluate_against_boxes``)."""
    from facealign import Aligner

    aligner = Aligner(threads=threads)
    pred = [aligner(read_image(p.path), color="rgb") for p in trainer.group_val]
    res = evaluate_against_boxes(
        pred, [p.boxes for p in trainer.group_val], [p.teacher for p in trainer.group_val],
        scheme=trainer.scheme.name, norm=VAL_NORM, threshold=VAL_THRESHOLD,
    )
    return {"precision": res.precision, "recall": res.recall, "f1": res.f1, "nme": 100 * res.summary["nme"]}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/foxnet_cpu_68.toml")
    ap.add_argument("--checkpoint", type=Path, default=None, help="default: runs/<config name>/best.pt")
    ap.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    ap.add_argument("--bandwidth", type=float, nargs="+", default=None, help="grouping bandwidths (default: the codec's)")
    ap.add_argument("--grouping", nargs="+", default=None, help="anchor and/or mean_shift (default: the codec's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--teacher", action="store_true", help="also score the top-down default on the held-out group photos")
    args = ap.parse_args(argv)

    cfg = load_config(args.config, threads=args.threads)
    trainer = BottomUpTrainer(cfg, config_root=Path.cwd())
    ckpt_path = args.checkpoint or Path(cfg.out_dir) / cfg.name / "best.pt"
    ckpt = load_checkpoint(ckpt_path)
    trainer.model.load_state_dict(ckpt["model"])
    rows = sweep(trainer, args.thresholds, args.bandwidth or [trainer.codec.bandwidth], groupings=args.grouping)
    print(f"{cfg.name}: {ckpt_path} (epoch {int(ckpt['epoch']) + 1}), {len(trainer.val_set)} validation canvases, "
          f"{len(trainer.photos)} photos, {len(trainer.group_val)} held-out group photos; codec default threshold {trainer.codec.threshold:g}, bandwidth {trainer.codec.bandwidth:.3g}\n")
    print(table(rows))
    if args.teacher and trainer.group_val:
        t = teacher_scores(trainer, args.threads)
        print(f"\ntop-down teacher on the {len(trainer.group_val)} held-out group photos: P {t['precision']:.3f}, "
              f"R {t['recall']:.3f}, F1 {t['f1']:.3f}, NME {t['nme']:.2f} % (against itself where it labelled)")
    b = best_row(rows, trainer)
    pre = "group_" if trainer.group_val else ""
    print(f"\nbest ({pre or 'canvas '}F1, then NME): {b['grouping']}, threshold {b['threshold']:g}, bandwidth {b['bandwidth']:.3g} "
          f"(F1 {b[pre + 'f1']:.3f}, NME {b[pre + 'nme']:.2f} %)")


if __name__ == "__main__":
    main()
