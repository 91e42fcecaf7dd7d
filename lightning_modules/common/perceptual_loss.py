"""Perceptual (Johnson et al. 2016) and style (Gatys et al. 2015) losses on frozen VGG19 features.

The perceptual loss compares feature maps, the style loss their Gram matrices (channel correlations,
which keep textures and colours but not where they are). Both sum over chosen layers with per-layer
weights. The network comes from `utils.pretrained.vgg19_features` (torchvision's cache, never downloaded);
`weights="random"` is for tests and offline demos only and is logged as such there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from utils.pretrained import vgg19_features

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_layer_names(features: nn.Sequential) -> list[str]:
    """Names of torchvision's VGG `features` modules: conv1_1, relu1_1, conv1_2, …, pool1, conv2_1, …"""
    names, block, conv = [], 1, 0
    for module in features:
        if isinstance(module, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        else:
            names.append(f"pool{block}")
            block, conv = block + 1, 0
    return names


class VGGFeatures(nn.Module):
    """Frozen VGG19 activations at named layers (e.g. conv1_1 before its ReLU, relu1_1 after it), for
    images in [0, 1] (ImageNet-normalized inside; one channel is repeated to three)."""

    def __init__(self, layers: Sequence[str], weights: Literal["imagenet", "random"] = "imagenet") -> None:
        super().__init__()
        features = vgg19_features(weights)
        names = vgg_layer_names(features)
        unknown = [layer for layer in layers if layer not in names]
        if unknown:
            raise ValueError(f"unknown VGG19 layers {unknown}; known: {', '.join(names)}")
        self.layers = list(layers)
        self.indices = [names.index(layer) for layer in layers]
        self.features = features[: max(self.indices) + 1]
        for i, module in enumerate(self.features):
            if isinstance(module, nn.ReLU):
                # torchvision's ReLUs work in place: fine on a conv output that is not kept (cheaper, and
                # the conv's backward needs its input alone), but a kept one would be overwritten
                module.inplace = i - 1 not in self.indices
        self.requires_grad_(False)
        self.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: Tensor) -> list[Tensor]:
        kept, _ = self.run(self.normalize(image))
        return [kept[i] for i in self.indices]

    def normalize(self, image: Tensor) -> Tensor:
        return (image.expand(-1, 3, -1, -1) - self.mean) / self.std

    def run(self, x: Tensor, start: int = 0, stop: int | None = None) -> tuple[dict[int, Tensor], Tensor]:
        """`features[start:stop]` on `x` (normalized, or an earlier run's last output): the outputs of the
        kept layers among them by index, and the last output."""
        kept = {}
        for i, module in enumerate(self.features[start:stop], start):
            x = module(x)
            if i in self.indices:
                kept[i] = x
        return kept, x


def gram_matrix(features: Tensor) -> Tensor:
    """B×C×C channel correlations normalized by C·H·W (Gatys et al.; DeepGIN Eq. 5)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class PerceptualStyleLoss(nn.Module):
    """Weighted sums over layers of the perceptual loss (mean |φ_l(x) − φ_l(y)|) and the style loss
    (distance of Gram matrices).

    Args:
        layers: VGG19 layer names, e.g. conv1_1 … conv5_1.
        layer_weights: one weight per layer.
        style_distance: "l1" (mean absolute, DeepGIN Eq. 5) or "mse" (mean squared).
        input_size: resize both images to this square side (bilinear, align_corners=True) before VGG;
            None keeps their size.
        weights: "imagenet" (the cached file) or "random" (tests, offline demos; never for results).
    """

    def __init__(
        self,
        layers: Sequence[str] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
        layer_weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0),
        style_distance: Literal["l1", "mse"] = "l1",
        input_size: int | None = None,
        weights: Literal["imagenet", "random"] = "imagenet",
    ) -> None:
        super().__init__()
        if len(layer_weights) != len(layers):
            raise ValueError(f"need one weight per layer: {len(layers)} layers, {len(layer_weights)} weights")
        if style_distance not in ("l1", "mse"):
            raise ValueError(f"style_distance must be 'l1' or 'mse', got {style_distance!r}")
        self.vgg = VGGFeatures(layers, weights)
        self.layer_weights = [float(w) for w in layer_weights]
        self.style_distance = F.l1_loss if style_distance == "l1" else F.mse_loss
        self.input_size = input_size

    def features(self, image: Tensor) -> list[Tensor]:
        if self.input_size is not None:
            size = (self.input_size, self.input_size)
            image = F.interpolate(image, size=size, mode="bilinear", align_corners=True)
        return self.vgg(image)

    def forward(self, images: Sequence[Tensor], target: Tensor) -> tuple[Tensor, Tensor]:
        """(perceptual, style), each summed over `images` (e.g. DeepGIN's I_out and I_compltd) against
        `target`; the target's features are computed once and carry no gradient."""
        with torch.no_grad():
            target_features = self.features(target)
        target_grams = [gram_matrix(f) for f in target_features]
        perceptual = style = target.new_zeros(())
        for image in images:
            for weight, feature, target_feature, target_gram in zip(
                self.layer_weights, self.features(image), target_features, target_grams
            ):
                perceptual = perceptual + weight * F.l1_loss(feature, target_feature)
                style = style + weight * self.style_distance(gram_matrix(feature), target_gram)
        return perceptual, style
