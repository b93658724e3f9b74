"""FoxNet's training objective (FoxNet paper, Sec. II-B, Eq. 1-5): the Fox loss on pixel embeddings
and the landmark-segmentation loss.

**Fox loss** (cosine discriminative loss, Eq. 2-5): De Brabandere et al.'s discriminative loss
("Semantic Instance Segmentation with a Discriminative Loss Function", 2017) with the Euclidean
distance replaced by the cosine distance ``cosine(a, b) = 1 - a.b / (|a| |b|)`` in ``[0, 2]``, over
all facial pixels (Eq. 1: "we make all facial pixel participated in calculation"):

* ``L_var  = 1/C sum_c 1/N_c sum_i [cosine(mu_c, x_i) - delta_v]_+^2``            (Eq. 2)
* ``L_dist = 1/(C(C-1)) sum_{cA != cB} [2 delta_d - cosine(mu_cA, mu_cB)]_+^2``   (Eq. 3)
* ``L_reg  = 1/C sum_c (|mu_c|_2 - R)^2``                                        (Eq. 4)
* ``L_fox  = alpha L_var + beta L_dist + gamma L_reg``, alpha = beta = 1, gamma = 0.001 (Eq. 5, Sec. III-D)

``mu_c`` is the mean embedding of instance ``c``; ``C`` the number of instances in the image. Eq. 3 as
printed carries a stray ``1/N_c sum_i`` (a typesetting leftover of Eq. 2); we use De Brabandere's form.
The paper's text reads "cosine loss ... also noted as a.b / (|a||b|)"; a hinge ``[cosine - delta_v]_+``
that pulls embeddings *towards* their mean only makes sense for a distance, so ``cosine`` is taken as
``1 - similarity``. The regulariser pushes the means onto the sphere of radius ``R`` ("change the pull to
the push") instead of De Brabandere's pull to the origin.

The paper gives no margins or radius: :data:`DELTA_V` = 0.1 (pixels within ~25 degrees of their
mean), :data:`DELTA_D` = 0.5 (means at least orthogonal: cosine distance ``2 delta_d = 1``),
:data:`RADIUS` = 1.

**Segmentation loss**: the paper only says the segmentation branch is trained with "classification
labels". Our targets are per-landmark Gaussians with values in [0, 1] (:class:`~facealign.codecs.BottomUpCodec`),
so we use the quality focal loss of Li et al. ("Generalized Focal Loss", NeurIPS 2020, Eq. 5),
``-|y - s|^beta ((1 - y) log(1 - s) + y log s)`` with ``s = sigmoid(logit)``, ``beta = 2``, summed and
divided by the target mass: binary cross-entropy for soft labels with the focal down-weighting of the
~99.9% easy background cells.

**Ignore regions** (real photos whose faces are not all labelled: ``scripts/pseudo_label_groups.py``):
an ``ignore (B, h, w)`` mask leaves the cells of an unlabelled face out of the segmentation loss, neither
background nor landmark, except where a labelled face's target is non-zero there. The Fox loss needs
no mask: it only ever sees facial pixels of labelled instances (Eq. 1), and an ignore region holds none
(instance id 0).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..codecs.bottomup import DELTA_D

__all__ = [
    "ALPHA",
    "BETA",
    "DELTA_D",
    "DELTA_V",
    "GAMMA",
    "QFL_BETA",
    "RADIUS",
    "FoxLoss",
    "FoxLossTerms",
    "FoxNetLoss",
    "FoxNetLossTerms",
    "LandmarkSegmentationLoss",
    "fox_loss",
    "fox_loss_terms",
    "foxnet_loss",
    "landmark_segmentation_loss",
]

#: Weights of Eq. 5 (Sec. III-D: "We set alpha = beta = 1 and gamma = 0.001").
ALPHA = 1.0
BETA = 1.0
GAMMA = 0.001
#: Variance margin (cosine distance of a pixel to its instance mean that costs nothing); not in the paper.
DELTA_V = 0.1
# DELTA_D, the distance margin (instance means pushed to a cosine distance of at least 2 * DELTA_D), is
# defined with the codec, whose grouping bandwidth follows from it and which runs without torch.
#: Radius of the hypersphere the instance means are pushed onto (Eq. 4); not in the paper.
RADIUS = 1.0
#: Focusing exponent of the quality focal loss (Li et al. 2020 use 2).
QFL_BETA = 2.0
#: Guards the cosine against zero-length embeddings.
COS_EPS = 1e-8


class FoxLossTerms(NamedTuple):
    """The three terms of Eq. 5 (each a scalar averaged over the images that hold an instance) and
    their weighted sum ``total``."""

    total: torch.Tensor
    variance: torch.Tensor
    distance: torch.Tensor
    regularisation: torch.Tensor


def _cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``1 - a.b / (|a| |b|)`` along the last dimension."""
    return 1.0 - F.cosine_similarity(a, b, dim=-1, eps=COS_EPS)


def fox_loss_terms(
    embedding: torch.Tensor,
    instance: torch.Tensor,
    *,
    delta_v: float = DELTA_V,
    delta_d: float = DELTA_D,
    radius: float = RADIUS,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
) -> FoxLossTerms:
    """The Fox loss (Eq. 2-5) of pixel embeddings given an instance-id map.

    Shape: ``embedding (B, n, h, w)``, ``instance (B, h, w)`` integer (0: not a facial pixel,
    ``1 .. C``: the face it belongs to; ids need not be consecutive) -> :class:`FoxLossTerms` of scalars.
    Each term is computed per image and averaged over the images with at least one instance
    (``L_dist`` is 0 for an image with a single instance); with no instance anywhere every term is 0
    (still attached to ``embedding``'s graph).
    """
    if embedding.ndim != 4:
        raise ValueError(f"fox_loss: embedding must be (B, n, h, w), got {tuple(embedding.shape)}")
    if instance.shape != (embedding.shape[0], *embedding.shape[2:]):
        raise ValueError(
            f"fox_loss: instance must be (B, h, w) = {(embedding.shape[0], *embedding.shape[2:])}, got {tuple(instance.shape)}"
        )
    if instance.dtype.is_floating_point or instance.dtype == torch.bool:
        raise TypeError(f"fox_loss: instance must hold integer ids, got {instance.dtype}")
    if (instance < 0).any():
        raise ValueError("fox_loss: instance ids must be >= 0 (0 marks non-facial pixels)")
    b, n = embedding.shape[:2]
    slots = int(instance.max()) + 1 if instance.numel() else 1
    emb = embedding.permute(0, 2, 3, 1).reshape(-1, n)  # (B*h*w, n)
    ids = instance.reshape(b, -1).long()
    gid = (ids + torch.arange(b, device=ids.device)[:, None] * slots).reshape(-1)  # one slot per (image, id)
    facial = ids.reshape(-1) > 0
    emb_f, gid_f = emb[facial], gid[facial]
    counts = torch.bincount(gid_f, minlength=b * slots).to(embedding.dtype)  # (B*slots,)
    sums = embedding.new_zeros(b * slots, n).index_add(0, gid_f, emb_f)
    mu = sums / counts.clamp(min=1.0)[:, None]  # (B*slots, n); id 0 and absent ids stay 0
    present = (counts > 0).reshape(b, slots)
    present[:, 0] = False
    num = present.sum(dim=1).to(embedding.dtype)  # C per image
    has = num > 0
    zero = embedding.sum() * 0.0
    if not bool(has.any()):
        return FoxLossTerms(zero, zero, zero, zero)

    # Eq. 2: per-pixel hinge, mean per instance, mean over instances.
    pull = (_cosine_distance(mu[gid_f], emb_f) - delta_v).clamp(min=0.0) ** 2
    per_instance = embedding.new_zeros(b * slots).index_add(0, gid_f, pull) / counts.clamp(min=1.0)
    variance = (per_instance.reshape(b, slots) * present).sum(dim=1) / num.clamp(min=1.0)

    # Eq. 3: hinge on every ordered pair of distinct instances of an image.
    mus = mu.reshape(b, slots, n)
    pair_dist = _cosine_distance(mus[:, :, None, :], mus[:, None, :, :])  # (B, slots, slots)
    pair_mask = present[:, :, None] & present[:, None, :] & ~torch.eye(slots, dtype=torch.bool, device=ids.device)
    push = (2.0 * delta_d - pair_dist).clamp(min=0.0) ** 2 * pair_mask
    distance = push.sum(dim=(1, 2)) / (num * (num - 1.0)).clamp(min=1.0)

    # Eq. 4: instance means onto the sphere of radius R.
    reg = (mus.norm(dim=-1) - radius) ** 2 * present
    regularisation = reg.sum(dim=1) / num.clamp(min=1.0)

    terms = [t[has].mean() for t in (variance, distance, regularisation)]
    total = alpha * terms[0] + beta * terms[1] + gamma * terms[2]
    return FoxLossTerms(total, *terms)


def fox_loss(embedding: torch.Tensor, instance: torch.Tensor, **kwargs: float) -> torch.Tensor:
    """``L_fox`` (Eq. 5) as a scalar; keyword arguments as :func:`fox_loss_terms`."""
    return fox_loss_terms(embedding, instance, **kwargs).total


class FoxLoss(nn.Module):
    """Thin module around :func:`fox_loss` (margins, radius and weights fixed at construction)."""

    def __init__(
        self,
        *,
        delta_v: float = DELTA_V,
        delta_d: float = DELTA_D,
        radius: float = RADIUS,
        alpha: float = ALPHA,
        beta: float = BETA,
        gamma: float = GAMMA,
    ) -> None:
        super().__init__()
        self.kwargs = dict(delta_v=delta_v, delta_d=delta_d, radius=radius, alpha=alpha, beta=beta, gamma=gamma)

    def forward(self, embedding: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
        return fox_loss(embedding, instance, **self.kwargs)


def landmark_segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, *, beta: float = QFL_BETA, ignore: torch.Tensor | None = None
) -> torch.Tensor:
    """Quality focal loss (Li et al. 2020, Eq. 5) of landmark-segmentation logits against soft targets.

    ``sum(w |t - sigmoid(z)|^beta * BCE(z, t)) / max(sum(t), 1)`` with ``w = 0`` on the cells of ``ignore``
    whose target is 0 and 1 elsewhere. Shape: ``(B, K, h, w), (B, K, h, w)``, ``ignore (B, h, w)`` bool
    -> ``()``; targets in ``[0, 1]``.
    """
    if logits.shape != target.shape:
        raise ValueError(
            f"landmark_segmentation_loss: logits and target must have one shape, got {tuple(logits.shape)} and {tuple(target.shape)}"
        )
    if not beta >= 0:
        raise ValueError(f"landmark_segmentation_loss: beta must be >= 0, got {beta}")
    target = target.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    focal = (torch.sigmoid(logits) - target).abs() ** beta
    if ignore is not None:
        if ignore.shape != (logits.shape[0], *logits.shape[2:]):
            raise ValueError(
                f"landmark_segmentation_loss: ignore must be (B, h, w) = {(logits.shape[0], *logits.shape[2:])}, got {tuple(ignore.shape)}"
            )
        focal = torch.where(ignore.bool()[:, None] & (target <= 0), torch.zeros_like(focal), focal)
    return (focal * bce).sum() / target.sum().clamp(min=1.0)


class LandmarkSegmentationLoss(nn.Module):
    """Thin module around :func:`landmark_segmentation_loss`."""

    def __init__(self, *, beta: float = QFL_BETA) -> None:
        super().__init__()
        self.beta = float(beta)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor | None = None) -> torch.Tensor:
        return landmark_segmentation_loss(logits, target, beta=self.beta, ignore=ignore)


class FoxNetLossTerms(NamedTuple):
    """``total = segmentation_weight * segmentation + embedding_weight * fox.total`` and its parts."""

    total: torch.Tensor
    segmentation: torch.Tensor
    fox: FoxLossTerms


def foxnet_loss(
    segmentation_logits: torch.Tensor,
    embedding: torch.Tensor,
    *,
    segmentation: torch.Tensor,
    instance: torch.Tensor,
    ignore: torch.Tensor | None = None,
    segmentation_weight: float = 1.0,
    embedding_weight: float = 1.0,
    beta: float = QFL_BETA,
    **fox_kwargs: float,
) -> FoxNetLossTerms:
    """The whole FoxNet objective on one batch: segmentation loss + Fox loss.

    Shape: ``segmentation_logits (B, K, h, w)``, ``embedding (B, n, h, w)``, targets ``segmentation
    (B, K, h, w)`` and ``instance (B, h, w)`` (the keys of :class:`~facealign.data.multiface.MultiFaceDataset`
    items), optional ``ignore (B, h, w)`` (module docstring) -> :class:`FoxNetLossTerms`. ``fox_kwargs``:
    those of :func:`fox_loss_terms`.
    """
    seg = landmark_segmentation_loss(segmentation_logits, segmentation, beta=beta, ignore=ignore)
    fox = fox_loss_terms(embedding, instance, **fox_kwargs)
    return FoxNetLossTerms(segmentation_weight * seg + embedding_weight * fox.total, seg, fox)


class FoxNetLoss(nn.Module):
    """Thin module around :func:`foxnet_loss`: ``loss(model(x), batch)`` with ``batch`` holding
    ``"segmentation"`` and ``"instance"`` (and ``"ignore"`` where it has one)."""

    def __init__(self, *, segmentation_weight: float = 1.0, embedding_weight: float = 1.0, beta: float = QFL_BETA, **fox_kwargs: float) -> None:
        super().__init__()
        self.segmentation_weight = float(segmentation_weight)
        self.embedding_weight = float(embedding_weight)
        self.beta = float(beta)
        self.fox_kwargs = dict(fox_kwargs)

    def forward(self, output: tuple[torch.Tensor, torch.Tensor], batch: dict[str, torch.Tensor]) -> FoxNetLossTerms:
        logits, embedding = output
        return foxnet_loss(
            logits,
            embedding,
            segmentation=batch["segmentation"],
            instance=batch["instance"],
            ignore=batch.get("ignore"),
            segmentation_weight=self.segmentation_weight,
            embedding_weight=self.embedding_weight,
            beta=self.beta,
            **self.fox_kwargs,
        )
