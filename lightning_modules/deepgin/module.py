"""DeepGIN (Li et al., "DeepGIN: Deep Generative Inpainting Network for Extreme Image Inpainting",
ECCV-W 2020) as a LightningModule: losses of §4.2, two-stage training of §5.1, polyphase inference of §6.1.

Per batch in the main stage: one generator step on L1 + adversarial + perceptual + style + TV (gradient
norm clipped), then one step of the two-scale conditional discriminator on the same completed images, in
the authors' order. The warm-up stage trains the generator on the L1 loss alone.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from datamodules.transforms import polyphase_merge, polyphase_split
from lightning_modules.base import composite
from lightning_modules.common.hinge_loss import hinge_d_loss, hinge_g_loss
from lightning_modules.common.perceptual_loss import PerceptualStyleLoss
from lightning_modules.common.pixel_losses import hole_valid_l1, total_variation
from lightning_modules.deepgin.generator import DeepGINGenerator, resize4
from lightning_modules.deepgin.schedule import TwoStageSchedule
from lightning_modules.gan import GANInpaintingModule

log = logging.getLogger(__name__)


class DeepGINInpainting(GANInpaintingModule):
    """perceptual: the PerceptualStyleLoss arguments; stage lengths are epochs; `gan` holds the arguments
    of GANInpaintingModule (networks, optimizers, schedules, gradient clipping, bottleneck, metrics).
    conf/model/deepgin.yaml gives every value and its source."""

    size_multiple = DeepGINGenerator.size_multiple
    generator_extra_channels = 1  # G1 sees the image with its holes filled with 1 and the mask (§3)

    def __init__(
        self,
        perceptual: DictConfig | dict,
        warmup_epochs: int = 10,
        constant_epochs: int = 10,
        decay_epochs: int = 90,
        fresh_optimizers: bool = False,
        hole_weight: float = 5.0,
        adversarial_weight: float = 1e-3,
        perceptual_weight: float = 0.05,
        style_weight: float = 80.0,
        tv_weight: float = 0.1,
        tv_distance: str = "l1",
        sub_image_size: int | None = 256,
        self_ensemble: bool = False,
        resize_to_sub_images: bool = False,
        smooth_output: bool = False,
        inference_batch_size: int = 8,
        **gan: Any,
    ):
        super().__init__(**gan)
        self.schedule = TwoStageSchedule(warmup_epochs, constant_epochs, decay_epochs)
        self._perceptual_loss: PerceptualStyleLoss | None = None

    def discriminator_channels(self, out_channels: int) -> int:
        return (
            2 * out_channels
        )  # D sees concat(I_in, I): the masked input and a completed or real image (§4.1)

    # --- networks ------------------------------------------------------------------------------------
    def generate(
        self, image: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """I_coarse, I_out and I_lr (None for the variants without G2 / BP), in [0, 1]."""
        holes_white = self.bottleneck.network_image(image) * (1 - mask) + mask
        known = self.bottleneck.target(image)
        return self.generator(torch.cat([holes_white, mask], dim=1), mask, known=known)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        coarse, out, _ = self.generate(image, mask)
        return coarse if out is None else out

    def discriminate(self, masked: torch.Tensor, image: torch.Tensor) -> list[torch.Tensor]:
        """Patch logits of D1 and D2 for concat(I_in, I) (§4.1)."""
        return self.discriminator(torch.cat([masked, image], dim=1))

    @property
    def perceptual_loss(self) -> PerceptualStyleLoss:
        if self._perceptual_loss is None:
            # Not a submodule: VGG19 is no part of the model, so checkpoints stay small and evaluate /
            # predict never need its weights file. Built on first use, on the module's device.
            loss = PerceptualStyleLoss(**self.hparams.perceptual).to(self.device)
            object.__setattr__(self, "_perceptual_loss", loss)
        return self._perceptual_loss

    # --- training ------------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        super().on_fit_start()  # model.init_from: a run's or a converted release's weights
        self.perceptual_loss  # noqa: B018 -- fail before the warm-up, not after it, if VGG19 is missing
        max_epochs = self.trainer.max_epochs
        if max_epochs is None or max_epochs < 0 or max_epochs > self.schedule.total_epochs:
            log.warning(
                "trainer.max_epochs=%s runs past the %d epochs of the schedule (warm-up %d + constant %d + "
                "decay %d), whose learning rates are then zero",
                max_epochs,
                self.schedule.total_epochs,
                self.schedule.warmup_epochs,
                self.schedule.constant_epochs,
                self.schedule.decay_epochs,
            )

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        super().on_train_batch_start(batch, batch_idx)
        # The authors ran the main stage as a new run from the warm-up checkpoint, so Adam started afresh.
        # A checkpoint written later in that first epoch already holds the fresh state: batch 0 only.
        if (
            self.hparams.fresh_optimizers
            and self.current_epoch == self.schedule.warmup_epochs
            and batch_idx == 0
        ):
            for optimizer in self.optimizers():
                optimizer.optimizer.state.clear()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        image, mask = batch["image"], batch["mask"]
        target = self.bottleneck.target(image)
        coarse, out, low_res = self.generate(image, mask)
        output = coarse if out is None else out
        warmup = self.schedule.is_warmup(self.current_epoch)

        with self.optimizing("g") as loss:
            # §4.2 Eq. (1): I_coarse and I_out against I_gt, I_lr against I_gt downsampled 4×.
            l1 = hole_valid_l1(coarse, target, mask, hp.hole_weight)
            if out is not None:
                l1 = l1 + hole_valid_l1(out, target, mask, hp.hole_weight)
            if low_res is not None:
                l1 = l1 + hole_valid_l1(low_res, resize4(target), resize4(mask), hp.hole_weight)
            loss.add("l1", l1)
            if not warmup:  # §5.1: in the warm-up "we trained only the generators by using the L1 loss"
                completed = composite(output, target, mask)
                masked = target * (1 - mask) + mask  # I_in, the input with its holes filled with 1
                g_adv = sum(
                    hinge_g_loss(logits) for logits in self.discriminate(masked, completed)
                )  # Eq. (2)
                perceptual, style = self.perceptual_loss([output, completed], target)  # Eqs. (4), (5)
                # Eq. (7)
                loss.add("g_adv", g_adv, hp.adversarial_weight)
                loss.add("perceptual", perceptual, hp.perceptual_weight)
                loss.add("style", style, hp.style_weight)
                loss.add("tv", total_variation(completed, hp.tv_distance), hp.tv_weight)  # Eq. (6)
        if warmup:
            return
        with self.optimizing("d") as loss:
            # Real and completed images in one pass (one spectral-norm power iteration per step).
            logits = self.discriminate(torch.cat([masked, masked]), torch.cat([target, completed.detach()]))
            # Eq. (3) summed over both scales; hinge_d_loss halves it, the authors' 0.5 × (real + fake).
            loss.add("d_adv", sum(hinge_d_loss(*scale.chunk(2)) for scale in logits))

    # --- inference -----------------------------------------------------------------------------------
    def polyphase_factors(self, height: int, width: int) -> tuple[int, int]:
        """Sub-images per axis: the nearest number that makes them about `sub_image_size` (the authors
        round to the nearest multiple of 256); (1, 1) when sub_image_size is None."""
        size = self.hparams.sub_image_size
        if size is None:
            return 1, 1
        return max(1, round(height / size)), max(1, round(width / size))

    @torch.no_grad()
    def predict_output(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """§6.1: a large image is split into polyphase sub-images of about the training size (every f-th
        pixel: the scale the network saw after the 512² resize and 2× subsampling of §5.1), each is
        inpainted, and the results are interleaved back; the composite then restores the known pixels.

        Two steps of the authors' test_ensemble.py that the paper does not mention, both off by default:
        resize_to_sub_images resizes the image (bicubic) to whole sub-images of sub_image_size first and
        the output back after; smooth_output passes the output through a 0.5× bicubic down-and-up resize
        before the composite."""
        hp = self.hparams
        height, width = image.shape[-2:]
        if hp.resize_to_sub_images and hp.sub_image_size is not None:
            size = tuple(
                max(1, round(side / hp.sub_image_size)) * hp.sub_image_size for side in (height, width)
            )
            resized = F.interpolate(image, size, mode="bicubic", align_corners=False).clamp(0, 1)
            holes = (F.interpolate(mask, size, mode="bilinear", align_corners=False) > 0).to(mask.dtype)
            output = self._polyphase(resized, holes)
            output = F.interpolate(output, (height, width), mode="bicubic", align_corners=False).clamp(0, 1)
        else:
            output = self._polyphase(image, mask)
        if hp.smooth_output:
            half = (max(1, height // 2), max(1, width // 2))
            output = F.interpolate(output, half, mode="bicubic", align_corners=False)
            output = F.interpolate(output, (height, width), mode="bicubic", align_corners=False).clamp(0, 1)
        return output

    def _polyphase(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        factors = self.polyphase_factors(height, width)
        images, masks = polyphase_split(image, factors), polyphase_split(mask, factors)
        step = self.hparams.inference_batch_size
        outputs = [
            self._self_ensemble(images[i : i + step], masks[i : i + step])
            for i in range(0, len(images), step)
        ]
        return polyphase_merge(torch.cat(outputs), factors, size=(height, width))

    def _self_ensemble(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The output, or with self_ensemble the mean over the identity, rotations by 90, 180 and 270°
        and a horizontal flip, each undone (the authors' test_ensemble.py; not in the paper)."""
        run = super().predict_output
        if not self.hparams.self_ensemble:
            return run(image, mask)
        dims = (-2, -1)
        outputs = [
            torch.rot90(run(torch.rot90(image, k, dims), torch.rot90(mask, k, dims)), -k, dims)
            for k in range(4)
        ]
        outputs.append(run(image.flip(-1), mask.flip(-1)).flip(-1))
        return torch.stack(outputs).mean(0)
