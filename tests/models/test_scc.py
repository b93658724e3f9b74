"""SCC model pieces (Zhu, Lin et al.): row softmax, graph convolution, dynamic adjacency, attention,
the CPU-sized SCC and the FC baseline (small inputs only), and the zoo entries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facealign.models import MissingWeightsError, create_model, get_model_card
from facealign.models.backbones import resnet18
from facealign.models.scc import (
    AttentionMultiScale,
    DynamicAdjacency,
    FCRegressionModel,
    GraphConv,
    SCCModel,
    SemanticGuidedAttention,
    graph_conv,
    masked_row_softmax,
    offsets_to_pixels,
    ring_adjacency,
)

# 3 nodes, k = 1: node 0 gathers from {0, 1}, node 1 from {1, 2}, node 2 from {0, 2}.
MASK3 = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])


def test_masked_row_softmax_sums_to_one_over_the_non_zeros_only() -> None:
    # Row 0: softmax of [0, ln 3] -> [1/4, 3/4]; the 5 outside the mask gets 0, not most of the mass.
    values = torch.tensor([[0.0, math.log(3.0), 5.0], [9.0, 1.0, 1.0], [2.0, 7.0, 2.0]])
    out = masked_row_softmax(values, MASK3)
    expected = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    torch.testing.assert_close(out, expected)


def test_graph_conv_on_a_hand_worked_three_node_graph() -> None:
    # Equal values -> each row averages its two neighbours. H W with W = [[1, 1], [0, 2]]:
    #   h0 = [1, 0] -> [1, 1];  h1 = [0, 2] -> [0, 4];  h2 = [4, 4] -> [4, 12]
    # A H W: node 0 = ([1, 1] + [0, 4]) / 2 = [0.5, 2.5]; node 1 = ([0, 4] + [4, 12]) / 2 = [2, 8];
    #        node 2 = ([1, 1] + [4, 12]) / 2 = [2.5, 6.5]; + bias [1, -1].
    adj = masked_row_softmax(torch.zeros(1, 3, 3), MASK3)
    h = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]]])
    w = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    b = torch.tensor([1.0, -1.0])
    expected = torch.tensor([[[1.5, 1.5], [3.0, 7.0], [3.5, 5.5]]])
    torch.testing.assert_close(graph_conv(h, adj, w, b), expected)
    layer = GraphConv(2, 2, activation=False)
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(b)
    torch.testing.assert_close(layer(h, adj), expected)
    with pytest.raises(ValueError, match=r"node features \(B, N, 2\), got \(1, 3, 5\)"):
        layer(torch.zeros(1, 3, 5), adj)


def test_dynamic_adjacency_rows_are_probabilities_over_the_mask() -> None:
    torch.manual_seed(0)
    dyn = DynamicAdjacency(8, 3, k=1, hidden=4)
    dyn.set_mask(MASK3.numpy())
    z = torch.randn(2, 8, 3, 3)
    # FC2 starts at zero: every row is uniform over its k + 1 = 2 neighbours.
    torch.testing.assert_close(dyn(z), (MASK3 / 2).expand(2, 3, 3))
    torch.nn.init.normal_(dyn.fc2.weight)
    torch.nn.init.normal_(dyn.fc2.bias)
    adj = dyn(z)
    torch.testing.assert_close(adj.sum(-1), torch.ones(2, 3))
    assert (adj[:, MASK3 == 0] == 0).all() and (adj[:, MASK3 == 1] > 0).all()
    assert not torch.allclose(adj[0], adj[1])  # the weights depend on the image
    assert bool(dyn.fitted)
    with pytest.raises(ValueError, match="self-loops"):
        dyn.set_mask(np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]))


def test_ring_placeholder_has_k_plus_one_per_row() -> None:
    ring = ring_adjacency(5, 2)
    np.testing.assert_array_equal(ring.sum(1), 3)
    assert list(np.flatnonzero(ring[4])) == [0, 1, 4]  # 4 -> 4, 0, 1 cyclically


def test_semantic_guided_attention_is_residual_and_uses_the_guide() -> None:
    torch.manual_seed(0)
    att = SemanticGuidedAttention(4)
    x = torch.randn(1, 4, 5, 5)
    out = att(x, torch.randn(1, 4, 5, 5))
    # out = x * (1 + A^c A^s) with 0 < A^c A^s < 1, so out / x lies in (1, 2).
    ratio = out / x
    assert ((ratio > 1) & (ratio < 2)).all()
    assert not torch.allclose(out, att(x, torch.randn(1, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"x and guide of shape \(B, 4, H, W\)"):
        att(x, torch.randn(1, 4, 3, 3))


def test_attention_multi_scale_concatenates_at_the_deepest_resolution() -> None:
    ms = AttentionMultiScale([8, 16, 32], branch_channels=(6, 10))
    feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)]
    assert ms.out_channels == 32 + 10 + 6
    out = ms(feats)
    assert out.shape == (2, 48, 4, 4)
    torch.testing.assert_close(out[:, :32], feats[2])  # F_L passes through unchanged
    with pytest.raises(ValueError, match="not an integer multiple"):
        ms([torch.randn(2, 8, 15, 15), torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)])


def test_offsets_to_pixels_centre_and_edges() -> None:
    # S = 64: centre (64 - 1) / 2 = 31.5; o = -0.5 -> -0.5 (left edge), o = 0.5 -> 63.5 (right edge).
    out = offsets_to_pixels(torch.tensor([[0.0, -0.5], [0.5, 0.25]]), 64)
    torch.testing.assert_close(out, torch.tensor([[31.5, -0.5], [63.5, 47.5]]))


def _cpu_scc(**kwargs: object) -> SCCModel:
    return create_model("scc_cpu_68", input_size=64, **kwargs)  # type: ignore[return-value]


def test_cpu_scc_forward_backward_small_input() -> None:
    torch.manual_seed(0)
    model = _cpu_scc().train()
    assert (model.num_points, model.input_size, model.k) == (68, 64, 3)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 68, 2) and torch.isfinite(out).all()
    target = torch.rand(2, 68, 2) * 63
    loss = (out - target).abs().mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.backbone.parameters())
    assert model.head.adjacency.fc2.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"built for \(B, 3, 64, 64\) input, got \(1, 3, 96, 96\)"):
        model(torch.randn(1, 3, 96, 96))


@pytest.mark.parametrize("kwargs", [{"guided": False}, {"weighting": False}])
def test_ablation_variants_run(kwargs: dict) -> None:
    model = _cpu_scc(**kwargs).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 68, 2) and torch.isfinite(out).all()


def test_adjacency_travels_in_the_state_dict() -> None:
    rng = np.random.default_rng(0)
    mask = np.zeros((68, 68), dtype=np.float32)
    for i in range(68):
        mask[i, [i, *rng.choice([j for j in range(68) if j != i], 3, replace=False)]] = 1.0
    model = _cpu_scc()
    assert not model.adjacency_fitted
    model.set_adjacency(mask)
    assert model.adjacency_fitted
    fresh = _cpu_scc()
    fresh.load_state_dict(model.state_dict())
    assert fresh.adjacency_fitted
    np.testing.assert_array_equal(fresh.adjacency, mask)
    with pytest.raises(ValueError, match=r"row 0 holds 1"):
        fresh.set_adjacency(np.eye(68))


def test_prepare_training_installs_the_adjacency_of_the_training_shapes() -> None:
    """The trainer's hook (PreparesForTraining): SCC builds its graph from the shapes it is given (Eq. 4);
    the FC baseline has no graph and no hook."""
    from facealign.engine.trainer import PreparesForTraining
    from facealign.models.scc import build_adjacency

    shapes = np.random.default_rng(1).uniform(10, 118, size=(12, 68, 2))
    model = _cpu_scc()
    assert isinstance(model, PreparesForTraining)
    model.prepare_training(shapes)
    assert model.adjacency_fitted
    np.testing.assert_array_equal(model.adjacency, build_adjacency(shapes, k=model.k))
    assert not isinstance(FCRegressionModel(resnet18(), num_points=5, input_size=64), PreparesForTraining)


def test_fc_baseline_forward_backward() -> None:
    model = FCRegressionModel(resnet18(), num_points=5, input_size=64)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 5, 2) and torch.isfinite(out).all()
    out.sum().backward()
    assert model.fc.weight.grad is not None and model.fc.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="multiple of 32, got 100"):
        FCRegressionModel(resnet18(), num_points=5, input_size=100)


def test_zoo_entries_describe_regression_models() -> None:
    for name, side in [("scc_resnet34_68", 256), ("scc_fc_resnet34_68", 256), ("scc_cpu_68", 128)]:
        card = get_model_card(name)
        assert (card.output, card.decoder, card.scheme, card.num_points, card.input_size) == (
            "regression",
            "regression",
            "68",
            68,
            side,
        )
        assert card.heatmap_size == side and card.stride == 1
    with pytest.raises(MissingWeightsError, match="scc_cpu_68"):
        create_model("scc_cpu_68", pretrained=True)


def test_paper_sized_parameter_counts() -> None:
    # Built, not run. Paper Table 4 (WFLW, 98 points): 24.68 M; ResNet-34 alone is 21,284,672.
    scc98 = create_model("scc_resnet34_68", num_points=98)
    assert sum(p.numel() for p in scc98.parameters()) == 24_626_808
    fc68 = create_model("scc_fc_resnet34_68")
    assert sum(p.numel() for p in fc68.parameters()) == 21_284_672 + 512 * 136 + 136
