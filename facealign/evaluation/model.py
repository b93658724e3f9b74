"""``facealign eval --model M --data LIST``: run a model on an annotation file and score it.

Evaluation is built on the inference side (the :class:`~facealign.api.Aligner` a user runs), never the
other way round: nothing under :mod:`facealign.api` imports this package.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..api import Aligner
from ..data.readers import read_annotations
from ..imageio import read_image
from ..landmarks import get_scheme
from ..types import Sample
from .samples import EvalResult, evaluate, format_table

__all__ = ["evaluate_model", "predict_samples"]


def predict_samples(aligner: Aligner, gt: list[Sample], *, align: str = "detector") -> tuple[list[Sample], int]:
    """Predictions for the photos of ``gt``, one :class:`Sample` per face found.

    ``align="detector"`` runs the whole pipeline (detector, crop, model) as a user would;
    ``align="labels"`` aligns each face on the 5 points derived from its ground truth (isolates the
    landmark model from the detector). Unreadable images are reported and skipped; returns the
    predictions and the number of skipped photos.
    """
    if align not in ("detector", "labels"):
        raise ValueError(f"align must be 'detector' or 'labels', got {align!r}")
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in gt:
        groups[str(s.image_path)].append(s)
    preds: list[Sample] = []
    skipped = 0
    for key, samples in groups.items():
        try:
            rgb = samples[0].image if samples[0].image is not None else read_image(key)
            if align == "labels":
                fives = [get_scheme(s.scheme).to_five(s.points) for s in samples]
                faces = aligner(rgb, color="rgb", points5=fives)
            else:
                faces = aligner(rgb, color="rgb")
        except (OSError, ValueError) as exc:
            print(f"facealign eval: skipped {key}: {exc}", file=sys.stderr)
            skipped += 1
            continue
        for f in faces:
            preds.append(Sample(Path(key), f.points.astype(np.float64), aligner.scheme.name, box=f.box, source=key))
    return preds, skipped


def evaluate_model(
    model: str,
    data: str,
    *,
    norm: str = "interocular",
    threshold: float = 0.1,
    flip_test: bool = True,
    align: str = "detector",
    backend: str = "onnx",
) -> EvalResult:
    """Score a registered model or a checkpoint on an annotation file; prints the table."""
    if not data:
        raise ValueError("facealign eval --model needs --data (an annotation file)")
    gt = read_annotations(data)
    aligner = Aligner(model, flip_test=flip_test, backend=backend)
    preds, skipped = predict_samples(aligner, gt, align=align)
    result = evaluate(preds, gt, norm=norm, threshold=threshold)
    print(format_table(result))
    if skipped:
        print(f"{skipped} photos could not be read", file=sys.stderr)
    return result
