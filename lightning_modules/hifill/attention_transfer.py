"""HiFill's attention computing (ATN) and attention transfer (ATM), HiFill §3.2.

ATN scores every location of the refine network's high-level feature map against every known 3×3 patch
(cosine similarity to the background patch, fused along both image axes, softmax); the scores live on a
grid of (feature size / 2)², 32×32 for the code's 512² input. ATM then reuses those scores on any
feature map or image: its patches of (size / grid) pixels are recombined by the same weights. With
non-overlapping patches the same transfer is the residual aggregation of CRA (§3.1).

Values and layout follow duxingren14/Hifill-tensorflow, ops.py (`contextual_attention`,
`apply_attention`, `apply_attention2`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.hifill.light_weight_gated_conv import same_padding


def known_patches(mask: Tensor, grid: tuple[int, int], patch_size: int = 3) -> Tensor:
    """B×L weights, 1 for background patches with no missing pixel: the image mask max-pooled to the grid
    (ops.py: max_pool 16×16 at 512²), dilated by the patch (3×3 max_pool), inverted."""
    hole = F.adaptive_max_pool2d(mask.float(), grid)
    hole = F.max_pool2d(hole, patch_size, stride=1, padding=patch_size // 2)
    return (1 - hole).flatten(1)


def fuse(scores: Tensor, grid: tuple[int, int], size: int = 3) -> Tensor:
    """The code's fusion: an identity-kernel convolution of the P×L score matrix (sums along diagonals,
    where patch l+1 matches location p+1), once row-major and once column-major."""

    def diagonal_sum(s: Tensor) -> Tensor:
        out = s.clone()
        for d in range(1, size // 2 + 1):
            out[:, d:, d:] += s[:, :-d, :-d]
            out[:, :-d, :-d] += s[:, d:, d:]
        return out

    batch, h, w = scores.shape[0], *grid
    scores = diagonal_sum(scores)
    swapped = scores.view(batch, h, w, h, w).permute(0, 2, 1, 4, 3).reshape(batch, h * w, h * w)
    scores = diagonal_sum(swapped)
    return scores.view(batch, w, h, w, h).permute(0, 2, 1, 4, 3).reshape(batch, h * w, h * w)


def attention_scores(
    features: Tensor, mask: Tensor, rate: int = 2, patch_size: int = 3, softmax_scale: float = 10.0
) -> Tensor:
    """ATN: B×P×L attention of each grid location p over background patches l, on `features`
    subsampled by `rate` (grid = feature size / rate). The code multiplies the scores by the known-patch
    weights before the scaled softmax and again after it, so unknown patches get exp(0) of the mass,
    then none."""
    small = features[..., ::rate, ::rate]
    grid = tuple(small.shape[-2:])
    patches = F.unfold(small, patch_size, padding=patch_size // 2)  # B × C·k·k × L
    filters = patches / patches.norm(dim=1, keepdim=True).clamp_min(1e-8)
    scores = fuse(torch.bmm(patches.transpose(1, 2), filters), grid)  # B × P × L
    valid = known_patches(mask, grid, patch_size)[:, None, :]
    return torch.softmax(scores * valid * softmax_scale, dim=2) * valid


def transfer(source: Tensor, scores: Tensor, grid: tuple[int, int], kernel: int | None = None) -> Tensor:
    """ATM: each grid location's output patch is the score-weighted sum of `source`'s patches, i.e.
    the code's conv2d_transpose of the scores with the extracted patches. Patches are `kernel` wide at
    stride `rate` = source size / grid, with TF "SAME" padding (kernel 2·rate: overlapping, as
    `apply_attention`; kernel = rate: disjoint, as `apply_attention2` / CRA). No normalization of the
    overlap, as the code."""
    height, width = source.shape[-2:]
    rate = height // grid[0]
    if (rate * grid[0], rate * grid[1]) != (height, width) or scores.shape[1] != grid[0] * grid[1]:
        raise ValueError(f"source {tuple(source.shape)} does not tile the {grid} attention grid")
    kernel = 2 * rate if kernel is None else kernel
    pad_h, pad_w = same_padding(height, kernel, rate), same_padding(width, kernel, rate)
    patches = F.unfold(F.pad(source, (*pad_w, *pad_h)), kernel, stride=rate)
    full = (height + sum(pad_h), width + sum(pad_w))
    out = F.fold(torch.bmm(patches, scores.transpose(1, 2)), full, kernel, stride=rate)
    return out[..., pad_h[0] : pad_h[0] + height, pad_w[0] : pad_w[0] + width]
