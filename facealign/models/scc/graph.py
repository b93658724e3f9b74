"""Graph relation network of the Structure Coherence Component (Zhu, Lin et al., "Fast and Accurate:
Structure Coherence Component for Face Alignment", Sec. 3.2, Eqs. 2-3 and 5-7).

* Map-to-node: two Conv-BN-ReLU turn ``F_A (B, C, H, W)`` into ``Z (B, N n, H, W)`` (expansion
  ``n = 4``), reshaped to node features ``Z_node (B, N, n H W)``: node ``i`` owns channels
  ``i n .. i n + n - 1``.
* Dynamic adjacency weighting: global average pooling of ``Z`` and two fully connected layers give one
  value per non-zero of the binary adjacency ``M`` (:mod:`.adjacency`); they replace the ones of ``M``
  and a row-wise softmax over the non-zeros normalises them (Eq. 6, following Zhao et al.'s SemGCN).
* Graph convolution ``H' = BN-ReLU(softmax_row(A) H W)`` (Eq. 6, replacing Eq. 3's symmetric
  normalisation), graph residual blocks ``H'' = f(f(H, A), A) + H`` (Eq. 7), and a last graph
  convolution without BN-ReLU mapping the hidden node features to two numbers per node.

Output convention: :class:`GraphRelationHead` returns **offsets from the crop centre in units of the
crop side**, ``(B, N, 2)`` in (x, y) order; the SCC model turns them into input pixels
(``x = (S - 1) / 2 + S * o``, :func:`facealign.models.scc.model.offsets_to_pixels`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .adjacency import check_adjacency

__all__ = [
    "DynamicAdjacency",
    "GraphConv",
    "GraphRelationHead",
    "GraphResBlock",
    "MapToNode",
    "graph_conv",
    "masked_row_softmax",
    "ring_adjacency",
]


def masked_row_softmax(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax of ``values`` over the entries where ``mask`` is non-zero; 0 elsewhere (Eq. 6's
    ``sigma_row``). Every row of ``mask`` must hold at least one non-zero (the self-loop).

    Shape: ``values (..., N, N)``, ``mask (N, N)`` (or broadcastable) -> ``(..., N, N)``, each row
    summing to 1 over its non-zeros.
    """
    keep = mask.to(torch.bool)
    logits = values.masked_fill(~keep, float("-inf"))
    return torch.softmax(logits, dim=-1).masked_fill(~keep, 0.0)


def graph_conv(
    h: torch.Tensor, adjacency: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """The linear part of a graph convolution (Eqs. 3 / 6 before ``psi``): ``A H W (+ b)``.

    ``adjacency`` is already normalised (e.g. :func:`masked_row_softmax`): row ``i`` weights the
    neighbours node ``i`` gathers from.

    Shape: ``h (B, N, d)``, ``adjacency (B, N, N)`` or ``(N, N)``, ``weight (d, d')``, ``bias (d',)``
    -> ``(B, N, d')``.
    """
    out = adjacency @ (h @ weight)
    return out if bias is None else out + bias


class GraphConv(nn.Module):
    """Eq. 6: ``H' = psi(A H W)`` with ``psi`` = BatchNorm over the ``d'`` features (statistics over
    batch and nodes) + ReLU; ``activation=False`` gives the plain ``A H W + b`` of the last layer.

    Shape: ``h (B, N, d_in)``, ``adjacency (B, N, N)`` -> ``(B, N, d_out)``.
    """

    def __init__(self, in_features: int, out_features: int, *, activation: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        nn.init.kaiming_uniform_(self.weight.t(), a=5**0.5)  # nn.Linear's init on (out, in)
        self.activation = bool(activation)
        if self.activation:
            self.register_parameter("bias", None)
            self.bn = nn.BatchNorm1d(out_features)
            self.relu = nn.ReLU(inplace=True)
        else:
            self.bias = nn.Parameter(torch.zeros(out_features))
        self.in_features, self.out_features = int(in_features), int(out_features)

    def forward(self, h: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        if h.ndim != 3 or h.shape[-1] != self.in_features:
            raise ValueError(f"GraphConv expects node features (B, N, {self.in_features}), got {tuple(h.shape)}")
        out = graph_conv(h, adjacency, self.weight, self.bias)
        if self.activation:
            out = self.relu(self.bn(out.transpose(1, 2)).transpose(1, 2))
        return out


class GraphResBlock(nn.Module):
    """Eq. 7: ``H1 = f(H, A)``, ``H2 = f(H1, A) + H`` with ``f`` a :class:`GraphConv` (BN-ReLU inside).

    Shape: ``(B, N, d)``, ``adjacency (B, N, N)`` -> ``(B, N, d)``.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = GraphConv(features, features)
        self.conv2 = GraphConv(features, features)

    def forward(self, h: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(h, adjacency), adjacency) + h


class MapToNode(nn.Module):
    """Map-to-node: two Conv-BN-ReLU ``C -> N n -> N n`` (``phi``), then ``Z_node = reshape(Z)``.

    The paper does not give the kernel sizes; ``kernels=(1, 3)`` (1x1 then 3x3) is our default.

    Shape: ``(B, C, H, W) -> (Z (B, N n, H, W), Z_node (B, N, n H W))``.
    """

    def __init__(
        self, in_channels: int, num_points: int, *, expansion: int = 4, kernels: tuple[int, int] = (1, 3)
    ) -> None:
        super().__init__()
        if expansion < 1:
            raise ValueError(f"MapToNode expansion must be a positive integer, got {expansion}")
        ch = num_points * expansion
        layers: list[nn.Module] = []
        for i, k in enumerate(kernels):
            layers += [
                nn.Conv2d(in_channels if i == 0 else ch, ch, k, padding=k // 2, bias=False),
                nn.BatchNorm2d(ch),
                nn.ReLU(inplace=True),
            ]
        self.phi = nn.Sequential(*layers)
        self.num_points, self.expansion = int(num_points), int(expansion)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.phi(x)
        b, _, h, w = z.shape
        return z, z.reshape(b, self.num_points, self.expansion * h * w)


def ring_adjacency(num_points: int, k: int) -> np.ndarray:
    """A placeholder mask: each node linked to itself and its next ``k`` indices (cyclically).

    Used only until the data-driven mask of :func:`facealign.models.scc.adjacency.build_adjacency`
    is set; ``(N, N)`` float32 with ``k + 1`` ones per row.
    """
    if not 0 <= k <= num_points - 1:
        raise ValueError(f"ring_adjacency: k must be in [0, {num_points - 1}], got {k}")
    mask = np.zeros((num_points, num_points), dtype=np.float32)
    for i in range(num_points):
        mask[i, [(i + j) % num_points for j in range(k + 1)]] = 1.0
    return mask


class DynamicAdjacency(nn.Module):
    """Dynamic adjacency weighting (Sec. 3.2): ``a = FC2(relu(FC1(avgpool(Z))))`` holds one value per
    non-zero of ``M``; ``A`` = ``M`` with its ones replaced by ``a``, normalised by
    :func:`masked_row_softmax`.

    ``M`` is the buffer ``mask`` (saved in the state_dict); ``fitted`` (a saved bool buffer) says
    whether it is the data-driven mask set by :meth:`set_mask` or the :func:`ring_adjacency`
    placeholder. ``FC2`` starts at zero, so training starts from ``M``'s rows averaged uniformly.
    ``weighting=False`` is the paper's "GN w/o DW" ablation: the softmax of the binary ``M``.

    Shape: ``z (B, C_z, H, W)`` -> ``(B, N, N)``, rows summing to 1 over ``M``'s non-zeros.
    """

    def __init__(self, in_channels: int, num_points: int, *, k: int, hidden: int, weighting: bool = True) -> None:
        super().__init__()
        self.num_points, self.k, self.weighting = int(num_points), int(k), bool(weighting)
        self.register_buffer("mask", torch.from_numpy(ring_adjacency(self.num_points, self.k)))
        self.register_buffer("fitted", torch.tensor(False))
        nnz = self.num_points * (self.k + 1)
        if self.weighting:
            self.fc1 = nn.Linear(in_channels, hidden)
            self.fc2 = nn.Linear(hidden, nnz)
            nn.init.zeros_(self.fc2.weight)
            nn.init.zeros_(self.fc2.bias)

    def set_mask(self, mask: np.ndarray) -> None:
        """Install the binary adjacency ``M`` (``(N, N)``, self-loops, ``k + 1`` ones per row)."""
        arr = check_adjacency(mask, num_points=self.num_points, k=self.k)
        self.mask.copy_(torch.from_numpy(arr))
        self.fitted.fill_(True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        n = self.num_points
        if not self.weighting:
            return masked_row_softmax(self.mask.expand(b, n, n), self.mask)
        a = self.fc2(torch.relu(self.fc1(z.mean(dim=(2, 3)))))
        # Row-major order of M's non-zeros: row i holds exactly k + 1 of them, so a fills (B, N, k + 1).
        cols = self.mask.nonzero()[:, 1].reshape(n, self.k + 1)
        dense = torch.zeros(b, n, n, dtype=a.dtype, device=a.device)
        dense = dense.scatter(2, cols.expand(b, n, self.k + 1), a.reshape(b, n, self.k + 1))
        return masked_row_softmax(dense, self.mask)


class GraphRelationHead(nn.Module):
    """Map-to-node + dynamic adjacency + graph relation network (Fig. 2): ``F_A -> (B, N, 2)``.

    Args:
        in_channels: channels of ``F_A``.
        num_points: N.
        feature_size: ``(H, W)`` of ``F_A``; it fixes the node feature size ``n H W`` (the first
            graph convolution's input), so the head is built for one input size.
        expansion: n (paper: 4). hidden: graph feature size (paper: 128). blocks: graph residual
            blocks (paper: 4). k: neighbours per node (paper: 3). weight_hidden: FC1 width of the
            dynamic weighting (not given by the paper; default ``N n``). weighting: dynamic weighting
            on / off (Table 5's "DW").

    Shape: ``(B, C, H, W)`` -> ``(B, N, 2)`` offsets from the crop centre in crop sides, (x, y).
    """

    def __init__(
        self,
        in_channels: int,
        num_points: int,
        *,
        feature_size: tuple[int, int],
        expansion: int = 4,
        hidden: int = 128,
        blocks: int = 4,
        k: int = 3,
        weight_hidden: int | None = None,
        weighting: bool = True,
        node_kernels: tuple[int, int] = (1, 3),
    ) -> None:
        super().__init__()
        if not 0 <= k <= num_points - 1:
            raise ValueError(f"GraphRelationHead: k must be in [0, {num_points - 1}], got {k}")
        self.map_to_node = MapToNode(in_channels, num_points, expansion=expansion, kernels=node_kernels)
        z_ch = num_points * expansion
        self.adjacency = DynamicAdjacency(
            z_ch, num_points, k=k, hidden=z_ch if weight_hidden is None else int(weight_hidden), weighting=weighting
        )
        self.feature_size = (int(feature_size[0]), int(feature_size[1]))
        self.input_conv = GraphConv(expansion * self.feature_size[0] * self.feature_size[1], hidden)
        self.blocks = nn.ModuleList(GraphResBlock(hidden) for _ in range(blocks))
        self.output_conv = GraphConv(hidden, 2, activation=False)
        self.num_points = int(num_points)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[-2:]) != self.feature_size:
            raise ValueError(
                f"GraphRelationHead was built for (B, C, {self.feature_size[0]}, {self.feature_size[1]}) "
                f"features, got {tuple(x.shape)} (the node features fix the input size)"
            )
        z, nodes = self.map_to_node(x)
        adj = self.adjacency(z)
        h = self.input_conv(nodes, adj)
        for block in self.blocks:
            h = block(h, adj)
        return self.output_conv(h, adj)
