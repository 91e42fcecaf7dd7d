"""Contextual attention (Yu et al., "Generative Image Inpainting with Contextual Attention", CVPR 2018).

Each foreground location is matched against every known background patch by cosine similarity, and the
softmax of those scores pastes the background's raw patches back by transposed convolution, so the hole is
filled with content copied from far-away known regions rather than only from a receptive field.

Unlike the official TF code and its PyTorch ports, which take the first sample's mask for the whole batch
and loop over samples, every sample here is matched against its own known region, all samples at once
(batched matrix products).

`mode="official_code"` computes what the official TF code computes (JiahuiYu/generative_inpainting v2.0.0
inpaint_ops.py `contextual_attention` and `resize_mask_like`, through neuralgym ops/layers.py `resize`), for
weights trained with it: features and mask subsampled by TF's nearest-neighbour resize with
align_corners=True, a patch grid cell missing only if its sampled pixel is, hole scores zeroed (not
excluded) before a softmax over all patches and their weights zeroed after it, and no fallback, so a hole
covering every patch pastes zeros. Each sample still uses its own mask: the official code is handed one
mask per batch, and run on one image at a time (test.py) it computes exactly this.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

AttentionMode = Literal["suite", "official_code"]


def tf_nearest_indices(in_size: int, out_size: int) -> Tensor:
    """The source index of each output row (or column) of TF1's resize_nearest_neighbor with
    align_corners=True, as neuralgym's `resize` calls it: round(i * (in - 1) / (out - 1)), in float32 and
    rounding halves up, as TF's kernel does. Downsampling by 2 is not x[::2]: 64 -> 32 takes rows 0, 2, ...,
    30, 33, 35, ..., 63."""
    scale = torch.tensor(in_size - 1 if out_size > 1 else in_size, dtype=torch.float32) / max(out_size - 1, 1)
    position = torch.arange(out_size, dtype=torch.float32) * scale
    index = position.floor()
    index = index + (position - index >= 0.5)
    return index.long().clamp_max(in_size - 1)


def tf_nearest_resize(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    """B x C x H x W resized to `size` by TF1's align_corners nearest neighbour (`tf_nearest_indices`)."""
    rows = tf_nearest_indices(x.shape[-2], size[0]).to(x.device)
    cols = tf_nearest_indices(x.shape[-1], size[1]).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


class ContextualAttention(nn.Module):
    """Copy known background patches into the foreground by softmax attention on patch similarity.

    Args:
        patch_size: side of the patches compared on the `rate`-downsampled grid.
        rate: matching runs on features subsampled by `rate`; pasted patches are 2*rate wide at full size.
        fuse_size: side of the identity kernel that rewards coherent neighbouring matches; 1 disables it.
        softmax_scale: sharpens the softmax over cosine similarities.
        mode: "suite", or "official_code" to compute what the official TF code does (module docstring).
    """

    def __init__(
        self,
        patch_size: int = 3,
        rate: int = 2,
        fuse_size: int = 3,
        softmax_scale: float = 10.0,
        mode: AttentionMode = "suite",
    ) -> None:
        super().__init__()
        if patch_size % 2 == 0 or fuse_size % 2 == 0:
            raise ValueError(f"patch_size and fuse_size must be odd, got {patch_size} and {fuse_size}")
        if mode not in ("suite", "official_code"):
            raise ValueError(f"mode must be 'suite' or 'official_code', got {mode!r}")
        self.mode = mode
        self.patch_size = patch_size
        self.rate = rate
        self.fuse_size = fuse_size
        self.softmax_scale = softmax_scale

    def extra_repr(self) -> str:
        return (
            f"patch_size={self.patch_size}, rate={self.rate}, fuse_size={self.fuse_size}, "
            f"softmax_scale={self.softmax_scale}, mode={self.mode}"
        )

    def forward(self, foreground: Tensor, background: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Fill `foreground` with patches of `background`.

        Args:
            foreground: B x C x h x w features to reconstruct.
            background: B x C x h' x w' features to copy from (DeepFill passes the same tensor twice).
            mask: B x 1 x H x W image mask, 1 = missing, at any resolution covering the background.

        Returns:
            The reconstructed B x C x h x w features and the attention B x L x h/rate x w/rate, where
            L = (h'/rate) * (w'/rate) indexes background patches row-major (argmax gives the flow).
        """
        r, k = self.rate, self.patch_size
        batch, channels, height, width = foreground.shape
        if background.shape[:2] != (batch, channels) or mask.shape[:2] != (batch, 1):
            raise ValueError(
                f"foreground {tuple(foreground.shape)}, background {tuple(background.shape)} and "
                f"mask {tuple(mask.shape)} must share the batch (and features their channels)"
            )
        if any(size % r for size in (*foreground.shape[2:], *background.shape[2:])):
            raise ValueError(f"feature sizes must be multiples of rate={r}")

        # Match on a coarser grid (nearest subsampling, as the TF code resizes): r*r fewer patches.
        if self.mode == "official_code":
            fg = tf_nearest_resize(foreground, (height // r, width // r))
            bg = tf_nearest_resize(background, (background.shape[2] // r, background.shape[3] // r))
        else:
            fg, bg = foreground[..., ::r, ::r], background[..., ::r, ::r]
        fg_size, bg_size = fg.shape[2:], bg.shape[2:]
        # Each sample's background patches are matched against its own foreground patches by one batched
        # matrix product (grouped convolutions do the same but run several times slower on CPU).
        # Normalizing only the background patches makes a score the cosine similarity times the foreground
        # patch's norm; the softmax scale is folded in here, as fusing is linear.
        patches = F.unfold(bg, k, padding=k // 2).transpose(1, 2)  # B x L x C*k*k
        filters = patches * (self.softmax_scale / patches.norm(dim=2, keepdim=True).clamp_min(1e-4))
        scores = torch.bmm(filters, F.unfold(fg, k, padding=k // 2))  # B x L x P
        if self.fuse_size > 1:
            scores = self._fuse(scores, bg_size, fg_size)

        valid = self._known_patches(mask, background.shape[2:], bg_size)
        if self.mode == "official_code":
            known = valid[:, :, None].to(scores.dtype)
            attention = (scores * known).softmax(dim=1) * known
        else:
            # A sample whose hole touches every patch has nothing known to copy, and a softmax over no
            # candidates is 0/0; it attends over all its patches instead, whose content is then the coarse
            # stage's estimate, which keeps the branch informative where zeros would switch it off.
            valid = valid | ~valid.any(dim=1, keepdim=True)
            # Only known patches share the softmax, as the paper describes; the TF code zeroes the other
            # scores instead, which still hands them exp(0) of the mass (then discarded), diluting
            # large-hole outputs.
            attention = scores.masked_fill(~valid[:, :, None], float("-inf")).softmax(dim=1)

        # Paste the raw 2r x 2r background patches (stride r) where they were matched: a transposed
        # convolution, written as a batched product then fold. Inner pixels are covered by 4 patches; the TF
        # code divides by 4 everywhere.
        pad = (r // 2, r - r // 2, r // 2, r - r // 2)  # TF "SAME" padding for a 2r kernel at stride r
        raw = F.unfold(F.pad(background, pad), 2 * r, stride=r)  # B x C*2r*2r x L
        pasted = F.fold(torch.bmm(raw, attention), (height + r, width + r), 2 * r, stride=r)
        output = pasted[..., r // 2 : r // 2 + height, r // 2 : r // 2 + width] / 4
        return output, attention.view(batch, -1, *fg_size)

    def _fuse(self, scores: Tensor, bg_size: torch.Size, fg_size: torch.Size) -> Tensor:
        """Sum scores along diagonals, where patch l+1 matches location p+1, once along the row-major
        flattening and once along the column-major one, so that a match whose neighbours also match wins.
        The TF code convolves with an identity kernel; shifted sums are the same and far cheaper."""
        batch, num_patches, num_locations = scores.shape
        scores = self._diagonal_sum(scores)
        # Reorder both grids column-major so that the second pass runs along the other image axis.
        swapped = scores.view(batch, *bg_size, *fg_size).permute(0, 2, 1, 4, 3)
        scores = self._diagonal_sum(swapped.reshape(batch, num_patches, num_locations))
        unswapped = scores.view(batch, bg_size[1], bg_size[0], fg_size[1], fg_size[0]).permute(0, 2, 1, 4, 3)
        return unswapped.reshape(batch, num_patches, num_locations)

    def _diagonal_sum(self, scores: Tensor) -> Tensor:
        """out[l, p] = sum of scores[l + d, p + d] for |d| <= fuse_size // 2, zeros beyond the ends."""
        fused = scores.clone()
        for d in range(1, self.fuse_size // 2 + 1):
            fused[:, d:, d:] += scores[:, :-d, :-d]
            fused[:, :-d, :-d] += scores[:, d:, d:]
        return fused

    def _known_patches(self, mask: Tensor, background_size: torch.Size, bg_size: torch.Size) -> Tensor:
        """B x L booleans: background patches with no missing pixel under them.

        A grid cell is missing if any image pixel in it is (max pooling; the TF code's nearest resize
        samples one pixel per cell and can miss thin holes, letting hole content be pasted). In
        "official_code" mode it is that resize: the image mask to the background's size
        (`resize_mask_like`), then to the grid.
        """
        if self.mode == "official_code":
            hole = tf_nearest_resize(tf_nearest_resize(mask.to(torch.float32), background_size), bg_size)
        else:
            hole = F.adaptive_max_pool2d(mask.to(torch.float32), tuple(bg_size))
        k = self.patch_size
        touched = F.max_pool2d(hole, k, stride=1, padding=k // 2)  # -inf padding: outside counts as known
        return (touched <= 0).flatten(1)
