"""One entry point from a config's ``[data]`` section to the datasets a top-down trainer uses.

:func:`build_datasets` reads the face lists (:class:`~facealign.data.lists.FaceLists`: ``data_root``, the
excluded faces), joins the teacher's dense points and the human 5 points of each photo
(:func:`~facealign.data.records.merge_records`), adds the human-68 and profile sources less their held-out
faces (:mod:`facealign.data.sources`), attaches the detector's alignment points (``data.align_points``),
drops the faces with no 5 finite points to align on, and builds the training set, the validation set and
the extra validation sets of :mod:`facealign.evaluation.protocols` (held-out human-68 and profile faces, the
small-face copy of the validation faces).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..card import ModelCard
from ..landmarks import LandmarkScheme, get_scheme
from ..types import Sample
from .config import DataConfig
from .dataset import LandmarkDataset, TargetMaker
from .lists import FaceLists
from .readers import read_annotations
from .readers.cfp import read_cfp_folder
from .records import FaceRecord, align_points, downscaled_record, merge_records
from .sources import human_five_override, read_photo_scales, remove_label_offsets, source_records, source_weight, split_holdout
from .transforms import AugmentConfig

__all__ = ["Datasets", "ValidationSet", "build_datasets"]

#: The extra label sources with a held-out part, and how their held-out faces are scored.
_HELD_OUT = (("human68", "dense"), ("profile", "profile"))


@dataclass
class ValidationSet:
    """One extra validation protocol's faces (:mod:`facealign.evaluation.protocols`): its ``name``, the
    ``dataset`` of its faces (records: ground truth in the model's scheme, NaN where undefined, and the
    alignment points), how it is scored (``kind``: ``"five"`` eye-centre NME on the 5 points, ``"dense"``
    outer-eye-corner NME on the scheme's points, ``"profile"`` face-size NME on the defined points, the
    size of each record's ``box``)."""

    name: str
    dataset: LandmarkDataset
    kind: str


@dataclass
class Datasets:
    """What a top-down trainer trains and validates on: ``lists`` (paths, exclusions) and the datasets."""

    lists: FaceLists
    train: LandmarkDataset
    val: LandmarkDataset
    protocols: list[ValidationSet]


class _Builder:
    """The steps of :func:`build_datasets` over one config (the face lists read once)."""

    def __init__(
        self, data: DataConfig, lists: FaceLists, scheme: LandmarkScheme, card: ModelCard, targets: TargetMaker, seed: int
    ) -> None:
        self.data, self.lists, self.scheme = data, lists, scheme
        self.card, self.targets, self.seed = card, targets, seed

    def dataset(self, records: list[FaceRecord], augment: AugmentConfig | None = None) -> LandmarkDataset:
        c = self.card
        return LandmarkDataset(
            records, scheme=self.scheme, input_size=c.input_size, targets=self.targets, mean=c.mean, std=c.std,
            augment=augment, seed=self.seed,
        )

    def records(self, *, train: bool) -> list[FaceRecord]:
        """The faces of the training set or of the ``val`` protocol: teacher 68 + human 5 (merged by photo),
        and for training the human-68 and profile sources less their held-out faces, each with its source's
        weight (:mod:`facealign.data.sources`), aligned as the config says."""
        d = self.data
        lim = d.limit_train if train else d.limit_val
        dense = self.lists.read(d.dense_train if train else d.dense_val, lim)
        five = self.lists.read(d.five_train if train else d.five_val, lim)
        w = d.source_weights
        if self.scheme.num_points == 5:  # a 5-point model: the human points are the dense points
            records = merge_records(self.scheme, dense=dense + five)
            for rec in records:
                rec.weight, rec.label_source = source_weight(w, "human5"), "human5"
        else:
            records = merge_records(self.scheme, dense=dense, five=five)
            for rec in records:
                rec.weight, rec.label_source = source_weight(w, "teacher68"), "teacher68"
        if train:
            for source, _ in _HELD_OUT:
                train_part, _ = self.split(source)
                records += source_records(train_part[: lim or None], self.scheme, weight=source_weight(w, source), source=source)
            if d.label_offsets:  # people's convention out before the teacher's groups move onto their points
                remove_label_offsets(records, d.label_offsets, self.lists.key, scales=read_photo_scales(self.lists.root))
        if d.human_over_teacher:  # a 5-point model's records are all people's: no teacher68 among them
            for rec in records:
                if rec.label_source == "teacher68" and rec.five is not None and np.isfinite(rec.points).all():
                    rec.points = human_five_override(rec.points, rec.five, self.scheme)
        if d.align_points and not (train and d.train_align == "labels"):
            self.lists.attach_align_points(records, d.align_points)
        return [r for r in records if self.alignable(r)]

    def alignable(self, rec: FaceRecord) -> bool:
        """Whether a face has 5 finite points to align its crop on (a profile the detector did not find has none)."""
        return bool(np.isfinite(align_points(rec, self.scheme)).all())

    def split(self, source: str) -> tuple[list[Sample], list[Sample]]:
        """``(training, held-out)`` faces of the ``human68`` or ``profile`` source (both empty when the
        config names no folder)."""
        d = self.data
        folder, holdout = (d.human68, d.human68_val) if source == "human68" else (d.profile, d.profile_val)
        if not folder:
            return [], []
        root = self.lists.path(folder)
        samples = read_cfp_folder(root) if source == "profile" else read_annotations(root)
        return split_holdout(samples, root, holdout) if holdout else (samples, [])

    def protocols(self, val: LandmarkDataset) -> list[ValidationSet]:
        """The extra validation sets the config asks for: the held-out human-68 and profile faces, and the
        small-face copy of the ``val`` faces with human 5 points."""
        d = self.data
        out = []
        for source, kind in _HELD_OUT:
            _, held = self.split(source)
            held = held[: d.limit_val or None]
            if not held:
                continue
            recs = source_records(held, self.scheme, weight=1.0, source=source)
            if d.align_points:
                self.lists.attach_align_points(recs, d.align_points)
            recs = [r for r in recs if self.alignable(r)]
            if recs:
                out.append(ValidationSet(source, self.dataset(recs), kind))
        if d.small_face_px > 0:
            faces = [r for r in val.records if r.five is not None or self.scheme.num_points == 5]
            size = self.card.input_size
            small = [downscaled_record(r, val.align_points(r), input_size=size, crop_px=d.small_face_px) for r in faces]
            out.append(ValidationSet("small", self.dataset(small), "five"))
        return out


def build_datasets(
    data: DataConfig,
    *,
    data_root: str | Path,
    card: ModelCard,
    targets: TargetMaker,
    augment: AugmentConfig,
    seed: int,
    config_root: Path | None = None,
    protocols: bool = True,
) -> Datasets:
    """The training set (augmented by ``augment``, randomness from ``seed``), the validation set and, when
    ``protocols``, the extra validation sets of the ``[data]`` section ``data``: crops of ``card``'s input
    size, mean and std, points in its scheme, targets made by ``targets`` (the model's output kind).
    ``data_root``: the face lists' folder, relative to ``config_root`` when given."""
    lists = FaceLists(data_root, exclude=data.exclude, config_root=config_root)
    b = _Builder(data, lists, get_scheme(card.scheme), card, targets, seed)
    train = b.dataset(b.records(train=True), augment)
    val = b.dataset(b.records(train=False))
    return Datasets(lists, train, val, b.protocols(val) if protocols else [])
