"""Multi-face evaluation (facealign.evaluation.multiface: P / R / F1, NME) and FoxNetPredictor on photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from facealign.bottomup import FoxNetPredictor, letterbox
from facealign.evaluation.multiface import evaluate_against_boxes, evaluate_multiface
from facealign.codecs import BottomUpCodec
from facealign.geometry import apply_affine, invert_affine
from facealign.imageio import read_image
from facealign.models.foxnet import FoxNet, FoxNetOutput
from facealign.types import FaceLandmarks

DLIB = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "multiface" / "dlib_examples"
#: A 5-point face: eye centres 10 px apart (the inter-ocular normaliser), nose, mouth corners.
FACE5 = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 5.0], [1.0, 10.0], [9.0, 10.0]])


def test_two_gt_three_pred_one_match() -> None:
    gt = [[FACE5, FACE5 + 100.0]]
    pred = [[FACE5 + [1.0, 0.0], FACE5 + 50.0, FACE5 + 300.0]]  # only the first overlaps a gt face
    res = evaluate_multiface(pred, gt, scheme="5")
    # boxes [1, 0, 11, 10] vs [0, 0, 10, 10]: IoU 90 / 110 = 0.818 -> matched; the others IoU 0
    assert (res.tp, res.fp, res.fn) == (1, 2, 1)
    assert res.precision == pytest.approx(1 / 3) and res.recall == pytest.approx(1 / 2)
    assert res.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))  # 0.4
    # every point 1 px off, inter-ocular distance 10 -> NME 0.1
    np.testing.assert_allclose(res.nmes, [0.1])
    assert res.summary["count"] == 1 and res.missing_points == 0.0


def test_missing_predicted_points_are_counted_not_measured() -> None:
    p = FACE5 + [1.0, 0.0]
    p[4] = np.nan
    res = evaluate_multiface([[p]], [[FACE5]], scheme="5")
    assert res.missing_points == pytest.approx(1 / 5)
    np.testing.assert_allclose(res.nmes, [0.1])  # 4 points, each 1 px / 10
    empty = evaluate_multiface([[]], [[FACE5]], scheme="5")
    assert (empty.precision, empty.recall, empty.f1, empty.fn) == (0.0, 0.0, 0.0, 1)


def test_multiface_rules_iou_by_default_centroid_on_request() -> None:
    # a prediction 6 px right of a face 10 px wide: landmark boxes [6, 0, 16, 10] vs [0, 0, 10, 10], IoU
    # 40 / 160 = 0.25 < 0.5, not a pair by the paper's IoU; its centroid (11, 5) leaves the box too. 4 px
    # right: IoU 60 / 140 = 0.43, still no IoU pair, but the centroid (9, 5) lies in the face's box
    pred = [[FACE5 + [6.0, 0.0]], [FACE5 + [4.0, 0.0]]]
    gt = [[FACE5], [FACE5]]
    assert evaluate_multiface(pred, gt, scheme="5").tp == 0
    res = evaluate_multiface(pred, gt, scheme="5", rule="centroid")
    assert (res.tp, res.fp, res.fn) == (1, 1, 1)
    np.testing.assert_allclose(res.nmes, [0.4])  # every point 4 px off, inter-ocular 10
    with pytest.raises(ValueError, match="same images"):
        evaluate_multiface([[]], [], scheme="5")


def test_letterbox_maps_the_photo_frame_exactly() -> None:
    rgb = np.zeros((40, 60, 3), dtype=np.uint8)  # h 40, w 60 -> scale 32 / 60, 32 x 21, 5 rows of padding above
    rgb[10:20, 30:40] = 255
    out, m = letterbox(rgb, 32, fill=(0, 0, 0))
    assert out.shape == (32, 32, 3)
    # the photo's outer corners (-0.5, -0.5) and (59.5, 39.5) land on the resized block's corners
    np.testing.assert_allclose(apply_affine(m, np.array([[-0.5, -0.5], [59.5, 39.5]])), [[-0.5, 4.5], [31.5, 25.5]])
    np.testing.assert_allclose(apply_affine(invert_affine(m), apply_affine(m, FACE5)), FACE5, atol=1e-12)
    # the white block's centre (34.5, 14.5) -> (34.5 + 0.5) * 32/60 - 0.5 = 18.17, (14.5 + 0.5) * 21/40 - 0.5 + 5 = 12.38
    ys, xs = np.nonzero(out[..., 0] > 127)
    assert abs(xs.mean() - 18.17) < 0.6 and abs(ys.mean() - 12.38) < 0.6


class _Oracle(nn.Module):
    """A 'network' that returns the perfect outputs for faces given in its input's pixels."""

    def __init__(self, codec: BottomUpCodec, faces: list[np.ndarray]) -> None:
        super().__init__()
        self.num_points, self.input_size, self.stride = codec.num_points, codec.input_size, codec.stride
        t = codec.encode(faces)
        self.logits = torch.logit(torch.from_numpy(t.segmentation).double().clamp(1e-6, 1 - 1e-6))[None]
        inst = torch.from_numpy(t.instance)
        self.emb = torch.stack([(inst == f).double() for f in range(len(faces) + 1)])[None]

    def forward(self, x: torch.Tensor) -> FoxNetOutput:
        return FoxNetOutput(self.logits, self.emb)


def test_predictor_maps_back_to_photo_pixels_exactly() -> None:
    photo = np.full((90, 150, 3), 90, dtype=np.uint8)  # landscape: letterboxed with rows of padding
    faces = [FACE5 * 3 + [10.0, 20.0], FACE5 * 3 + [100.0, 40.0]]
    codec = BottomUpCodec(input_size=128, heatmap_size=32, num_points=5, min_points=2)
    _, m = letterbox(photo, 128)
    net = _Oracle(codec, [apply_affine(m, f) for f in faces])
    out = FoxNetPredictor(net, codec=codec, scheme="5")(photo, color="rgb")
    assert len(out) == 2 and all(isinstance(f, FaceLandmarks) for f in out)
    got = sorted(out, key=lambda f: f.points[0, 0])
    for f, want in zip(got, faces):
        np.testing.assert_allclose(f.points, want, atol=0.05)
        assert f.points.dtype == np.float32 and f.scheme == "5" and f.align_points.shape == (5, 2)


def test_untrained_tiny_model_runs_on_a_real_photo() -> None:
    path = DLIB / "2008_002470.jpg"
    if not path.is_file():
        pytest.skip("shared multiface samples not present")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = FoxNet(num_points=68, input_size=64, backbone="resnet18", backbone_blocks=0, channels=16, depth=2)
    pred = FoxNetPredictor(net)
    rgb = read_image(path)
    faces = pred(rgb, color="rgb")
    assert isinstance(faces, list)
    _, m = letterbox(rgb, 64)
    for f in faces:
        assert isinstance(f, FaceLandmarks) and f.scheme == "68"
        assert f.points.shape == (68, 2) and f.scores.shape == (68,) and f.points.dtype == np.float32
        found = np.isfinite(f.points).all(axis=1)
        assert found.sum() >= 17 and np.all(f.scores[~found] == 0)
        inside = apply_affine(m, f.points[found].astype(np.float64))  # back in the network input frame
        assert (inside >= -0.5 - 1e-3).all() and (inside <= 63.5 + 1e-3).all()
    with pytest.raises(TypeError, match=r"a registered name, a bottom-up graph file \(.onnx\), a GraphFile or an nn.Module, got int"):
        FoxNetPredictor(3)


def test_evaluate_against_boxes_counts_boxes_and_measures_teacher_faces() -> None:
    teacher = np.stack([np.linspace(0, 9, 68), np.linspace(0, 9, 68)], axis=1)  # centroid (4.5, 4.5)
    boxes = [np.array([[0, 0, 10, 10], [20, 0, 30, 10.0]])]
    pred = [[teacher + 0.0, teacher + [20.0, 0.0], teacher + [60.0, 0.0]]]  # found, found (no teacher), false
    res = evaluate_against_boxes(pred, boxes, [[teacher, None]], scheme="68")
    # 2 of 3 predictions in a box, both boxes found: P 2/3, R 1, F1 0.8; NME over the one teacher face = 0
    assert (res.tp, res.fp, res.fn) == (2, 1, 0)
    assert res.f1 == pytest.approx(0.8) and res.nmes.shape == (1,) and res.nmes[0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="must list the same photos"):
        evaluate_against_boxes(pred, boxes, [], scheme="68")
    with pytest.raises(ValueError, match=r"evaluate_photos: 2 boxes but 1 ground-truth entries in photo 0"):
        evaluate_against_boxes(pred, boxes, [[teacher]], scheme="68")
