"""GatedConv / DeepFill v2 (Yu et al., ICCV 2019) as a LightningModule.

Training follows the official TF code (REFERENCE.md): SN-PatchGAN on the composite with the mask as an
extra channel, hinge loss, generator loss = adversarial + L1 of both stages on the whole image, Adam
1e-4 with betas (0.5, 0.999) for both networks, one D step then one G step per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from lightning_modules.base import TEST_METRICS, VAL_METRICS, InpaintingModule, composite
from lightning_modules.common.hinge_loss import hinge_d_loss, hinge_g_loss


class GatedConvInpainting(InpaintingModule):
    """generator / discriminator are Hydra configs (without channel counts, which follow the bottleneck),
    so a checkpoint alone rebuilds the model."""

    size_multiple = 8  # two stride-2 stages, then contextual attention matches at rate 2

    def __init__(
        self,
        generator: DictConfig | dict,
        discriminator: DictConfig | dict,
        g_lr: float = 1e-4,
        d_lr: float = 1e-4,
        betas: Sequence[float] = (0.5, 0.999),
        l1_coarse_weight: float = 1.0,
        l1_refine_weight: float = 1.0,
        adversarial_weight: float = 1.0,
        bottleneck: str = "rgb",
        colorization: dict | None = None,
        val_metrics: Sequence[str] = VAL_METRICS,
        test_metrics: Sequence[str] = TEST_METRICS,
    ):
        super().__init__(bottleneck, colorization, val_metrics, test_metrics)
        self.save_hyperparameters()
        space = self.bottleneck
        # DeepFill's input adds two channels to the image: ones (its sketch channel) and the mask.
        self.generator = instantiate(
            generator, in_channels=space.image_channels + 2, out_channels=space.out_channels
        )
        self.discriminator = instantiate(discriminator, in_channels=space.out_channels + 1)

    def generate(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coarse and refined predictions in [-1, 1] from DeepFill v2's input [masked image, ones, mask];
        stage 2 starts from the known pixels of the target (RGB, or gray with the monochromic bottleneck)."""
        x = (self.bottleneck.network_image(image) * 2 - 1) * (1 - mask)
        known = self.bottleneck.target(image) * 2 - 1
        return self.generator(torch.cat([x, torch.ones_like(mask), mask], dim=1), mask, known=known)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _, refined = self.generate(image, mask)
        return (refined + 1) / 2

    def discriminate(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat([image, mask], dim=1))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        image, mask = batch["image"], batch["mask"]
        target = self.bottleneck.target(image) * 2 - 1
        coarse, refined = self.generate(image, mask)
        fake = composite(refined, target, mask)

        self.toggle_optimizer(opt_d)
        d_loss = hinge_d_loss(self.discriminate(target, mask), self.discriminate(fake.detach(), mask))
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        self.toggle_optimizer(opt_g)
        hp = self.hparams
        l1_coarse = (coarse - target).abs().mean()
        l1_refine = (refined - target).abs().mean()
        g_adv = hinge_g_loss(self.discriminate(fake, mask))
        g_loss = (
            hp.adversarial_weight * g_adv + hp.l1_coarse_weight * l1_coarse + hp.l1_refine_weight * l1_refine
        )
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.log_dict(
            {
                "train/d_loss": d_loss,
                "train/g_loss": g_loss,
                "train/g_adv": g_adv,
                "train/l1_coarse": l1_coarse,
                "train/l1_refine": l1_refine,
            },
            prog_bar=False,
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.g_lr, betas=tuple(hp.betas))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=hp.d_lr, betas=tuple(hp.betas))
        return [opt_g, opt_d]
