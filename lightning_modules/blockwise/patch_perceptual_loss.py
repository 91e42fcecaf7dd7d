"""Patch perceptual loss, PPL (Block-wise paper §3.2, eq. 2): LPIPS (Zhang et al. 2018: AlexNet features,
unit-normalized per channel, weighted by learned linear layers, averaged over positions and summed over
layers) between the output and the original on the hole's patch at two scales: the local patch, and a
zoomed-out patch around it for context.

The hole's patch is the bounding box of the image's holes; the paper does not say how far the second
scale zooms out, and `context_scale` (default 2: twice the box's sides, clipped to the image) sets it.
Crops keep their size (LPIPS takes any size), so each image is scored on its own.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from utils.pretrained import lpips_network

MIN_SIDE = 32  # AlexNet's stride-4 11×11 stem and two poolings need a few pixels to keep a feature map


def hole_box(mask: Tensor) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), end exclusive, of the holes of a 1×H×W mask."""
    rows, cols = mask[0].amax(dim=1).nonzero(), mask[0].amax(dim=0).nonzero()
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def zoomed(
    box: tuple[int, int, int, int], scale: float, height: int, width: int
) -> tuple[int, int, int, int]:
    """The box scaled about its centre (at least MIN_SIDE per side), shifted and clipped into the image."""
    top, left, bottom, right = box
    spans = []
    for start, end, size in ((top, bottom, height), (left, right, width)):
        side = min(size, max(MIN_SIDE, round((end - start) * scale)))
        first = min(max(0, (start + end - side) // 2), size - side)
        spans.append((first, first + side))
    return spans[0][0], spans[1][0], spans[0][1], spans[1][1]


class PatchPerceptualLoss(nn.Module):
    """images in [-1, 1] (the generator's range, as LPIPS takes them), mask 1 = missing."""

    def __init__(
        self,
        net: Literal["alex", "vgg"] = "alex",
        backbone_weights: Literal["imagenet", "random"] = "imagenet",
        context_scale: float = 2.0,
    ):
        super().__init__()
        self.lpips = lpips_network(net, backbone_weights)
        self.context_scale = context_scale

    def patches(self, mask: Tensor) -> list[list[tuple[int, int, int, int]]]:
        """Per image, the local and the zoomed-out patch (images without a hole have none)."""
        height, width = mask.shape[-2:]
        boxes = []
        for image_mask in mask:
            if not bool(image_mask.any()):
                boxes.append([])
                continue
            box = hole_box(image_mask > 0.5)
            boxes.append([zoomed(box, scale, height, width) for scale in (1.0, self.context_scale)])
        return boxes

    def forward(self, output: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        if output.shape[1] == 1:  # the monochromic bottleneck's gray, as LPIPS' three channels
            output, target = output.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
        terms = [
            self.lpips(
                output[i : i + 1, :, top:bottom, left:right], target[i : i + 1, :, top:bottom, left:right]
            )
            for i, boxes in enumerate(self.patches(mask))
            for top, left, bottom, right in boxes
        ]
        if not terms:
            return output.sum() * 0  # no hole in the batch: nothing to compare, a zero that keeps the graph
        # eq. 2 sums the two scales; images are averaged like every other loss of the batch
        return torch.cat(terms).sum() / output.shape[0]
