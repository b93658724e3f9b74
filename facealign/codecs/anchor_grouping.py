"""Near-linear grouping of landmark candidates into faces: seeds from an anchor landmark, nearest seed.

The FoxNet paper (Sec. II-C) groups all candidates of all landmarks by mean shift on their embeddings;
every shift step compares every seed with every candidate, ``O(S M)`` per step over ``K F`` candidates
of ``F`` faces, and the number of steps grows with the crowd (:mod:`facealign.codecs.mean_shift`).
Here each face is seeded once and every candidate is compared with the seeds once:

1. **anchor**: the landmark channel with the most candidates (ties: the highest summed score) seeds
   one face per candidate, best first, a candidate within ``bandwidth`` of an earlier seed of the
   same channel joining it instead (one face has one peak per landmark; NMS may leave a twin);
2. **assignment**, channel by channel (then by score): a candidate joins its nearest seed when that
   seed is within ``bandwidth``; otherwise it seeds a new face (a face whose anchor was missed);
3. **one refinement** (a k-means step): each seed becomes the normalised mean of its members, seeds
   closer than ``bandwidth`` to a larger one are merged into it, and every candidate takes its
   nearest remaining seed.

Cost: ``O(M S d)`` with ``S`` about ``F``, one pass; no iteration to convergence. Embeddings are
normalised to unit length first (as the codec gives them), so a Euclidean ``bandwidth`` is a chord on
the sphere.
"""

from __future__ import annotations

import numpy as np

__all__ = ["anchor_grouping"]


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(A, B)`` squared Euclidean distances of unit vectors: ``2 - 2 a.b``."""
    return np.maximum(2.0 - 2.0 * a @ b.T, 0.0)


def _new_seeds(x: np.ndarray, radius2: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy leaders of ``x`` (rows in priority order): each row further than the radius from every
    earlier leader leads. Returns the leaders' row indices and every row's leader (index into them)."""
    near = _sq_dist(x, x) <= radius2
    leaders: list[int] = []
    owner = np.full(len(x), -1, dtype=np.int64)
    for i in range(len(x)):
        if owner[i] < 0:
            owner[near[i] & (owner < 0)] = len(leaders)
            leaders.append(i)
    return np.asarray(leaders, dtype=np.int64), owner


def anchor_grouping(embedding: np.ndarray, channel: np.ndarray, score: np.ndarray, *, bandwidth: float) -> np.ndarray:
    """Face labels of landmark candidates (module docstring). Shape: ``(M, d)`` unit embeddings, ``(M,)``
    channels and scores -> ``(M,)`` int64 labels ``0 .. G-1``, the face of the most members first."""
    x = np.asarray(embedding, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12) if x.ndim == 2 else x
    ch = np.asarray(channel, dtype=np.int64)
    sc = np.asarray(score, dtype=np.float64)
    if x.ndim != 2 or ch.shape != (len(x),) or sc.shape != (len(x),):
        raise ValueError(f"anchor_grouping: expected (M, d) embeddings with (M,) channels and scores, got {x.shape}, {ch.shape}, {sc.shape}")
    if not bandwidth > 0:
        raise ValueError(f"anchor_grouping: bandwidth must be > 0, got {bandwidth}")
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    r2 = float(bandwidth) ** 2
    counts = np.bincount(ch)
    mass = np.bincount(ch, weights=sc)
    anchor = int(np.lexsort((-mass, -counts))[0])
    # channels in order: the anchor first, then the others by index; within a channel best first
    rank = np.where(ch == anchor, -1, ch)
    order = np.lexsort((-sc, rank))
    labels = np.full(len(x), -1, dtype=np.int64)
    seeds = np.zeros((0, x.shape[1]))
    bounds = np.flatnonzero(np.diff(rank[order])) + 1
    for block in np.split(order, bounds):
        free = block
        if len(seeds):
            d2 = _sq_dist(x[block], seeds)
            best = d2.argmin(1)
            ok = d2[np.arange(len(block)), best] <= r2
            labels[block[ok]] = best[ok]
            free = block[~ok]
        if len(free):
            leaders, owner = _new_seeds(x[free], r2)
            labels[free] = len(seeds) + owner
            seeds = np.concatenate([seeds, x[free[leaders]]])
    # refinement: seeds -> normalised member means; merge near seeds into larger ones; nearest seed
    by_label = np.argsort(labels, kind="stable")
    members = np.bincount(labels, minlength=len(seeds))  # every seed has its leader, so none is empty
    sums = np.add.reduceat(x[by_label], np.concatenate([[0], np.cumsum(members)[:-1]]), axis=0)
    means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    by_size = np.argsort(-members, kind="stable")
    keep, _ = _new_seeds(means[by_size], r2)
    means = means[by_size[keep]]
    final = _sq_dist(x, means).argmin(1)
    # relabel by group size, largest first
    sizes = np.bincount(final, minlength=len(means))
    rank_of = np.empty(len(means), dtype=np.int64)
    rank_of[np.argsort(-sizes, kind="stable")] = np.arange(len(means))
    return rank_of[final]
