"""EdgeConnect's losses (official code: knazeri/edge-connect, src/loss.py and src/models.py).

Edge model (paper Eqs. 2-3): adversarial (nsgan) × 1 + feature matching × 10, the L1 distance of D1's
conv outputs for real and predicted edges. Inpainting model (Eqs. 4-7): L1 × 1 divided by the mean mask,
adversarial × 0.1, perceptual × 0.1 on VGG19 relu1_1 … relu5_1 (weights 1) and style × 250 on the Gram
matrices of relu2_2, relu3_4, relu4_4, relu5_2, both with L1 distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.common.perceptual_loss import VGGFeatures, gram_matrix

GANLoss = Literal["nsgan", "lsgan", "hinge"]


def adversarial_loss(
    logits: Tensor, is_real: bool, kind: GANLoss = "nsgan", for_discriminator: bool = True
) -> Tensor:
    """The official AdversarialLoss on D's logits (the official D applies the sigmoid for nsgan / lsgan,
    here it is applied inside the loss). nsgan: BCE against 1 / 0; lsgan: MSE of the probability against
    1 / 0; hinge: D mean relu(1 ∓ logits), G −mean(logits)."""
    if kind == "nsgan":
        target = torch.full_like(logits, 1.0 if is_real else 0.0)
        return F.binary_cross_entropy_with_logits(logits, target)
    if kind == "lsgan":
        target = torch.full_like(logits, 1.0 if is_real else 0.0)
        return F.mse_loss(torch.sigmoid(logits), target)
    if kind == "hinge":
        if not for_discriminator:
            return -logits.mean()
        return F.relu(1 - logits).mean() if is_real else F.relu(1 + logits).mean()
    raise ValueError(f"gan_loss must be 'nsgan', 'lsgan' or 'hinge', got {kind!r}")


def discriminator_loss(real: Tensor, fake: Tensor, kind: GANLoss = "nsgan") -> Tensor:
    """(real loss + fake loss) / 2, as both official models."""
    return (adversarial_loss(real, True, kind) + adversarial_loss(fake, False, kind)) / 2


def generator_adversarial_loss(fake: Tensor, kind: GANLoss = "nsgan") -> Tensor:
    """The non-saturating generator loss: D's verdict on the prediction against the real label."""
    return adversarial_loss(fake, True, kind, for_discriminator=False)


def feature_matching_loss(fake_features: Sequence[Tensor], real_features: Sequence[Tensor]) -> Tensor:
    """Sum over D's layers of the mean L1 distance, the real features held fixed (Eq. 3)."""
    return sum(F.l1_loss(fake, real.detach()) for fake, real in zip(fake_features, real_features))


def inpainting_l1(output: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean L1 over the whole image divided by the mean of the mask (models.py InpaintingModel.process):
    the loss per hole pixel's share, so small holes are not drowned by the known region."""
    return F.l1_loss(output, target) / mask.mean()


class RawVGGFeatures(VGGFeatures):
    """VGG19 activations of images fed as they are, in [0, 1]: the official loss.py calls torchvision's
    VGG19 without ImageNet normalization."""

    def __init__(self, layers: Sequence[str], weights: Literal["imagenet", "random"] = "imagenet") -> None:
        super().__init__(layers, weights)
        self.mean.zero_()
        self.std.fill_(1.0)


class PerceptualStyleLoss(nn.Module):
    """The official PerceptualLoss and StyleLoss: perceptual = Σ w_l · mean |φ_l(x) − φ_l(y)| over
    `perceptual_layers`; style = Σ mean |G(φ_l(x)) − G(φ_l(y))| over `style_layers`, Gram matrices
    normalized by C·H·W. The image and its masked copy share one VGG19 pass up to the last perceptual layer;
    the masked copy alone goes on to the last style layer."""

    def __init__(
        self,
        perceptual_layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        perceptual_weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0),
        style_layers: Sequence[str] = ("relu2_2", "relu3_4", "relu4_4", "relu5_2"),
        weights: Literal["imagenet", "random"] = "imagenet",
    ) -> None:
        super().__init__()
        if len(perceptual_weights) != len(perceptual_layers):
            raise ValueError(
                f"need one weight per perceptual layer: {len(perceptual_layers)} layers, "
                f"{len(perceptual_weights)} weights"
            )
        self.vgg = RawVGGFeatures(list(dict.fromkeys([*perceptual_layers, *style_layers])), weights)
        index = dict(zip(self.vgg.layers, self.vgg.indices))
        self.perceptual = [(index[name], float(w)) for name, w in zip(perceptual_layers, perceptual_weights)]
        self.style = [index[name] for name in style_layers]
        # modules past the last perceptual layer serve the style loss (the masked image) alone
        self.shared_depth = max(i for i, _ in self.perceptual) + 1

    def forward(self, output: Tensor, target: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(perceptual of output vs target, style of output · mask vs target · mask), as models.py calls
        them; the target's features carry no gradient."""
        with torch.no_grad():
            targets = self.features(target, target * mask)
        outputs = self.features(output, output * mask)
        perceptual = sum(w * F.l1_loss(outputs[0][i], targets[0][i]) for i, w in self.perceptual)
        style = sum(F.l1_loss(gram_matrix(outputs[1][i]), gram_matrix(targets[1][i])) for i in self.style)
        return perceptual, style

    def features(self, image: Tensor, masked: Tensor) -> tuple[dict[int, Tensor], dict[int, Tensor]]:
        """VGG19 features of `image` up to the last perceptual layer and of `masked` up to the last style
        layer, by layer index: one batch through the layers both need, `masked` alone past them."""
        n, vgg = image.shape[0], self.vgg
        kept, x = vgg.run(vgg.normalize(torch.cat([image, masked])), stop=self.shared_depth)
        style_only, _ = vgg.run(x[n:], start=self.shared_depth)
        return {i: f[:n] for i, f in kept.items()}, {i: f[n:] for i, f in kept.items()} | style_only
