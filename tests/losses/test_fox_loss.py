"""Fox loss (FoxNet Eq. 2-5) and the landmark-segmentation loss: hand-worked values, zero cases,
gradients, batching and errors."""

from __future__ import annotations

import math

import pytest
import torch

from facealign.losses import (
    FoxLoss,
    FoxNetLoss,
    LandmarkSegmentationLoss,
    fox_loss,
    fox_loss_terms,
    landmark_segmentation_loss,
)
from facealign.models.foxnet import FoxNetOutput


def _two_instances() -> tuple[torch.Tensor, torch.Tensor]:
    """A 1 x 3 map of 2-D embeddings: x1 = (1, 0), x2 = (0, 1) of face 1, x3 = (2, 0) of face 2."""
    emb = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]], dtype=torch.float64).reshape(1, 2, 1, 3)
    return emb, torch.tensor([[[1, 1, 2]]])


def test_hand_worked_terms() -> None:
    emb, inst = _two_instances()
    terms = fox_loss_terms(emb, inst)  # delta_v 0.1, delta_d 0.5, R 1, alpha = beta = 1, gamma = 0.001
    # mu1 = (0.5, 0.5), mu2 = (2, 0).
    # L_var: face 1, each pixel at cosine distance 1 - 1/sqrt(2) = 0.292893 from mu1 -> (0.292893 - 0.1)^2
    #        = 0.0372078, mean 0.0372078; face 2: 0. Mean over faces: 0.0186039.
    var = (1 - 1 / math.sqrt(2) - 0.1) ** 2 / 2
    # L_dist: cosine(mu1, mu2) = 1 - 1/sqrt(2) = 0.292893; [2 * 0.5 - 0.292893]^2 = 0.707107^2 = 0.5 for
    #         each of the 2 ordered pairs, / (C (C - 1) = 2) = 0.5.
    dist = (1 - (1 - 1 / math.sqrt(2))) ** 2
    # L_reg: (|mu1| - 1)^2 = (0.707107 - 1)^2 = 0.0857864; (|mu2| - 1)^2 = 1; mean 0.5428932.
    reg = ((1 / math.sqrt(2) - 1) ** 2 + 1.0) / 2
    assert terms.variance.item() == pytest.approx(var, abs=1e-12)  # 0.0186039
    assert terms.distance.item() == pytest.approx(dist, abs=1e-12)  # 0.5
    assert terms.regularisation.item() == pytest.approx(reg, abs=1e-12)  # 0.5428932
    assert terms.total.item() == pytest.approx(var + dist + 0.001 * reg, abs=1e-12)  # 0.5191468
    assert FoxLoss()(emb, inst).item() == pytest.approx(terms.total.item())


def test_perfectly_separated_unit_embeddings_cost_nothing() -> None:
    # face 1 all (1, 0), face 2 all (0, 1): var 0; means orthogonal -> cosine distance 1 = 2 delta_d; |mu| = R = 1
    emb = torch.tensor([[1.0, 1.0, 0.0, 0.0, 5.0], [0.0, 0.0, 1.0, 1.0, -3.0]]).reshape(1, 2, 1, 5)
    inst = torch.tensor([[[1, 1, 2, 2, 0]]])  # the last pixel is not facial: ignored
    assert fox_loss(emb, inst).item() == pytest.approx(0.0, abs=1e-7)


def test_gradcheck() -> None:
    torch.manual_seed(0)
    emb = torch.randn(2, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    inst = torch.tensor([[[1, 1, 2], [2, 3, 0]], [[0, 4, 4], [4, 0, 0]]])  # image 2 holds one face (id 4)
    assert torch.autograd.gradcheck(lambda e: fox_loss(e, inst), (emb,))


def test_batch_mean_skips_images_without_faces_and_no_face_is_zero_with_graph() -> None:
    emb, inst = _two_instances()
    both = fox_loss(torch.cat([emb, emb]), torch.cat([inst, torch.zeros_like(inst)]))
    assert both.item() == pytest.approx(fox_loss(emb, inst).item())  # the empty image does not dilute the mean
    e = torch.randn(1, 2, 2, 2, requires_grad=True)
    zero = fox_loss(e, torch.zeros(1, 2, 2, dtype=torch.long))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(e.grad, torch.zeros_like(e))


def test_fox_loss_errors() -> None:
    emb = torch.randn(1, 2, 2, 2)
    with pytest.raises(ValueError, match=r"instance must be \(B, h, w\)"):
        fox_loss(emb, torch.zeros(1, 3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="integer ids"):
        fox_loss(emb, torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=">= 0"):
        fox_loss(emb, -torch.ones(1, 2, 2, dtype=torch.long))


def test_segmentation_loss_hand_worked() -> None:
    logits = torch.zeros(1, 1, 1, 2)  # sigmoid 0.5 everywhere
    target = torch.tensor([[[[1.0, 0.0]]]])
    # each cell: BCE = ln 2 = 0.693147, focal |0.5 - t|^2 = 0.25 -> 0.173287; sum 0.346574 / target mass 1
    assert landmark_segmentation_loss(logits, target).item() == pytest.approx(0.5 * math.log(2), abs=1e-6)
    # a soft target met exactly costs nothing: |sigmoid(z) - t| = 0
    t = torch.tensor([[[[0.3, 0.9]]]])
    assert LandmarkSegmentationLoss()(torch.logit(t), t).item() == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="one shape"):
        landmark_segmentation_loss(logits, target[..., :1])


def test_foxnet_loss_adds_both_parts() -> None:
    emb, inst = _two_instances()
    logits = torch.zeros(1, 1, 1, 3, dtype=torch.float64)
    seg = torch.tensor([[[[1.0, 0.0, 0.0]]]], dtype=torch.float64)
    out = FoxNetLoss(segmentation_weight=2.0)(FoxNetOutput(logits, emb), {"segmentation": seg, "instance": inst})
    # segmentation: 3 cells x 0.173287 / mass 1 = 0.519860; total = 2 * that + the Fox loss above
    assert out.segmentation.item() == pytest.approx(3 * 0.25 * math.log(2), abs=1e-9)
    assert out.total.item() == pytest.approx(2 * out.segmentation.item() + out.fox.total.item(), abs=1e-12)


def test_ignore_region_leaves_out_its_background_cells_but_not_a_labelled_target() -> None:
    # 1 x 3 cells, sigmoid 0.5 everywhere, each cell costing 0.25 ln 2 = 0.173287 (as above).
    logits = torch.zeros(1, 2, 1, 3)
    target = torch.tensor([[[[1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]])
    # cells 0 and 1 ignored: channel 0 keeps cell 0 (its target is 1) and cell 2; channel 1 keeps cell 2 only
    ignore = torch.tensor([[[True, True, False]]])
    want = 3 * 0.25 * math.log(2)  # 3 counted cells / mass 1
    assert landmark_segmentation_loss(logits, target, ignore=ignore).item() == pytest.approx(want, abs=1e-6)
    assert landmark_segmentation_loss(logits, target).item() == pytest.approx(6 * 0.25 * math.log(2), abs=1e-6)
    emb, inst = _two_instances()
    batch = {"segmentation": target.double(), "instance": inst, "ignore": ignore}
    out = FoxNetLoss()(FoxNetOutput(logits.double(), emb), batch)
    assert out.segmentation.item() == pytest.approx(want, abs=1e-9)
    assert out.fox.total.item() == pytest.approx(fox_loss(emb, inst).item(), abs=1e-12)  # the Fox loss needs no mask
    with pytest.raises(ValueError, match=r"ignore must be \(B, h, w\)"):
        landmark_segmentation_loss(logits, target, ignore=ignore[0])
