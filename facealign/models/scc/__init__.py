"""Structure Coherence Component (Zhu, Lin et al., "Fast and Accurate: Structure Coherence Component
for Face Alignment"): data-driven adjacency, attention-guided multi-scale features, graph relation
head, the SCC / FC-baseline coordinate-regression models and their zoo entries (registered on import).
"""

from .adjacency import DEFAULT_K, build_adjacency, check_adjacency, landmark_correlation
from .attention import AttentionMultiScale, SemanticGuidedAttention, channel_attention, spatial_attention
from .graph import (
    DynamicAdjacency,
    GraphConv,
    GraphRelationHead,
    GraphResBlock,
    MapToNode,
    graph_conv,
    masked_row_softmax,
    ring_adjacency,
)
from .model import FCRegressionModel, SCCModel, offsets_to_pixels, scc_cpu_68, scc_fc_resnet34_68, scc_resnet34_68

__all__ = [
    "DEFAULT_K",
    "AttentionMultiScale",
    "DynamicAdjacency",
    "FCRegressionModel",
    "GraphConv",
    "GraphRelationHead",
    "GraphResBlock",
    "MapToNode",
    "SCCModel",
    "SemanticGuidedAttention",
    "build_adjacency",
    "channel_attention",
    "check_adjacency",
    "graph_conv",
    "landmark_correlation",
    "masked_row_softmax",
    "offsets_to_pixels",
    "ring_adjacency",
    "scc_cpu_68",
    "scc_fc_resnet34_68",
    "scc_resnet34_68",
]
