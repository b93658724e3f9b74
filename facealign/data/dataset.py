"""Training / validation dataset: aligned crops, heatmap targets and the human 5 points.

Each item is one face, cropped by the 5-point similarity alignment of Earp et al. (Sec. 3.1, see
:func:`facealign.geometry.align_matrix`) through :func:`facealign.geometry.warp`, the function the
:class:`~facealign.api.Aligner` crops with (so a training crop and an inference crop of the same photo and
alignment points are the same pixels), augmented (:mod:`facealign.data.transforms`) and encoded
by the model's task (:mod:`facealign.tasks`). Randomness is drawn from ``np.random.default_rng([seed, epoch, index])`` so that
a run resumed at epoch ``e`` sees exactly the crops an uninterrupted run would have seen.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from ..imageio import read_image
from ..geometry import FACE_TEMPLATE, align_matrix, apply_affine, compose_affine, warp
from ..landmarks import LandmarkScheme, get_scheme
from ..landmarks.five import FIVE
from .records import FaceRecord, align_points
from .transforms import AugmentConfig, hflip_matrix, photometric, random_crop_matrix

__all__ = ["LandmarkDataset"]


class TargetMaker(Protocol):
    """Anything with ``targets(points (K, 2) crop px, visible (K,)) -> dict`` (:mod:`facealign.tasks`)."""

    def targets(self, points: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]: ...


def _target_tensor(value: np.ndarray) -> torch.Tensor:
    """A target array as a tensor: integer ones (cell indices, e.g. WOM's ``cells``) as int64, the rest float32."""
    arr = np.asarray(value)
    return torch.from_numpy(arr.astype(np.int64 if np.issubdtype(arr.dtype, np.integer) else np.float32))


class LandmarkDataset(Dataset):
    """Aligned face crops with heatmap targets.

    Item: ``image (3, S, S)`` float32 normalised; the model's targets from ``targets`` (e.g.
    ``heatmaps (K, h, w)`` and ``weights (K,)``, see :mod:`facealign.tasks`); ``points (K, 2)`` and ``five (5, 2)`` in crop pixels (NaN where unknown);
    ``matrix (2, 3)`` image -> crop; ``index``.
    """

    def __init__(
        self,
        records: list[FaceRecord],
        *,
        scheme: str | LandmarkScheme,
        input_size: int,
        targets: TargetMaker,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        augment: AugmentConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.records = records
        self.scheme = get_scheme(scheme)
        self.input_size = int(input_size)
        self.target_maker = targets
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.augment = augment or AugmentConfig.none()
        self.seed = int(seed)
        self.epoch = 0

    @property
    def crop_iod(self) -> float:
        """Eye-centre distance (px) of a face aligned to the crop template, before augmentation."""
        return float(np.linalg.norm(FACE_TEMPLATE[1] - FACE_TEMPLATE[0])) * self.input_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def align_points(self, rec: FaceRecord) -> np.ndarray:
        """The 5 points ``rec``'s crop is aligned on (:func:`~facealign.data.records.align_points`)."""
        return align_points(rec, self.scheme)

    def crop_matrix(self, rec: FaceRecord, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """Image -> augmented crop matrix, and whether the crop is mirrored."""
        cfg, size = self.augment, self.input_size
        five = self.align_points(rec)
        if cfg.align_jitter > 0:
            iod = float(np.linalg.norm(five[1] - five[0]))
            five = five + rng.normal(0.0, cfg.align_jitter * iod, size=five.shape)
        m = align_matrix(five, size)
        if cfg.rotation > 0 or cfg.scale > 0 or cfg.shift > 0:
            m = compose_affine(random_crop_matrix(rng, size, cfg), m)
        flipped = cfg.flip_prob > 0 and rng.random() < cfg.flip_prob
        if flipped:
            m = compose_affine(hflip_matrix(size), m)
        return m, flipped

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rec = self.records[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image = rec.image if rec.image is not None else read_image(rec.image_path)
        m, flipped = self.crop_matrix(rec, rng)
        crop = warp(image, m, self.input_size)
        points = apply_affine(m, rec.points)
        five = apply_affine(m, rec.five) if rec.five is not None else np.full((5, 2), np.nan)
        if flipped:  # coordinates are already mirrored by the matrix: only re-index
            points = points[list(self.scheme.flip_index)]
            five = five[list(FIVE.flip_index)]
        crop = photometric(crop, rng, self.augment, iod=self.crop_iod)
        visible = np.isfinite(points).all(axis=1)
        targets = self.target_maker.targets(points, visible)
        if rec.weight != 1.0:  # the label source's weight on every point's loss
            targets["weights"] = targets["weights"] * np.float32(rec.weight)
        img = (crop.astype(np.float32) - self.mean) / self.std
        return {
            "image": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            **{k: _target_tensor(v) for k, v in targets.items()},
            "points": torch.from_numpy(points.astype(np.float32)),
            "five": torch.from_numpy(five.astype(np.float32)),
            "matrix": torch.from_numpy(m.astype(np.float64)),
            "index": torch.tensor(index),
        }
