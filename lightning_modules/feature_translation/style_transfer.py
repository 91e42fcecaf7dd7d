"""Arbitrary style transfer with a trained Feature2Image network (Song et al. 2018, §4.3, Fig. 10).

G_2 learns to reconstruct an image from a swapped feature map, so it also reconstructs one from a content
map whose 3×3 neural patches were swapped for a style image's (style_swap, Chen & Schmidt, the paper's
ref. [7]): no training on styles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.base import InpaintingModule, as_rgb
from lightning_modules.feature_translation.module import Feature2ImageInpainting
from lightning_modules.feature_translation.multiscale_inference import MultiScaleFeatureTranslation
from lightning_modules.feature_translation.patch_swap import style_swap


def feature2image_network(model: InpaintingModule, scale: int | None = None) -> Feature2ImageInpainting:
    """The G_2 of a Feature2Image checkpoint, or of a joined multi-scale one: the one at `scale` (its
    training image_size), by default the largest, which reconstructs the most detail."""
    if isinstance(model, Feature2ImageInpainting):
        networks = [model]
    elif isinstance(model, MultiScaleFeatureTranslation):
        networks = list(model.feature2image)  # sorted by scale
    else:
        raise ValueError(
            "style transfer needs a Feature2Image network: a model/feature_translation_stage=feature2image "
            "checkpoint or a joined multi-scale one (multiscale_inference.py); this checkpoint holds a "
            f"{type(model).__name__}"
        )
    if scale is None:
        return networks[-1]
    scales = [network.generator.image_size for network in networks]
    if scale not in scales:
        raise ValueError(f"no Feature2Image network at scale {scale}: this checkpoint has {scales}")
    return networks[scales.index(scale)]


def working_size(height: int, width: int, multiple: int, max_side: int | None) -> tuple[int, int]:
    """The size the content is translated at: each side rounded to the nearest multiple of G_2's
    size_multiple (at least one), after shrinking the longer side to max_side when it is larger."""
    shrink = min(1.0, max_side / max(height, width)) if max_side else 1.0
    return tuple(multiple * max(1, round(side * shrink / multiple)) for side in (height, width))


def resized(image: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


@torch.no_grad()
def transfer_style(
    model: InpaintingModule,
    content: Tensor,
    style: Tensor,
    scale: int | None = None,
    max_side: int | None = None,
) -> Tensor:
    """content B×3×H×W and style B×3×h×w or 1×3×h×w, RGB in [0, 1] → the stylized B×3×H×W in [0, 1].

    G_2's U-Net goes down to 1×1 at its training size, so it takes sides that are multiples of that
    size. Rather than squeezing every photo into one training-size square, the content is resized to the
    nearest multiple on each side (working_size): any size and aspect ratio works, the resolution stays
    about the photo's own (max_side bounds it: the search's cost grows with the product of the content
    and style areas), and the output is resized back to H×W. The style is brought to the content's scale
    (longer sides equal, its aspect kept) and then stretched like the content, so that resizing the
    output back gives its textures their own proportions. Both go through G_2's own VGG layer; a model
    trained with the monochromic bottleneck stylizes in gray (returned as three equal channels).
    """
    network = feature2image_network(model, scale)
    height, width = content.shape[-2:]
    size = working_size(height, width, network.size_multiple, max_side)
    fit = max(height, width) / max(style.shape[-2:])
    style_size = tuple(
        max(1, round(side * fit * working / original))
        for side, working, original in zip(style.shape[-2:], size, (height, width))
    )
    features = [
        network.features(network.bottleneck.target(resized(image, working)) * 2 - 1)
        for image, working in ((content, size), (style, style_size))
    ]
    output = network.translate(style_swap(*features)).clamp(0, 1)
    return as_rgb(resized(output, (height, width))).clamp(0, 1)
