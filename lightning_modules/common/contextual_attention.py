"""Contextual attention (Yu et al., "Generative Image Inpainting with Contextual Attention", CVPR 2018).

Each foreground location is matched against every known background patch by cosine similarity, and the
softmax of those scores pastes the background's raw patches back by transposed convolution, so the hole is
filled with content copied from far-away known regions rather than only from a receptive field.

Unlike the official TF code and its PyTorch ports, which take the first sample's mask for the whole batch
and loop over samples, every sample here is matched against its own known region, all samples at once
(batched matrix products).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ContextualAttention(nn.Module):
    """Copy known background patches into the foreground by softmax attention on patch similarity.

    Args:
        patch_size: side of the patches compared on the `rate`-downsampled grid.
        rate: matching runs on features subsampled by `rate`; pasted patches are 2*rate wide at full size.
        fuse_size: side of the identity kernel that rewards coherent neighbouring matches; 1 disables it.
        softmax_scale: sharpens the softmax over cosine similarities.
    """

    def __init__(
        self, patch_size: int = 3, rate: int = 2, fuse_size: int = 3, softmax_scale: float = 10.0
    ) -> None:
        super().__init__()
        if patch_size % 2 == 0 or fuse_size % 2 == 0:
            raise ValueError(f"patch_size and fuse_size must be odd, got {patch_size} and {fuse_size}")
        self.patch_size = patch_size
        self.rate = rate
        self.fuse_size = fuse_size
        self.softmax_scale = softmax_scale

    def extra_repr(self) -> str:
        return (
            f"patch_size={self.patch_size}, rate={self.rate}, fuse_size={self.fuse_size}, "
            f"softmax_scale={self.softmax_scale}"
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

        valid = self._known_patches(mask, bg_size)
        # A sample whose hole touches every patch has nothing known to copy, and a softmax over no
        # candidates is 0/0; it attends over all its patches instead, whose content is then the coarse
        # stage's estimate, which keeps the branch informative where zeros would switch it off.
        valid = valid | ~valid.any(dim=1, keepdim=True)
        # Only known patches share the softmax, as the paper describes; the TF code zeroes the other scores
        # instead, which still hands them exp(0) of the mass (then discarded), diluting large-hole outputs.
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

    def _known_patches(self, mask: Tensor, bg_size: torch.Size) -> Tensor:
        """B x L booleans: background patches with no missing pixel under them.

        A grid cell is missing if any image pixel in it is (max pooling; the TF code's nearest resize
        samples one pixel per cell and can miss thin holes, letting hole content be pasted).
        """
        hole = F.adaptive_max_pool2d(mask.to(torch.float32), tuple(bg_size))
        k = self.patch_size
        touched = F.max_pool2d(hole, k, stride=1, padding=k // 2)  # -inf padding: outside counts as known
        return (touched <= 0).flatten(1)
