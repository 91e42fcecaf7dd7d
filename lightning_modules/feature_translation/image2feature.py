"""The Image2Feature generator G_1 (Song et al. 2018, §3.3.1) and the embedding of its coarse prediction.

G_1 is a U-Net from the incomplete image I_0 (holes zero-filled) to a coarse prediction I_1^R of the hole,
at the hole's size (128×128 for a 256² image with its 128² centre hole, §3.3): eight convolution blocks
down to 1×1 and seven deconvolution blocks back up, skip connections on all but the output block. The
depth follows the training size (log2 of it, 7 at the multi-scale default of 128), so the innermost
block is always 1×1. A hole smaller than half the side (§4.1's 224 of 512: 56² at 128) is the output
deconvolution's centre, its border cropped (suite choice: the paper's blocks give half the side).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.feature_translation.unet import UNet


class Image2FeatureGenerator(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        image_size: int = 256,
        hole_fraction: float = 0.5,
        channels: int = 64,
        max_channels: int = 512,
    ):
        super().__init__()
        down = round(math.log2(image_size))
        if 2**down != image_size or down < 3:
            raise ValueError(f"image_size must be a power of two ≥ 8, got {image_size}")
        # the centre hole's side, as the centre_square mask rounds it
        self.hole_size = max(1, round(hole_fraction * image_size))
        if not 0 < hole_fraction <= 0.5:
            raise ValueError(f"hole_fraction must be in (0, 1/2], got {hole_fraction}")
        self.image_size = image_size
        self.unet = UNet(
            in_channels,
            out_channels,
            down,
            down - 1,
            down - 2,
            2,
            channels,
            max_channels,
            output_trim=image_size // 2 - self.hole_size,
        )

    def forward(self, incomplete: Tensor) -> Tensor:
        """B×C×S×S incomplete image in [-1, 1] → B×C'×h×h prediction of the hole's bounding box (h: the
        hole's side at hole_fraction)."""
        return self.unet(incomplete)


def hole_box(mask: Tensor) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the missing pixels of one (1×)H×W mask."""
    missing = mask.reshape(-1, *mask.shape[-2:]).amax(dim=0)
    rows, cols = missing.amax(dim=1).nonzero().flatten(), missing.amax(dim=0).nonzero().flatten()
    if not len(rows):
        raise ValueError("the mask has no missing pixel: there is no hole to predict")
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def embed(prediction: Tensor, mask: Tensor) -> Tensor:
    """I_1^R placed over each image's hole, zeros elsewhere. At the generator's hole_fraction the two have
    the same size; another hole (multi-scale inference's windows, a mask of another share) gets the
    prediction resized (bilinear) to its bounding box."""
    canvas = prediction.new_zeros(*prediction.shape[:2], *mask.shape[-2:])
    for index in range(len(mask)):
        top, bottom, left, right = hole_box(mask[index])
        patch = prediction[index : index + 1]
        if patch.shape[-2:] != (bottom - top, right - left):
            patch = F.interpolate(
                patch, size=(bottom - top, right - left), mode="bilinear", align_corners=False
            )
        canvas[index, :, top:bottom, left:right] = patch[0]
    return canvas


def weighted_hole(mask: Tensor, band: int, weight: float) -> Tensor:
    """The paper's weighted mask M (eq. 2 / 3): 1 in the hole, `weight` on the hole's pixels within `band`
    of the known region (where the composite must be coherent), 0 outside the hole."""
    if band <= 0:
        return mask
    near_known = F.max_pool2d(1 - mask, 2 * band + 1, stride=1, padding=band)
    return mask * torch.where(near_known > 0, weight, 1.0)


def hole_l1(output: Tensor, target: Tensor, hole: Tensor, band: int, weight: float) -> Tensor:
    """‖M ∘ (output − target)‖_1 (eq. 2 / 3) per hole element: the rim weighs `weight` times as much as
    the same error inside the hole."""
    weights = weighted_hole(hole, band, weight)
    return (weights * (output - target).abs()).sum() / (hole.sum() * output.shape[1]).clamp_min(1)
