"""Patch-swap (feature-translation paper §3.3.2): every 3×3 neural patch overlapping the hole is replaced
by the boundary patch of highest normalized cross-correlation, and overlapping patches are averaged.

The search is the paper's parallel form: the boundary patches, normalized, are the filters of one
convolution, so each location gets its cross-correlation with every candidate at once (‖p‖ of the
hole patch is the same for all candidates of a location, so it does not change the argmax and is left
out). Pasting the winners back is the transposed convolution with one-hot weights, computed as nine
gathers of the winners' values, which is that operation without the one-hot volume. Only hole positions
change; known positions keep their features.

The same search and paste make the style swap of §4.3's style transfer (Fig. 10): the content's patches
matched against the style's (Chen & Schmidt, the paper's ref. [7]).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

PATCH = 3  # the paper's 3×3 neural patches


def feature_hole(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """The hole at feature resolution: a feature position is missing when any pixel it covers is."""
    return (F.interpolate(mask.float(), size=size, mode="area") > 0).to(mask.dtype)


def patch_swap(features: Tensor, hole: Tensor, max_scores: int = 2**26) -> Tensor:
    """features B×C×H×W, hole B×1×H×W (1 = missing, at feature resolution) → the swapped B×C×H×W.

    Candidates are the 3×3 patches lying wholly in the known region; a location's patch (zero-padded at
    the map's border) overlaps the hole when any of its 3×3 positions is missing. max_scores bounds the
    cross-correlation volume held at once (elements): larger maps are searched in bands of rows, so memory
    stays bounded at any layer and size.
    """
    if features.dim() != 4 or hole.shape != (features.shape[0], 1, *features.shape[-2:]):
        raise ValueError(
            f"patch_swap takes features B×C×H×W and a hole B×1×H×W at the same H×W, "
            f"got {tuple(features.shape)} and {tuple(hole.shape)}"
        )
    return torch.stack([_fill_hole(f, h > 0.5, max_scores) for f, h in zip(features, hole)])


def style_swap(content: Tensor, style: Tensor, max_scores: int = 2**26) -> Tensor:
    """content B×C×H×W, style B×C×H'×W' or 1×C×H'×W' → B×C×H×W: the style swap of Chen & Schmidt (the
    paper's ref. [7]) that §4.3 (Fig. 10) feeds to Feature2Image for arbitrary style transfer.

    Every 3×3 window of the content is replaced by the style's 3×3 window of highest normalized
    cross-correlation, and overlaps are averaged. The content's own windows are the queries (the ones
    centred on its interior positions, which together cover every position): with style = content, each
    window's best match is itself and the map comes back unchanged. max_scores: as in patch_swap.
    """
    if (
        content.dim() != 4
        or style.dim() != 4
        or style.shape[0] not in (1, content.shape[0])
        or style.shape[1] != content.shape[1]
    ):
        raise ValueError(
            f"style_swap takes content B×C×H×W and style B×C×H'×W' or 1×C×H'×W', "
            f"got {tuple(content.shape)} and {tuple(style.shape)}"
        )
    if min(*content.shape[-2:], *style.shape[-2:]) < PATCH:
        raise ValueError(
            f"style_swap needs 3×3 patches, but got a {content.shape[-2]}×{content.shape[-1]} content and a "
            f"{style.shape[-2]}×{style.shape[-1]} style map: use larger images or a finer feature layer"
        )
    interior = torch.zeros(content.shape[-2:], dtype=torch.bool, device=content.device)
    interior[1:-1, 1:-1] = True
    candidates = torch.ones(style.shape[-2] - 2, style.shape[-1] - 2, dtype=torch.bool, device=style.device)
    styles = style.expand(len(content), -1, -1, -1)
    return torch.stack([_swap(c, s, candidates, interior, max_scores) for c, s in zip(content, styles)])


def _fill_hole(features: Tensor, hole: Tensor, max_scores: int) -> Tensor:
    if not bool(hole.any()):
        return features
    # Candidates: valid (unpadded) 3×3 windows with no missing position.
    holed = F.max_pool2d(hole[None].float(), PATCH, stride=1)[0, 0] > 0
    if bool(holed.all()):
        height, width = features.shape[-2:]
        raise ValueError(
            f"patch-swap needs known 3×3 patches, but the hole leaves none in this {height}×{width} "
            "feature map: use a smaller hole or a finer feature layer"
        )
    # Locations whose zero-padded patch touches the hole: the ones that get swapped.
    swapped = F.max_pool2d(hole[None].float(), PATCH, stride=1, padding=1)[0, 0] > 0
    return torch.where(hole, _swap(features, features, ~holed, swapped, max_scores), features)


def _swap(query: Tensor, source: Tensor, candidates: Tensor, swapped: Tensor, max_scores: int) -> Tensor:
    """The search and paste both swaps share. query C×H×W, source C×H'×W'; candidates (H'-2)×(W'-2):
    the source's valid (unpadded) 3×3 windows, by top-left corner, that may be chosen; swapped H×W: the
    locations whose zero-padded 3×3 query patch is matched. Returns C×H×W: the winners pasted around
    their locations and averaged where they overlap; positions no winner covers are 0."""
    height, width = query.shape[-2:]
    source_height, source_width = source.shape[-2:]
    # candidate norms from 3×3 sums of the squared source (no unfolded copy of the map)
    energy = F.avg_pool2d(source.square().sum(dim=0)[None, None], PATCH, stride=1)[0, 0] * PATCH**2
    inverse_norm = torch.where(candidates, energy.clamp_min(1e-24).rsqrt(), 0.0)
    excluded = ~candidates
    index = torch.zeros(height, width, dtype=torch.long, device=query.device)
    rows = swapped.any(dim=1).nonzero().flatten().tolist()
    cols = swapped.any(dim=0).nonzero().flatten().tolist()
    left, right = cols[0], cols[-1] + 1
    band = max(1, max_scores // ((right - left + 2) * source_height * source_width) - 2)
    padded = F.pad(query, (1, 1, 1, 1))
    for top in range(rows[0], rows[-1] + 1, band):
        bottom = min(top + band, rows[-1] + 1)
        queries = padded[:, top : bottom + 2, left : right + 2]
        scores = _cross_correlations(queries, source) * inverse_norm
        scores = scores.masked_fill(excluded, -torch.inf).flatten(2)
        index[top:bottom, left:right] = scores.argmax(dim=2)
    # Paste: each swapped location (i, j) adds its winner's 3×3 patch, whose top-left corner is (r, c):
    # position (i + a − 1, j + b − 1) gets source[:, r + a, c + b]; overlaps are averaged. This is the
    # transposed convolution with one-hot weights, without the one-hot volume.
    i, j = swapped.nonzero(as_tuple=True)
    r, c = index[i, j] // (source_width - 2), index[i, j] % (source_width - 2)
    summed = torch.zeros_like(query)
    counts = torch.zeros(height, width, dtype=query.dtype, device=query.device)
    for a in range(PATCH):
        for b in range(PATCH):
            y, x = i + a - 1, j + b - 1
            inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
            y, x = y[inside], x[inside]
            # one offset sends distinct locations to distinct positions: no index repeats here
            summed[:, y, x] += source[:, r[inside] + a, c[inside] + b]
            counts[y, x] += 1
    return summed / counts.clamp_min(1)


def _cross_correlations(queries: Tensor, features: Tensor) -> Tensor:
    """⟨query patch, candidate patch⟩ for every location of a block of the map (queries: its padded
    block, C × (b+2) × (w+2)) and every valid window of features (C×H×W): b × w × (H-2) × (W-2).

    A 3×3 patch product is the sum of nine position products at matching offsets, so one product of the
    position vectors (C deep, not 9C) serves all nine offsets, which are then summed as shifted views:
    9× fewer multiplications than matching the unfolded patches, with the same result.
    """
    _, height, width = features.shape
    rows, cols = queries.shape[1] - 2, queries.shape[2] - 2
    products = (queries.flatten(1).T @ features.flatten(1)).view(rows + 2, cols + 2, height, width)
    return sum(
        products[a : a + rows, c : c + cols, a : a + height - 2, c : c + width - 2]
        for a in range(PATCH)
        for c in range(PATCH)
    )
