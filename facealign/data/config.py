"""The data section of a training config (``[data]``): where the faces come from, what is left out or held
out, and what the crops are aligned on. :func:`facealign.data.build.build_datasets` turns it into datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sources import SOURCES, check_label_offsets, source_weight

__all__ = ["DataConfig", "TRAIN_ALIGN"]


#: What training crops can be aligned on (``DataConfig.train_align``).
TRAIN_ALIGN = ("detector", "labels")


@dataclass(frozen=True)
class DataConfig:
    """Where the faces come from. Lists are in the ``faces/`` list format (``PATH x1 y1 ...``).

    ``dense_train`` / ``dense_val``: lists in the model's scheme (e.g. 68-point teacher labels);
    ``five_train`` / ``five_val``: human 5-point lists (ground truth for the 5-point loss and metric);
    ``align_points``: optional JSON of detector 5 points per image, to align crops as at inference;
    ``train_align``: what the training crops are aligned on, ``"detector"`` (the ``align_points``, as at
    inference; the labels' 5 points where a photo has none) or ``"labels"`` (the labels' 5 points, with
    ``augment.align_jitter`` standing in for detector noise); validation crops always take ``align_points``;
    ``exclude``: faces to leave out (a file of ``PATH ...`` lines, e.g. labels found in another frame);
    ``pose_balance_bins``: oversample the training faces by pose bin (:mod:`facealign.data.balance`).

    More label sources (:mod:`facealign.data.sources`): ``human68``: a folder of iBUG ``.pts`` faces with
    people's 68 points (``300w_human``), ``profile``: a CFP folder (``cfp_profile``, its 30 points through
    :mod:`facealign.data.profile`), both relative to ``data_root``; ``human68_val`` / ``profile_val``: files
    naming the held-out faces / people (a path relative to the folder, without suffix, a line: ``afw/123_1``,
    ``017``), which the training leaves out and the validation protocols score
    (:func:`~facealign.data.build.build_datasets`, scored by :mod:`facealign.evaluation.protocols`); ``source_weights``: a loss weight per source (``teacher68``,
    ``human5``, ``human68``, ``profile``; 1.0 when not named; ``human5`` weighs the human 5-point rows of a
    5-point model, a 68-point model weighs them with ``five_loss_weight``); ``human_over_teacher``: move the
    teacher's eye, nose-tip and mouth-corner points of every face that has human 5 points onto them
    (:func:`~facealign.data.sources.human_five_override`); ``small_face_px``: score the small-face protocol
    too, the validation photos downscaled so that the aligned crop spans this many photo pixels (0: off);
    ``label_offsets``: people's labelling convention per photo folder, ``{PREFIX: [dx, dy]}`` with PREFIX a
    path relative to ``data_root`` as in the lists (``images/net_7876/``, ``../300w_human/``; the longest
    matching prefix wins) and the offset in photo pixels of where people's labels of those photos sit from
    the mirror-symmetric point; training subtracts it from people's points (human 5, human 68, profile, and
    every face's human ``five``) before the crops are mirrored (:func:`~facealign.data.sources.remove_label_offsets`),
    so that a flip does not turn the convention into +-offset label noise. Validation labels stay as people
    gave them. The offsets are in the original photos' pixels; on resized copies (``scripts/pack_faces.py``'s
    pack, whose ``photo_scales.json`` names each resized photo's scale) they are scaled with the photo.

    Bottom-up models (:class:`~facealign.engine.bottomup_trainer.BottomUpTrainer`) paste the faces of
    ``dense_train`` / ``dense_val`` onto multi-face canvases (:class:`~facealign.data.multiface.MultiFaceDataset`):
    ``faces_per_canvas``: inclusive range of faces on one canvas; ``canvases_per_epoch``: training
    canvases per epoch (0: the number of training faces over the mean faces per canvas, so each face is
    pasted about once an epoch); ``multiface_val``: optional annotation file or folder of real
    multi-face photos (e.g. dlib's imglab XML examples), also scored each epoch. ``group_labels`` /
    ``group_root`` / ``group_val`` / ``group_crops_per_epoch``: real group photos with teacher labels and
    ignore regions mixed into training (:mod:`facealign.data.group_photos`), those of ``group_val`` held out
    and scored against their hand-drawn boxes. ``mosaics_per_epoch`` (0: none), ``mosaic_tiles`` (inclusive
    range of photos a mosaic), ``mosaic_face_size`` (range of a tile's median landmark-box side, fraction
    of the input side, log-uniform), ``mosaic_overlap`` (most a tile's window grows past its cell, fraction
    of the cell) and ``mosaic_group_share`` (chance a tile is a group photo rather than a ``dense_train``
    photo): mosaics of whole training photos (:mod:`facealign.data.mosaic`). Top-down models ignore these.

    Paths in the lists (and ``multiface_val``) are relative to ``data_root``; ``exclude`` and
    ``align_points`` relative to the working directory.
    """

    dense_train: str = ""
    five_train: str = ""
    dense_val: str = ""
    five_val: str = ""
    align_points: str = ""
    train_align: str = "detector"
    exclude: str = ""  # a file of `PATH ...` lines (PATH relative to data_root) to leave out; '#' comments
    pose_balance_bins: int = 0  # pose-based data balancing (PDB) with this many bins; 0 = off (SCC uses 9)
    limit_train: int = 0  # use only the first N training faces (0 = all); for tests and smoke runs
    limit_val: int = 0
    faces_per_canvas: tuple[int, int] = (1, 6)  # bottom-up: (fewest, most) faces per composed canvas
    canvases_per_epoch: int = 0  # bottom-up: training canvases per epoch; 0 = training faces / mean faces per canvas
    multiface_val: str = ""  # bottom-up: real multi-face photos to validate on too (any read_annotations format)
    human68: str = ""
    human68_val: str = ""
    profile: str = ""
    profile_val: str = ""
    source_weights: dict[str, float] = field(default_factory=dict)
    human_over_teacher: bool = False
    small_face_px: int = 0
    label_offsets: dict[str, list[float]] = field(default_factory=dict)
    group_labels: str = ""  # bottom-up: pseudo-labelled group photos (scripts/pseudo_label_groups.py JSON) to train on too
    group_root: str = ""  # bottom-up: the folder of those photos and their boxes.csv
    group_val: str = ""  # bottom-up: list of group photos held out and scored each epoch (hand-drawn boxes)
    group_crops_per_epoch: int = 0  # bottom-up: real-photo crops per epoch; 0 = each training photo once
    mosaics_per_epoch: int = 0  # bottom-up: mosaic canvases of whole training photos per epoch; 0 = none
    mosaic_tiles: tuple[int, int] = (2, 4)  # bottom-up: (fewest, most) photos tiled on one mosaic
    mosaic_face_size: tuple[float, float] = (0.04, 0.4)  # bottom-up: a tile's median face side / input side
    mosaic_overlap: float = 0.3  # bottom-up: most a tile's window grows past its cell (fraction of the cell)
    mosaic_group_share: float = 0.5  # bottom-up: chance a mosaic tile is a group photo (with group_labels)

    def __post_init__(self) -> None:
        if self.train_align not in TRAIN_ALIGN:
            raise ValueError(f"data.train_align must be one of {TRAIN_ALIGN}, got {self.train_align!r}")
        for src in SOURCES:  # checks every name and value
            source_weight(self.source_weights, src)
        check_label_offsets(self.label_offsets)
        if self.small_face_px < 0:
            raise ValueError(f"data.small_face_px must be >= 0 (0: off), got {self.small_face_px}")
        self._check_mosaics()

    def _check_mosaics(self) -> None:
        if self.mosaics_per_epoch < 0:
            raise ValueError(f"data.mosaics_per_epoch must be >= 0 (0: none), got {self.mosaics_per_epoch}")
        if len(self.mosaic_tiles) != 2 or not 1 <= self.mosaic_tiles[0] <= self.mosaic_tiles[1]:
            raise ValueError(f"data.mosaic_tiles must be [lo, hi] with 1 <= lo <= hi, got {list(self.mosaic_tiles)}")
        if len(self.mosaic_face_size) != 2 or not 0 < self.mosaic_face_size[0] <= self.mosaic_face_size[1] <= 1:
            raise ValueError(
                f"data.mosaic_face_size must be [lo, hi] with 0 < lo <= hi <= 1 (fractions of the input side), got {list(self.mosaic_face_size)}"
            )
        if not 0 <= self.mosaic_overlap <= 1:
            raise ValueError(f"data.mosaic_overlap must be in [0, 1] (fraction of a cell), got {self.mosaic_overlap}")
        if not 0 <= self.mosaic_group_share <= 1:
            raise ValueError(f"data.mosaic_group_share must be in [0, 1], got {self.mosaic_group_share}")
