"""Block-wise procedural training with annealed adversarial loss (Zhang et al., "Image Inpainting using
Block-wise Procedural Training with Annealed Adversarial Counterpart", 2018) as a LightningModule.

The generator head (§3.1) learns from the patch perceptual loss and the multi-scale patch adversarial loss
(MSPAL, §3.2, eq. 5: λ_adv · Σ_k L_GAN(G, D_k) + λ_PPL · Σ PPL); residual blocks are then added one at a
time, each fading in beside a skip path, with the learning rate and the generator's adversarial weight
divided by 10 per block (§3.3, Algorithm 1). The phase is a function of the iteration, which the module
counts in a buffer, so it is part of every checkpoint; training stops when the schedule ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.base import composite
from lightning_modules.blockwise.patch_perceptual_loss import PatchPerceptualLoss
from lightning_modules.blockwise.schedule import Phase, ProceduralSchedule
from lightning_modules.common.perceptual_loss import PerceptualStyleLoss
from lightning_modules.gan import GANInpaintingModule

RECONSTRUCTION_LOSSES = ("ppl", "l2", "vgg")  # the paper's, and its §4.3 ablation's alternatives
# Written when the head phase ends: Table 3 compares the head with the final model of the same training
HEAD_CHECKPOINT = "head.ckpt"


class BlockwiseInpainting(GANInpaintingModule):
    size_multiple = 8  # three stride-2 stages

    def __init__(
        self,
        schedule: dict[str, Any],
        reconstruction: str = "ppl",
        reconstruction_weight: float = 10.0,
        patch_perceptual: dict[str, Any] | None = None,
        vgg_perceptual: dict[str, Any] | None = None,
        **gan: Any,
    ):
        super().__init__(**gan)
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"model.reconstruction must be one of {RECONSTRUCTION_LOSSES}, got {reconstruction!r}"
            )
        self.schedule = ProceduralSchedule(**schedule)
        if reconstruction == "ppl":
            self.reconstruction = PatchPerceptualLoss(**(patch_perceptual or {}))
        elif reconstruction == "vgg":
            self.reconstruction = PerceptualStyleLoss(**(vgg_perceptual or {}))
        # Batches trained so far: the phase of Algorithm 1 follows from it, and it travels in checkpoints.
        self.register_buffer("iteration", torch.tensor(0))

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> int | None:
        super().on_train_batch_start(batch, batch_idx)
        if int(self.iteration) >= self.schedule.total_iterations:
            # Algorithm 1 is over: training ends here, whatever trainer.max_steps / max_epochs say
            self.trainer.should_stop = True
            return -1
        return None

    def discriminator_channels(self, out_channels: int) -> int:
        # D(s, x), eq. 1: the incomplete input (image with holes zero-filled, and the mask) and the image
        return self.bottleneck.image_channels + 1 + out_channels

    def network_input(self, image: Tensor, mask: Tensor) -> Tensor:
        """§4.1: pixels in [-1, 1], holes filled with zeros, the mask concatenated."""
        return torch.cat([(self.bottleneck.network_image(image) * 2 - 1) * (1 - mask), mask], dim=1)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return (self.generator(self.network_input(image, mask)) + 1) / 2

    def phase(self) -> Phase:
        return self.schedule.phase(int(self.iteration))

    def enter_phase(self) -> Phase:
        """Grows the generator and sets both learning rates for the current iteration."""
        phase = self.phase()
        self.generator.grow(phase.blocks, phase.fade)
        for optimizer in self.optimizers():
            for group in optimizer.param_groups:
                group["lr"] = phase.lr
        return phase

    def reconstruction_loss(self, output: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        if self.hparams.reconstruction == "ppl":
            return self.reconstruction(output, target, mask)
        if self.hparams.reconstruction == "l2":
            # over the hole's pixels, as CE and GLI train with it (§4.3): the restored image equals the
            # target elsewhere, and a whole-image mean would weight the loss by the hole's area
            squared = (output - target) ** 2 * mask
            return squared.sum() / mask.expand_as(output).sum().clamp_min(1)
        perceptual, _ = self.reconstruction([(output + 1) / 2], (target + 1) / 2)
        return perceptual

    def training_inputs(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(generator input, target, restored image, where it was restored), images in [-1, 1]."""
        image, mask = batch["image"], batch["mask"]
        condition = self.network_input(image, mask)
        target = self.bottleneck.target(image) * 2 - 1
        restored = composite(self.generator(condition), target, mask)  # §3: only the hole is kept
        return condition, target, restored, mask

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        phase = self.enter_phase()
        condition, target, restored, mask = self.training_inputs(batch)
        fakes = self.discriminator.fake_labels(mask)
        with self.optimizing("d") as loss:
            real = self.discriminator(torch.cat([condition, target], dim=1))
            fake = self.discriminator(torch.cat([condition, restored.detach()], dim=1))
            # eq. 4: real pairs are real everywhere; on a restored image only the patches that see the
            # hole are fake (label 1 − Q)
            adversarial = sum(
                F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                + F.binary_cross_entropy_with_logits(f, 1 - q)
                for r, f, q in zip(real, fake, fakes)
            )
            loss.add("d_adv", adversarial)
        with self.optimizing("g") as loss:
            judged = self.discriminator(torch.cat([condition, restored], dim=1))
            loss.add("g_adv", self.generator_adversarial(judged, fakes), phase.adversarial_weight)
            loss.add(
                hp.reconstruction, self.reconstruction_loss(restored, target, mask), hp.reconstruction_weight
            )
        self.advance(phase)

    def on_train_batch_end(self, outputs: Any, batch: dict[str, Any], batch_idx: int) -> None:
        super().on_train_batch_end(outputs, batch, batch_idx)
        callback = self.trainer.checkpoint_callback
        if callback and self.schedule.blocks and int(self.iteration) == self.schedule.head_iterations:
            # r1 now sits at α = 0, so this checkpoint's generator computes exactly the trained head.
            # A run with checkpointing off (trainer.enable_checkpointing=false) writes no files at all.
            directory = Path(callback.dirpath or Path(self.trainer.default_root_dir) / "checkpoints")
            self.trainer.save_checkpoint(directory / HEAD_CHECKPOINT)

    @staticmethod
    def generator_adversarial(judged: list[Tensor], fakes: list[Tensor]) -> Tensor:
        """G's side of eq. 4: the patches labelled fake (Q) judged real. The other patches show only known
        pixels and carry no term: through batch norm in D (training mode) their logits still depend on the
        hole, and unweighted they would send G about as much gradient as the fake patches do. Averaged over
        every patch, as the unweighted loss was."""
        return sum(
            (F.binary_cross_entropy_with_logits(j, torch.ones_like(j), reduction="none") * q).mean()
            for j, q in zip(judged, fakes)
        )

    def advance(self, phase: Phase) -> None:
        """After a batch: count it, and put the generator in the next iteration's state (a checkpoint
        written now resumes into it; after the last batch the generator is fully grown, α = 1)."""
        self.iteration += 1
        next_phase = self.phase()
        self.generator.grow(next_phase.blocks, next_phase.fade)
        self.log_dict(
            {
                "train/blocks": float(phase.blocks),
                "train/fade": phase.fade,
                "train/adv_weight": phase.adversarial_weight,
            }
        )
