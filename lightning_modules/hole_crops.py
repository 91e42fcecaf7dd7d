"""Photos of any size with bounded memory: each hole region is inpainted in a crop around it, at no more
than `max_side` pixels, and its fill is brought back to full resolution. Known pixels are never touched.

A network's cost grows with the area it sees, and contextual or self-attention with its square (DeepFill's
attention asks for 562 GB on a 6000×4000 photo). The networks are trained at 256² and tested up to
512×680 (DeepFill v2, EII Places2 at 512×640), so a hole is best filled from its surroundings at about
that resolution:
- holes closer than `max_side / 4` px to each other form one region, inpainted together;
- its crop is the region's box grown by `context` × its longer side on every side (at least
  `max_side / 4` px), and to `max_side` per axis where the photo allows (more context costs nothing then);
- a crop larger than `max_side` is downscaled (box filter; a pixel touching a hole is a hole), inpainted
  with the method's own `inpaint` (a mono model's colorization included), and its fill upsampled
  (bilinear) into the region's hole pixels.
A photo no larger than `max_side` is inpainted whole, as before.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor

from lightning_modules.colorization.colorizer import Hints
from utils.box import Box

Inpaint = Callable[[Tensor, Tensor, Hints | None], Tensor]


class HoleRegions:
    """The regions of hole pixels less than about `gap` px apart, labelled on a grid of `gap / 4` px cells,
    so the cost does not depend on the number of holes (cellular-automata masks hold thousands).

    boxes[i]: the bounding box of region i + 1's hole pixels; `own(i + 1, box)`: which pixels of `box` are
    hole pixels of that region."""

    def __init__(self, hole: np.ndarray, gap: int):
        self.hole, self.cell = hole, max(1, gap // 4)
        cell, (height, width) = self.cell, hole.shape
        rows, cols = -(-height // cell), -(-width // cell)
        padded = np.zeros((rows * cell, cols * cell), dtype=bool)
        padded[:height, :width] = hole
        coarse = padded.reshape(rows, cell, cols, cell).any(axis=(1, 3))
        near = ndimage.binary_dilation(coarse, iterations=max(1, gap // (2 * cell)))
        self.labels, _ = ndimage.label(near, structure=np.ones((3, 3), dtype=bool))
        self.labels[~coarse] = 0
        self.boxes = []
        for index, (rows_, cols_) in enumerate(ndimage.find_objects(self.labels), start=1):
            cells = Box(rows_.start * cell, cols_.start * cell, rows_.stop * cell, cols_.stop * cell)
            ys, xs = np.nonzero(self.own(index, cells))
            self.boxes.append(
                Box(
                    cells.top + ys.min(),
                    cells.left + xs.min(),
                    cells.top + ys.max() + 1,
                    cells.left + xs.max() + 1,
                )
            )

    def own(self, index: int, box: Box) -> np.ndarray:
        cell = self.cell
        first_row, first_col = box.top // cell, box.left // cell
        cells = self.labels[first_row : -(-box.bottom // cell), first_col : -(-box.right // cell)] == index
        pixels = cells.repeat(cell, axis=0).repeat(cell, axis=1)
        pixels = pixels[box.top - first_row * cell :, box.left - first_col * cell :]
        hole = self.hole[box.top : box.bottom, box.left : box.right]
        return pixels[: hole.shape[0], : hole.shape[1]] & hole


@torch.no_grad()
def inpaint_in_crops(
    inpaint: Inpaint,
    image: Tensor,
    mask: Tensor,
    hints: Hints | None = None,
    max_side: int | None = 512,
    context: float = 0.5,
) -> Tensor:
    """The composite of image 1×3×H×W (mask 1×1×H×W, 1 = missing) for any H×W, the network never seeing
    more than `max_side` px per side; None: the whole photo at once (memory grows with its size)."""
    height, width = image.shape[-2:]
    if max_side is None or max(height, width) <= max_side:
        return inpaint(image, mask, hints)
    gap = max(1, max_side // 4)
    regions = HoleRegions(mask[0, 0].cpu().numpy() > 0.5, gap)
    result = image.clone()
    for index, region in enumerate(regions.boxes, start=1):
        crop = region.grown(max(gap, round(context * max(region.size))), max_side, height, width)
        rows, cols = crop.slices()
        scale = min(1.0, max_side / max(crop.size))
        size = (max(1, round(crop.size[0] * scale)), max(1, round(crop.size[1] * scale)))
        crop_image, crop_mask = image[..., rows, cols], mask[..., rows, cols]
        small_mask = (F.interpolate(crop_mask, size, mode="area") > 0).to(mask.dtype)
        small = inpaint(
            F.interpolate(crop_image, size, mode="area"),
            small_mask,
            None
            if hints is None
            else Hints(hints.colors[..., rows, cols], hints.mask[..., rows, cols]).resized(size),
        )
        fill = (
            small
            if size == crop.size
            else F.interpolate(small, crop.size, mode="bilinear", align_corners=False)
        )
        own = torch.from_numpy(regions.own(index, crop)).to(image.device)
        result[..., rows, cols] = torch.where(own, fill.to(image.dtype), result[..., rows, cols])
    return result
