"""Contextual residual aggregation (CRA, HiFill §3.1) for images far larger than the network's input.

The network inpaints a low-resolution copy; upsampling its result gives a blurry large image. The
high-frequency residual (large image − upsampled low-resolution image) is known outside the hole; inside,
it is aggregated from the known residual patches with the low-resolution attention scores (ATM with
disjoint patches of size / grid pixels), added to the blurry result, and the known pixels are pasted back.
Steps follow the inference code (Atlas200dk/sample-imageinpainting-HiFill, GPU_CPU/test.py
`pre_process`, `post_process`, `residual_aggregate`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from lightning_modules.hifill.attention_transfer import transfer

# (low-resolution image in [0, 1], its mask) -> (inpainted low-resolution output in [0, 1], B×P×L scores)
LowResolutionInpainter = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]


def residual_aggregate(
    image: Tensor,
    mask: Tensor,
    inpaint_low: LowResolutionInpainter,
    size: int = 512,
    target: Callable[[Tensor], Tensor] = lambda image: image,
) -> Tensor:
    """The raw large result (before the composite) for image B×C×H×W in [0, 1] and mask B×1×H×W (1 =
    missing), with the network run at `size`² (code: INPUT_SIZE 512; its scores on ATTENTION_SIZE 32²).

    As the code, the image is resized (bilinear) to the nearest larger multiple m·size, square, and the
    low-resolution input is its m×m average; the result is resized back to H×W (bilinear).
    target: the space the network predicts (the monochromic bottleneck's gray); residuals are taken
    there. It must be linear per pixel, so that it commutes with the averaging.
    """
    height, width = image.shape[-2:]
    multiple = max(1, math.ceil(max(height, width) / size))
    large_size = (multiple * size, multiple * size)
    if (height, width) != large_size:
        image = F.interpolate(image, large_size, mode="bilinear")
        # Any overlap with the hole stays a hole (the code's nearest resize can drop thin strokes).
        mask = (F.interpolate(mask, large_size, mode="bilinear") > 0).to(image.dtype)
    # Hole pixels never reach the network or the residuals (the code feeds them to the average).
    large = image * (1 - mask)
    small = F.avg_pool2d(large, multiple) if multiple > 1 else large  # test.py `resize_ave`
    small_mask = F.max_pool2d(mask, multiple) if multiple > 1 else mask  # code: nearest
    low, scores = inpaint_low(small, small_mask)
    # High frequencies of the known region; the hole's residual is aggregated from them.
    residual = (target(large) - F.interpolate(target(small), large_size, mode="bilinear")) * (1 - mask)
    del large, mask
    grid = math.isqrt(scores.shape[1])  # square: 32² for the code's 512² input
    residual = transfer(residual, scores, (grid, grid), kernel=large_size[0] // grid)
    result = (F.interpolate(low, large_size, mode="bilinear") + residual).clamp(0, 1)
    del residual
    if (height, width) != large_size:
        result = F.interpolate(result, (height, width), mode="bilinear")
    return result
