"""Heatmap decoders: ``(B, K, h, w)`` heatmaps -> ``(B, K, 2)`` sub-pixel peak positions.

Every decoder is a plain function on torch tensors, vectorised over batch and points (no Python
loop over maps), so it runs inside a training step, on any device, and exports to ONNX. They return
coordinates in **heatmap cells**, ``(x, y)`` order, cell ``(i, j)`` centred at ``(i, j)``;
:class:`facealign.codecs.HeatmapCodec` maps them to input pixels with
:func:`facealign.types.heatmap_to_input`. Scores are each map's maximum value clipped to ``[0, 1]``.

=================== =========================================================== ===================
decoder             method                                                      round-trip error on
                                                                                its own Gaussian
=================== =========================================================== ===================
argmax_decode       integer cell of the maximum                                 <= 0.5 cell per axis
quarter_offset      argmax + 0.25 cell toward the higher neighbour (Newell)     <= 0.25 cell per axis
dark_decode         DARK: blur, log, one Newton step (Zhang et al. CVPR 2020)   < 0.01 cell
soft_argmax_decode  expectation under softmax(beta * log h) near the argmax     < 0.01 cell
=================== =========================================================== ===================
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

__all__ = [
    "argmax_decode",
    "dark_decode",
    "gaussian_blur",
    "quarter_offset_decode",
    "soft_argmax_decode",
]

#: Heatmap values are clamped to this before a logarithm (DARK, log-domain soft-argmax).
LOG_FLOOR = 1e-10
#: Largest DARK step (cells, per axis). The true peak of a unimodal blob lies within half a cell of
#: its argmax cell; a longer Newton step means the local quadratic model failed, so it is cut back.
MAX_DARK_STEP = 1.0
#: A Gaussian blur kernel reaches this many sigmas on each side of its centre.
BLUR_KERNEL_SIGMAS = 3.0


#: The 3 x 3 neighbourhood in row-major order, ``(dx, dy)``: index 4 is the centre, 3 / 5 left / right,
#: 1 / 7 up / down, 0 / 2 / 6 / 8 the corners (-1,-1), (1,-1), (-1,1), (1,1).
_NEIGHBOURS = torch.tensor([[-1, 0, 1, -1, 0, 1, -1, 0, 1], [-1, -1, -1, 0, 0, 0, 1, 1, 1]])

#: DARK's central differences as one matrix on the 3 x 3 values ``P[0..8]`` (:data:`_NEIGHBOURS` order):
#: ``P @ _DARK_DIFFERENCES`` = ``[dx, dy, dyy, dxx, dxy, dy, dx, dxx]`` with ``dx = (P5 - P3) / 2``,
#: ``dy = (P7 - P1) / 2``, ``dxx = P5 - 2 P4 + P3``, ``dyy = P7 - 2 P4 + P1``,
#: ``dxy = (P8 - P2 - P6 + P0) / 4``; ordered so that the Newton step is elementwise products of
#: consecutive pieces (the gradient, the adjugate's diagonal, the gradient swapped).
_DARK_DIFFERENCES = torch.tensor(
    [
        [0.0, 0.0, 0.0, -0.5, 0.0, 0.5, 0.0, 0.0, 0.0],  # dx
        [0.0, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0],  # dy
        [0.0, 1.0, 0.0, 0.0, -2.0, 0.0, 0.0, 1.0, 0.0],  # dyy
        [0.0, 0.0, 0.0, 1.0, -2.0, 1.0, 0.0, 0.0, 0.0],  # dxx
        [0.25, 0.0, -0.25, 0.0, 0.0, 0.0, -0.25, 0.0, 0.25],  # dxy
        [0.0, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0],  # dy
        [0.0, 0.0, 0.0, -0.5, 0.0, 0.5, 0.0, 0.0, 0.0],  # dx
        [0.0, 0.0, 0.0, 1.0, -2.0, 1.0, 0.0, 0.0, 0.0],  # dxx
    ]
).T


def _map_size(heatmaps: torch.Tensor) -> tuple[int, int, int]:
    """``(K, h, w)`` as Python ints. In an exported graph (batch the only dynamic axis) they are
    constants, so shapes, blur bands and index arithmetic fold away instead of becoming shape ops."""
    k, height, width = (int(n) for n in heatmaps.shape[1:])
    return k, height, width


def _check_heatmaps(heatmaps: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(heatmaps, torch.Tensor):
        raise TypeError(f"{name}: heatmaps must be a torch.Tensor of shape (B, K, h, w), got {type(heatmaps).__name__}")
    if heatmaps.ndim != 4:
        raise ValueError(f"{name}: heatmaps must have shape (B, K, h, w), got {tuple(heatmaps.shape)}")
    # Half precision is too coarse for logs and second differences; compute in float32 at least.
    return heatmaps.to(torch.promote_types(heatmaps.dtype, torch.float32))


def _argmax_cells(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Integer argmax ``x, y`` (long, ``(B, K)``) and the maximum value ``(B, K)``; ties go to the first
    cell in row-major order.

    Found in two steps, the first row that holds the map's maximum, then the first column of that row
    holding it: the cell an argmax over the flattened map gives, at about a third of its cost in ONNX
    Runtime (whose ArgMax over 68 x 1024 values takes 60 us; the row maxima are a vectorised reduction).
    """
    width = _map_size(heatmaps)[2]
    values, y = heatmaps.amax(dim=-1).max(dim=-1)
    row = heatmaps.gather(2, y[..., None, None].expand(-1, -1, 1, width)).squeeze(2)
    return row.argmax(dim=-1), y, values


def _gather(flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Values of ``flat`` ``(B, K, h*w)`` at cells ``(x, y)`` ``(B, K)``, indices clamped into the map."""
    idx = y.clamp(0, height - 1) * width + x.clamp(0, width - 1)
    return torch.gather(flat, 2, idx.unsqueeze(-1)).squeeze(-1)


def _scores(values: torch.Tensor) -> torch.Tensor:
    return values.clamp(0.0, 1.0)


def argmax_decode(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer cell of each map's maximum (Eq. 1 of Earp et al.).

    Shape: ``(B, K, h, w) -> coords (B, K, 2)`` in heatmap cells, ``(x, y)``; ``scores (B, K)``.
    Ties resolve to the first cell in row-major order. Error up to half a cell per axis.
    """
    hm = _check_heatmaps(heatmaps, "argmax_decode")
    x, y, values = _argmax_cells(hm)
    return torch.stack([x, y], dim=-1).to(hm.dtype), _scores(values)


def quarter_offset_decode(heatmaps: torch.Tensor, *, offset: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax shifted by ``offset`` cell toward the higher of its two neighbours, per axis.

    The standard heuristic of stacked hourglass (Newell et al. ECCV 2016), HRNet and PropagationNet
    (Sec. 4.3): ``x = m_x + 0.25 * sign(h(m_x + 1) - h(m_x - 1))``, likewise ``y``. No shift on an
    axis where the argmax lies on the map's border or the neighbours are equal.

    Shape: ``(B, K, h, w) -> coords (B, K, 2)`` in heatmap cells, ``(x, y)``; ``scores (B, K)``.
    """
    hm = _check_heatmaps(heatmaps, "quarter_offset_decode")
    height, width = hm.shape[-2:]
    flat = hm.flatten(2)
    x, y, values = _argmax_cells(hm)
    dx = _gather(flat, x + 1, y, height, width) - _gather(flat, x - 1, y, height, width)
    dy = _gather(flat, x, y + 1, height, width) - _gather(flat, x, y - 1, height, width)
    inside_x = (x > 0) & (x < width - 1)
    inside_y = (y > 0) & (y < height - 1)
    ox = torch.where(inside_x, torch.sign(dx) * offset, torch.zeros_like(dx))
    oy = torch.where(inside_y, torch.sign(dy) * offset, torch.zeros_like(dy))
    coords = torch.stack([x.to(hm.dtype) + ox, y.to(hm.dtype) + oy], dim=-1)
    return coords, _scores(values)


def _gaussian_taps(sigma: float, radius: int, dtype: torch.dtype, device: torch.device | None = None) -> torch.Tensor:
    """The normalised 1-D Gaussian kernel, ``radius`` cells each side. Shape: ``(2 radius + 1,)``."""
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    taps = torch.exp(-(t**2) / (2.0 * sigma**2))
    return taps / taps.sum()


@functools.lru_cache(maxsize=32)
def _blur_band(n: int, sigma: float, radius: int, dtype: torch.dtype) -> torch.Tensor:
    """``(n, n)`` matrix whose row ``i`` holds the normalised Gaussian kernel (``radius`` cells each side)
    centred on ``i``, cut at the border: multiplying by it is the 1-D convolution with zero padding.
    Cached: the Aligner decodes with the same few settings on every call."""
    i = torch.arange(n)
    d = i[:, None] - i[None, :]
    taps = _gaussian_taps(sigma, radius, dtype)
    return torch.where(d.abs() <= radius, taps[(d + radius).clamp(0, 2 * radius)], torch.zeros((), dtype=dtype))


def gaussian_blur(heatmaps: torch.Tensor, *, sigma: float, kernel_size: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur of every map with zero padding (same size out).

    ``kernel_size`` defaults to ``2 * ceil(3 * sigma) + 1`` (three sigmas each side) and must be odd.
    Shape: ``(B, K, h, w) -> (B, K, h, w)``.
    """
    hm = _check_heatmaps(heatmaps, "gaussian_blur")
    if not sigma > 0:
        raise ValueError(f"gaussian_blur: sigma must be positive, got {sigma}")
    if kernel_size is None:
        kernel_size = 2 * math.ceil(BLUR_KERNEL_SIGMAS * sigma) + 1
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"gaussian_blur: kernel_size must be a positive odd integer, got {kernel_size}")
    _, height, width = _map_size(hm)
    if torch.onnx.is_in_onnx_export():
        return _depthwise_blur(hm, float(sigma), kernel_size // 2)
    # the separable blur as two matrix products (rows, then columns): ~8x faster on the CPU than
    # per-map 1-D convolutions for 68 small maps, and exact to float rounding
    rows = _blur_band(height, float(sigma), kernel_size // 2, hm.dtype).to(hm.device)
    cols = rows if width == height else _blur_band(width, float(sigma), kernel_size // 2, hm.dtype).to(hm.device)
    return rows @ hm @ cols.T


def _depthwise_blur(hm: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """:func:`gaussian_blur` as two depthwise convolutions with zero padding, the form an exported graph
    uses: ONNX Runtime runs it in its blocked convolution kernels, 0.07 ms per 68-point face less than
    the two band-matrix products (which eager PyTorch runs 7x faster than these convolutions). The
    taps are the band's rows (:func:`_gaussian_taps` for both), so both forms agree to float rounding
    (``tests/codecs``). Shape: ``(B, K, h, w) -> (B, K, h, w)``."""
    k = _map_size(hm)[0]
    taps = _gaussian_taps(sigma, radius, hm.dtype, hm.device).expand(k, 1, -1)
    vertical = F.conv2d(hm, taps.unsqueeze(-1).contiguous(), padding=(radius, 0), groups=k)
    return F.conv2d(vertical, taps.unsqueeze(-2).contiguous(), padding=(0, radius), groups=k)


def dark_decode(
    heatmaps: torch.Tensor, *, sigma: float, kernel_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """DARK decoding (Zhang et al., "Distribution-Aware Coordinate Representation for Human Pose
    Estimation", CVPR 2020, Sec. 3.1).

    1. Distribution modulation: smooth with a Gaussian kernel ``K`` of the training ``sigma`` and
       rescale to the original range, ``h' = K * h``, ``h' <- (h' - min h') / (max h' - min h') * max h``.
    2. Take ``P = ln h'``: for a Gaussian ``h`` it is exactly quadratic, ``P(x) = c - |x - mu|^2 / (2 s^2)``.
    3. One Newton step from the argmax ``m`` (the second-order Taylor expansion of ``P`` at ``m``,
       set to zero gradient): ``mu = m - D''(m)^-1 D'(m)``.

    Derivatives are central finite differences on the 3 x 3 neighbourhood of ``m``:
    ``dx = (P[y, x+1] - P[y, x-1]) / 2``, ``dxx = P[y, x+1] - 2 P[y, x] + P[y, x-1]``,
    ``dxy = (P[y+1, x+1] - P[y-1, x+1] - P[y+1, x-1] + P[y-1, x-1]) / 4`` (likewise ``dy``, ``dyy``).
    They are exact for a quadratic, so the step is exact for a Gaussian. (The authors' code takes
    ``dxx`` over +-2 cells; +-1 is equally exact for a quadratic and works one cell nearer the
    border.) The step is kept only where the 3 x 3 neighbourhood lies inside the map and ``D''`` is
    negative definite (a true maximum), and is clamped to :data:`MAX_DARK_STEP` cells per axis;
    elsewhere the argmax stands.

    Shape: ``(B, K, h, w) -> coords (B, K, 2)`` in heatmap cells, ``(x, y)``; ``scores (B, K)``
    (max of the unsmoothed map, clipped to [0, 1]).
    """
    hm = _check_heatmaps(heatmaps, "dark_decode")
    k, height, width = _map_size(hm)
    x, y, values = _argmax_cells(hm)
    cells = torch.stack([x, y], dim=-1)  # (B, K, 2)
    if height < 3 or width < 3:  # no cell has a 3 x 3 neighbourhood: the argmax stands everywhere
        return cells.to(hm.dtype), _scores(values)

    blurred = gaussian_blur(hm, sigma=sigma, kernel_size=kernel_size).reshape(-1, k, height * width)
    lo = blurred.amin(dim=-1, keepdim=True)
    hi = blurred.amax(dim=-1, keepdim=True)
    scale = values.unsqueeze(-1) / (hi - lo).clamp_min(LOG_FLOOR)  # values: the peak of the unsmoothed map

    # modulate and take the log only where the finite differences need it: the 3 x 3 cells around the
    # argmax, gathered at once (column j of `nb` is the cell (x + _NEIGHBOURS[0, j], y + _NEIGHBOURS[1, j])),
    # around the nearest cell that has all 8 neighbours; the argmax is `inside` when that is itself
    centre = torch.minimum(cells.clamp_min(1), torch.tensor([width - 2, height - 2], device=hm.device))
    centre = (centre * torch.tensor([1, width], device=hm.device)).sum(-1)
    inside = (centre == y * width + x).unsqueeze(-1)
    offsets = (_NEIGHBOURS[1] * width + _NEIGHBOURS[0]).to(hm.device)
    nb = torch.log(((blurred.gather(2, centre.unsqueeze(-1) + offsets) - lo) * scale).clamp_min(LOG_FLOOR))
    grad, adj, dxy, swapped, dxx = (nb @ _DARK_DIFFERENCES.to(nb)).split([2, 2, 1, 2, 1], dim=-1)
    det = adj.prod(dim=-1, keepdim=True) - dxy * dxy  # dyy dxx - dxy^2
    ok = inside & (dxx < 0) & (det > 0)
    # -H^-1 g with H^-1 = [[dyy, -dxy], [-dxy, dxx]] / det: H^-1 g = ([dyy, dxx] * g - dxy * [dy, dx]) / det
    # (where the step is not kept, det may be 0: its inf / nan never leaves the torch.where)
    step = ((dxy * swapped - adj * grad) / det).clamp(-MAX_DARK_STEP, MAX_DARK_STEP)
    coords = cells.to(hm.dtype) + torch.where(ok, step, 0.0)
    return coords, _scores(values)


def soft_argmax_decode(
    heatmaps: torch.Tensor, *, beta: float = 2.0, radius: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-argmax: the expected cell under ``softmax(beta * ln h)``, optionally within ``radius``
    cells (a square window) of the argmax.

    ``p_ij = h_ij^beta / sum h^beta`` (values clamped to :data:`LOG_FLOOR` first) and
    ``(x, y) = sum_ij p_ij (j, i)``. ``beta`` is the inverse temperature: larger is sharper.

    Why the logarithm: a softmax on the raw values (``exp(beta * h)``, integral regression of Sun et
    al. 2018, meant for maps trained as logits) gives every background cell of an MSE-trained
    Gaussian map the weight ``e^0 = 1`` against ``e^beta`` at the peak, which pulls the estimate
    toward the map centre; with a beta large enough to silence 4,096 background cells the peak
    collapses to less than a cell and the estimate snaps toward the grid. Measured on exact targets
    (64 x 64, sigma 1.5 / 2 / 3) the best beta (16-18) still leaves a worst-case error of 0.14 / 0.035 /
    0.0013 cell. In the log domain ``h^beta`` of a Gaussian of ``sigma`` is a Gaussian of
    ``sigma / sqrt(beta)`` with the same centre and exactly zero background, so the expectation is
    unbiased (error < 1e-3 cell for ``sigma / sqrt(beta) >= 0.7``), and it does not depend on the
    map's overall scale. ``beta = 2`` halves the variance and squares low background noise
    (0.05 -> 0.0025) while keeping the peak wide enough for sub-pixel accuracy at sigma >= 1.
    ``radius`` (e.g. ``ceil(3 sigma)``) ignores everything far from the argmax: other blobs, noise.

    Differentiable with respect to ``heatmaps`` (where ``h > LOG_FLOOR``).
    Shape: ``(B, K, h, w) -> coords (B, K, 2)`` in heatmap cells, ``(x, y)``; ``scores (B, K)``.
    """
    hm = _check_heatmaps(heatmaps, "soft_argmax_decode")
    if not beta > 0:
        raise ValueError(f"soft_argmax_decode: beta must be positive, got {beta}")
    if radius is not None and radius < 0:
        raise ValueError(f"soft_argmax_decode: radius must be >= 0 or None, got {radius}")
    height, width = hm.shape[-2:]
    xs = torch.arange(width, dtype=hm.dtype, device=hm.device)
    ys = torch.arange(height, dtype=hm.dtype, device=hm.device)
    logits = beta * torch.log(hm.clamp_min(LOG_FLOOR))
    mx, my, values = _argmax_cells(hm)
    if radius is not None:
        near_x = (xs.view(1, 1, 1, -1) - mx[..., None, None].to(hm.dtype)).abs() <= radius
        near_y = (ys.view(1, 1, -1, 1) - my[..., None, None].to(hm.dtype)).abs() <= radius
        logits = logits.masked_fill(~(near_x & near_y), float("-inf"))
    prob = torch.softmax(logits.flatten(2), dim=-1).view_as(hm)
    x = (prob.sum(dim=-2) * xs).sum(dim=-1)
    y = (prob.sum(dim=-1) * ys).sum(dim=-1)
    return torch.stack([x, y], dim=-1), _scores(values)
