"""The implicit diversified Markov random field (ID-MRF) loss of GMCNN (NeurIPS 2018 §3.2, Eqs. 2-4;
official code pytorch/model/loss.py `IDMRFLoss`).

Each generated VGG feature (a 1×1 patch) should have a nearest neighbour among the target's features, and
the target's features should each be the nearest neighbour of some generated one, so the completion is
pushed towards the target's variety of patches rather than a blur of them. Per layer and image, with
cosine distances d(v, s) between generated patches v and target patches s (both centred on the target's
mean over channels at each position, as the official PyTorch code does):
    relative similarity  RS(v, s) = exp((bias - d(v, s) / (min_r d(v, r) + ε)) / h),
    normalized           RS̄(v, s) = RS(v, s) / Σ_r RS(v, r),
    loss                 -log( mean_s max_v RS̄(v, s) ),
summed over the batch (not averaged, as the official code), with h = nn_stretch_sigma = 0.5, bias 1 and
ε = 1e-5. The total is the texture ("style") layers' sum plus the semantic ("content") layers' sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.common.perceptual_loss import IMAGENET_MEAN, IMAGENET_STD, VGGFeatures


def mrf_loss(generated: Tensor, target: Tensor, bias: float = 1.0, nn_stretch_sigma: float = 0.5) -> Tensor:
    """ID-MRF of one feature layer, B×C×H×W each, summed over the batch."""
    centre = target.mean(dim=1, keepdim=True)
    # F.normalize's 1e-12 floor only matters for a zero vector, where the official code divides by zero.
    gen = F.normalize(generated - centre, dim=1).flatten(2)
    tar = F.normalize(target - centre, dim=1).flatten(2)
    distance = (1 - tar.transpose(1, 2) @ gen) / 2  # B × target patches × generated patches, in [0, 1]
    relative = distance / (distance.amin(dim=1, keepdim=True) + 1e-5)
    similarity = torch.exp((bias - relative) / nn_stretch_sigma)
    similarity = similarity / similarity.sum(dim=1, keepdim=True)
    return -torch.log(similarity.amax(dim=2).mean(dim=1)).sum()


class IDMRFLoss(nn.Module):
    """ID-MRF on frozen VGG19 features of images in [0, 1].

    style_layers / content_layers: the paper's conv3_2 + conv4_2 (texture) and conv4_2 (semantics), after
        their ReLU as in the official TF code; weights 1 each.
    vgg_input: "official_code" subtracts the ImageNet mean only (the PyTorch code's VGG19FeatLayer),
        "imagenet" also divides by the ImageNet std, as torchvision's weights were trained.
    weights: "imagenet" (torchvision's cached file) or "random" (tests only).
    """

    def __init__(
        self,
        style_layers: Sequence[str] = ("relu3_2", "relu4_2"),
        content_layers: Sequence[str] = ("relu4_2",),
        bias: float = 1.0,
        nn_stretch_sigma: float = 0.5,
        vgg_input: Literal["official_code", "imagenet"] = "official_code",
        weights: Literal["imagenet", "random"] = "imagenet",
    ) -> None:
        super().__init__()
        if vgg_input not in ("official_code", "imagenet"):
            raise ValueError(f"vgg_input must be 'official_code' or 'imagenet', got {vgg_input!r}")
        self.style_layers, self.content_layers = list(style_layers), list(content_layers)
        self.vgg = VGGFeatures(list(dict.fromkeys(self.style_layers + self.content_layers)), weights)
        self.bias, self.nn_stretch_sigma = bias, nn_stretch_sigma
        self.vgg_input = vgg_input

    def features(self, image: Tensor) -> dict[str, Tensor]:
        image = image.expand(-1, 3, -1, -1)
        if self.vgg_input == "official_code":
            # VGGFeatures computes (x - mean) / std; this input makes that x - mean.
            mean, std = (image.new_tensor(v).view(1, 3, 1, 1) for v in (IMAGENET_MEAN, IMAGENET_STD))
            image = (image - mean) * std + mean
        return dict(zip(self.vgg.layers, self.vgg(image)))

    def forward(self, generated: Tensor, target: Tensor) -> Tensor:
        """generated, target: B×C×H×W in [0, 1] (C = 3, or 1 repeated to 3)."""
        gen = self.features(generated)
        with torch.no_grad():
            tar = self.features(target)
        # float32 even under bf16 autocast: relative distances divide by the nearest one, near 0 at a match
        with torch.autocast(generated.device.type, enabled=False):
            return sum(
                mrf_loss(gen[layer].float(), tar[layer].float(), self.bias, self.nn_stretch_sigma)
                for layer in self.style_layers + self.content_layers
            )
