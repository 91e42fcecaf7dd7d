"""GMCNN (Wang et al., "Image Inpainting via Generative Multi-column Convolutional Neural Networks",
NeurIPS 2018) as a LightningModule.

Training follows the official PyTorch code (shepnerd/inpainting_gmcnn, pytorch/model/net.py
`InpaintingModel_GMCNN`, options/train_options.py) in one run of two stages. The README trains in two runs,
"pretrain the whole network with only confidence-driven reconstruction loss first, and finetune this
network using adversarial and ID-MRF loss along with the reconstruction loss": here the first
`pretrain_steps` batches are the pre-training (one generator step each, so they are also the trainer's
first `pretrain_steps` global steps), after which each batch takes `d_steps` discriminator steps (hinge
loss on the global image and the local hole patch, spectral norm) and one generator step on
confidence-driven reconstruction + known-region L1 + ID-MRF on the local patch + adversarial.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.base import composite
from lightning_modules.common.hinge_loss import hinge_g_loss
from lightning_modules.gan import GANInpaintingModule
from lightning_modules.gmcnn.confidence_driven_loss import (
    autoencoder_loss,
    confidence_driven_loss,
    confidence_weights,
)
from lightning_modules.gmcnn.discriminator import hole_patches
from lightning_modules.gmcnn.id_mrf import IDMRFLoss


class GMCNNInpainting(GANInpaintingModule):
    """conf/model/gmcnn.yaml gives every value and its source; `confidence` holds the arguments of
    `confidence_weights`, `id_mrf` those of `IDMRFLoss`; `gan` the arguments of GANInpaintingModule."""

    size_multiple = 4  # two stride-2 convolutions in every column
    generator_extra_channels = 1  # net.py: the masked image and the mask

    def __init__(
        self,
        id_mrf: dict[str, Any],
        confidence: dict[str, Any] | None = None,
        pretrain_steps: int = 40000,
        d_steps: int = 5,
        fresh_optimizers: bool = True,
        reconstruction_weight: float = 1.4,
        autoencoder_weight: float = 1.2,
        mrf_weight: float = 0.05,
        adversarial_weight: float = 1e-3,
        **gan: Any,
    ):
        super().__init__(**gan)
        self._id_mrf: IDMRFLoss | None = None

    def discriminator_channels(self, out_channels: int) -> int:
        return out_channels  # net.py: the discriminators see the image alone

    def generate(self, image: Tensor, mask: Tensor) -> Tensor:
        """The prediction in [-1, 1] from [masked image, mask] (net.py initVariables / forward)."""
        masked = (self.bottleneck.network_image(image) * 2 - 1) * (1 - mask)
        return self.generator(torch.cat([masked, mask], dim=1))

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return (self.generate(image, mask) + 1) / 2

    @property
    def id_mrf(self) -> IDMRFLoss:
        if self._id_mrf is None:
            # Not a submodule: VGG19 is no part of the model, so checkpoints stay small and evaluate /
            # predict never need its weights file. Built on first use, on the module's device.
            object.__setattr__(self, "_id_mrf", IDMRFLoss(**self.hparams.id_mrf).to(self.device))
        return self._id_mrf

    def pretraining(self) -> bool:
        return self.global_step < self.hparams.pretrain_steps

    # --- training ------------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        super().on_fit_start()  # model.init_from: a run's or a converted release's weights
        max_steps = self.trainer.max_steps
        if max_steps < 0 or max_steps > self.hparams.pretrain_steps:
            self.id_mrf  # noqa: B018 -- fail before the pre-training, not after it, if VGG19 is missing

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        super().on_train_batch_start(batch, batch_idx)
        # The official fine-tuning is a new run that loads the pre-trained generator: Adam starts afresh.
        # global_step equals pretrain_steps at the first fine-tuning batch only.
        if self.hparams.fresh_optimizers and self.global_step == self.hparams.pretrain_steps > 0:
            for optimizer in self.optimizers():
                optimizer.optimizer.state.clear()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        image, mask = batch["image"], batch["mask"]
        target = self.bottleneck.target(image) * 2 - 1
        output = self.generate(image, mask)
        completed = composite(output, target, mask)
        pretraining = self.pretraining()

        if not pretraining:
            size = self.discriminator.local_size
            target_local = hole_patches(target, mask, size)
            completed_local = hole_patches(completed, mask, size)
            for _ in range(hp.d_steps):  # train_options.py D_max_iters, all on this batch
                with self.optimizing("d") as loss:
                    # Real and completed images in one pass (one spectral-norm power iteration per step).
                    logits = self.discriminator(
                        torch.cat([target, completed.detach()]),
                        torch.cat([target_local, completed_local.detach()]),
                    )
                    for name, scale in zip(("global", "local"), logits):
                        real, fake = scale.chunk(2)
                        loss.add(f"d_adv_{name}", F.relu(1 - real).mean() + F.relu(1 + fake).mean())

        with self.optimizing("g") as loss:
            weights = confidence_weights(mask, **(hp.confidence or {}))
            loss.add(
                "reconstruction",
                confidence_driven_loss(completed, target, mask, weights),
                hp.reconstruction_weight,
            )
            loss.add("autoencoder", autoencoder_loss(output, target, mask), hp.autoencoder_weight)
            if not pretraining:
                mrf = self.id_mrf((completed_local + 1) / 2, (target_local + 1) / 2)
                loss.add("mrf", mrf, hp.mrf_weight)
                logits = self.discriminator(completed, completed_local)
                for name, scale in zip(("global", "local"), logits):
                    loss.add(f"g_adv_{name}", hinge_g_loss(scale), hp.adversarial_weight)
