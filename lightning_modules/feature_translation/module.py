"""Multi-scale feature image translation (Song et al., "Image Inpainting using Multi-Scale Feature Image
Translation", 2018): its two separately trained networks (§3.3) as LightningModules on the GAN base.

Image2Feature (§3.3.1) fills the hole of I_0 with a coarse prediction (I_1) and learns from an ℓ1 loss on
the hole (eq. 2), an ℓ1 loss on its VGG19 relu3_1 features over the hole (eq. 3) and D_1's log loss on
(I_0, image) pairs (eq. 4). Feature2Image (§3.3.3) reconstructs the whole image from a patch-swapped
feature map (§3.3.2) with an ℓ1 loss on the whole image (eq. 6) and D_2's log loss on (features, image)
pairs; it trains on the swapped ground-truth features F'_gt, on G_1's F'_1, or on a mixture of both.
Images are in [-1, 1] inside the networks (pix2pix, the paper's ref. [17]) and in [0, 1] for VGG.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.base import as_rgb, composite, load_inpainting_module
from lightning_modules.common.perceptual_loss import VGGFeatures
from lightning_modules.feature_translation.feature2image import VGG_LAYERS
from lightning_modules.feature_translation.image2feature import embed, hole_l1
from lightning_modules.feature_translation.patch_swap import feature_hole, patch_swap
from lightning_modules.gan import GANInpaintingModule

FEATURE2IMAGE_INPUTS = ("ground_truth", "prediction", "mixture")  # §3.3.3, Fig. 8 (b), (a), (c)


def log_loss(logits: Tensor, real: bool) -> Tensor:
    """−log D (real) or −log(1 − D) (fake) of a sigmoid discriminator, averaged over its patches."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def resized(image: Tensor, size: int) -> Tensor:
    return F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class TranslationStage(GANInpaintingModule):
    """What both stages share: the frozen VGG19 layer they translate to / from."""

    def __init__(self, vgg_layer: str = "relu3_1", vgg_weights: str = "imagenet", **gan: Any):
        if vgg_layer not in VGG_LAYERS:
            raise ValueError(f"model.vgg_layer must be one of {sorted(VGG_LAYERS)}, got {vgg_layer!r}")
        super().__init__(**gan)
        self.vgg = VGGFeatures([vgg_layer], vgg_weights)

    @property
    def size_multiple(self) -> int:
        return self.generator.image_size  # the U-Nets go down to 1×1 at their training size

    def features(self, image: Tensor) -> Tensor:
        """vgg(·) of an image in [-1, 1]."""
        return self.vgg((image + 1) / 2)[0]

    def swapped(self, image: Tensor, mask: Tensor) -> Tensor:
        """patch_swap(vgg(image)) over the hole (§3.3.2)."""
        features = self.features(image)
        return patch_swap(features, feature_hole(mask, features.shape[-2:]))


class Image2FeatureInpainting(TranslationStage):
    # §3.3.1: G_1's input is the incomplete image alone (the centre hole is fixed, so no mask channel)
    generator_extra_channels = 0

    def __init__(
        self,
        image_weight: float = 1000.0,
        feature_weight: float = 0.001,
        adversarial_weight: float = 1.0,
        boundary_band: int = 4,
        boundary_weight: float = 10.0,
        **stage: Any,
    ):
        super().__init__(**stage)

    def discriminator_channels(self, out_channels: int) -> int:
        return self.bottleneck.image_channels + out_channels  # the pair (I_0, image), eq. 4

    def incomplete(self, image: Tensor, mask: Tensor) -> Tensor:
        """I_0: the image in [-1, 1] with the hole zero-filled."""
        return (self.bottleneck.network_image(image) * 2 - 1) * (1 - mask)

    def coarse(self, incomplete: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """I_1: G_1's prediction I_1^R embedded into the hole of the target (both in [-1, 1])."""
        return composite(embed(self.generator(incomplete), mask), target, mask)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        target = self.bottleneck.target(image) * 2 - 1
        return (self.coarse(self.incomplete(image, mask), target, mask) + 1) / 2

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        image, mask = batch["image"], batch["mask"]
        incomplete = self.incomplete(image, mask)
        target = self.bottleneck.target(image) * 2 - 1
        coarse = self.coarse(incomplete, target, mask)
        with self.optimizing("d") as loss:
            real = self.discriminator(torch.cat([incomplete, target], dim=1))
            fake = self.discriminator(torch.cat([incomplete, coarse.detach()], dim=1))
            loss.add("d_adv", log_loss(real, True) + log_loss(fake, False))
        with self.optimizing("g") as loss:
            judged = self.discriminator(torch.cat([incomplete, coarse], dim=1))
            loss.add("g_adv", log_loss(judged, True), hp.adversarial_weight)
            loss.add(
                "l1_hole",
                hole_l1(coarse, target, mask, hp.boundary_band, hp.boundary_weight),
                hp.image_weight,
            )
            predicted = self.features(coarse)
            with torch.no_grad():
                expected = self.features(target)
            hole = feature_hole(mask, predicted.shape[-2:])
            # the band in feature positions: relu3_1 has one per 4 pixels
            band = math.ceil(hp.boundary_band / VGG_LAYERS[hp.vgg_layer].stride)
            loss.add(
                "l1_feature", hole_l1(predicted, expected, hole, band, hp.boundary_weight), hp.feature_weight
            )


class Feature2ImageInpainting(TranslationStage):
    """input: what G_2 trains on: ground_truth (F'_gt, §3.3.3's choice), prediction (F'_1 of the G_1 in
    image2feature_ckpt, run at its own scale and upsampled as in §3.4's multi-scale inference) or mixture
    (each image F'_1 with probability mixture_ratio, else F'_gt). Fig. 8c fine-tunes a ground-truth model
    on the mixture, in one run (mixture_after: the share of training on F'_gt first) or from a finished
    run (init_from: a Feature2Image checkpoint whose G_2 and D_2 this run starts from, fresh optimizers;
    ignored when a run resumes). Inference, and validation when a G_1 is given, always use F'_1: the
    image's hole pixels are unknown there."""

    def __init__(
        self,
        input: str = "ground_truth",
        image2feature_ckpt: str | None = None,
        mixture_ratio: float = 0.5,
        mixture_after: float = 0.0,
        image_weight: float = 100.0,
        adversarial_weight: float = 1.0,
        **stage: Any,
    ):
        if input not in FEATURE2IMAGE_INPUTS:
            raise ValueError(f"model.input must be one of {FEATURE2IMAGE_INPUTS}, got {input!r}")
        if not 0 <= mixture_after < 1:
            raise ValueError(f"model.mixture_after is a share of training in [0, 1), got {mixture_after}")
        if input != "ground_truth" and image2feature_ckpt is None:
            raise ValueError(f"model.input={input} trains on G_1's features: set model.image2feature_ckpt")
        super().__init__(**stage)
        stride = VGG_LAYERS[self.hparams.vgg_layer].stride
        if self.generator.feature_stride != stride:
            raise ValueError(
                f"model.generator.feature_stride must be {stride} for {self.hparams.vgg_layer}, "
                f"got {self.generator.feature_stride}"
            )
        # In a list: G_1 is frozen, so it stays out of this stage's parameters, optimizers and checkpoint.
        self._image2feature: list[Image2FeatureInpainting] = []
        if image2feature_ckpt is not None:
            self.use_image2feature(load_inpainting_module(image2feature_ckpt))

    @property
    def generator_extra_channels(self) -> int:
        # G_2 sees only the feature map, whatever the bottleneck's image channels
        return VGG_LAYERS[self.hparams.vgg_layer].channels - self.bottleneck.image_channels

    def discriminator_channels(self, out_channels: int) -> int:
        return VGG_LAYERS[self.hparams.vgg_layer].channels + out_channels  # the pair (F', image)

    def use_image2feature(self, image2feature: Image2FeatureInpainting) -> None:
        if not isinstance(image2feature, Image2FeatureInpainting):
            raise ValueError(
                f"model.image2feature_ckpt must hold an Image2Feature model, got {type(image2feature)}"
            )
        if image2feature.bottleneck.name != self.bottleneck.name:
            raise ValueError("G_1 and G_2 must reconstruct in the same space (model.bottleneck)")
        self._image2feature = [image2feature.eval().requires_grad_(False)]

    def prediction(self, image: Tensor, mask: Tensor) -> Tensor:
        """I_1 at this stage's size in [-1, 1]: G_1 at its own (smallest) scale, upsampled, inside the known
        pixels of the target (§3.4)."""
        if not self._image2feature:
            raise ValueError("Feature2Image inpaints from G_1's prediction: set model.image2feature_ckpt")
        image2feature = self._image2feature[0].to(image.device)
        size = image2feature.generator.image_size
        coarse = image2feature(resized(image, size), feature_hole(mask, (size, size)))
        upsampled = F.interpolate(coarse, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return composite(upsampled, self.bottleneck.target(image), mask) * 2 - 1

    def translate(self, features: Tensor) -> Tensor:
        """G_2: features → image in [0, 1]."""
        return (self.generator(features) + 1) / 2

    def style_transfer(self) -> Callable[..., Tensor]:
        """predict.py's style= (style_transfer.py's transfer_style with this checkpoint's G_2)."""
        # style_transfer.py imports this module: imported when the hook is called
        from lightning_modules.feature_translation.style_transfer import transfer_style

        return partial(transfer_style, self)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        """§3.4's single-scale pass: I_0 → G_1 → I_1 → VGG → patch-swap → G_2."""
        return self.translate(self.swapped(self.prediction(image, mask), mask))

    @torch.no_grad()
    def training_features(self, image: Tensor, mask: Tensor) -> Tensor:
        hp = self.hparams
        if hp.input == "prediction":
            return self.swapped(self.prediction(image, mask), mask)
        ground_truth = self.swapped(self.bottleneck.target(image) * 2 - 1, mask)
        if hp.input == "ground_truth" or self.training_progress() < hp.mixture_after:
            return ground_truth
        predicted = self.swapped(self.prediction(image, mask), mask)
        chosen = torch.rand(len(image), 1, 1, 1, device=image.device) < hp.mixture_ratio
        return torch.where(chosen, predicted, ground_truth)

    def training_progress(self) -> float:
        """The share of training done: of trainer.max_steps, else of max_epochs (0 outside fit)."""
        trainer = self._trainer
        if trainer is None or not trainer.training:
            return 0.0
        if trainer.max_steps > 0:
            return trainer.global_step / trainer.max_steps
        return trainer.current_epoch / max(trainer.max_epochs or 1, 1)

    def pair(self, features: Tensor, image: Tensor) -> Tensor:
        """D_2's input: the feature map brought to the image's size (nearest) and the image, stacked."""
        return torch.cat([F.interpolate(features, size=image.shape[-2:], mode="nearest"), image], dim=1)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        image, mask = batch["image"], batch["mask"]
        features = self.training_features(image, mask)
        target = self.bottleneck.target(image) * 2 - 1
        output = self.generator(features)
        with self.optimizing("d") as loss:
            real = self.discriminator(self.pair(features, target))
            fake = self.discriminator(self.pair(features, output.detach()))
            loss.add("d_adv", log_loss(real, True) + log_loss(fake, False))
        with self.optimizing("g") as loss:
            loss.add(
                "g_adv",
                log_loss(self.discriminator(self.pair(features, output)), True),
                hp.adversarial_weight,
            )
            loss.add("l1", F.l1_loss(output, target), hp.image_weight)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        if self._image2feature:
            return super().validation_step(batch, batch_idx)
        # Without G_1, validation scores what the stage learns: the image from F'_gt.
        image, mask = batch["image"], batch["mask"]
        target = self.bottleneck.target(image)
        output = self.translate(self.swapped(target * 2 - 1, mask)).clamp(0, 1)
        result = composite(output, target, mask)
        self.val_metrics.update(as_rgb(result), as_rgb(target), mask, batch.get("index"))
        return {"output": as_rgb(output), "composite": as_rgb(result)}
