"""GatedConv / DeepFill v2 (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019) as
a LightningModule.

Training follows the official TF code (JiahuiYu/generative_inpainting v2.0.0, inpaint_model.py
`build_graph_with_losses`, inpaint.yml): SN-PatchGAN on the completed image with the mask as an extra
channel, hinge loss, generator loss = adversarial + L1 of both stages on the whole image, Adam 1e-4 with
betas (0.5, 0.999) for both networks, one D step then one G step per batch.
"""

from __future__ import annotations

from typing import Any

import torch

from lightning_modules.base import composite
from lightning_modules.common.hinge_loss import hinge_d_loss, hinge_g_loss
from lightning_modules.gan import GANInpaintingModule


class GatedConvInpainting(GANInpaintingModule):
    """conf/model/gatedconv.yaml gives every value and its source; `gan` holds the arguments of
    GANInpaintingModule (networks, optimizers, bottleneck, metrics)."""

    size_multiple = 8  # two stride-2 stages, then contextual attention matches at rate 2
    # DeepFill's input adds two channels to the image: ones (its sketch channel) and the mask.
    generator_extra_channels = 2

    def __init__(
        self,
        l1_coarse_weight: float = 1.0,
        l1_refine_weight: float = 1.0,
        adversarial_weight: float = 1.0,
        **gan: Any,
    ):
        super().__init__(**gan)

    def generate(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coarse and refined predictions in [-1, 1] from DeepFill v2's input [masked image, ones, mask];
        stage 2 starts from the known pixels of the target (RGB, or gray with the monochromic bottleneck).
        For a binary mask this is the input the official test graph builds (inpaint_model.py
        build_server_graph), and `inpaint` its composite (tests/test_gatedconv_release.py)."""
        x = (self.bottleneck.network_image(image) * 2 - 1) * (1 - mask)
        known = self.bottleneck.target(image) * 2 - 1
        return self.generator(torch.cat([x, torch.ones_like(mask), mask], dim=1), mask, known=known)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _, refined = self.generate(image, mask)
        return (refined + 1) / 2

    def discriminate(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat([image, mask], dim=1))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        image, mask = batch["image"], batch["mask"]
        target = self.bottleneck.target(image) * 2 - 1
        coarse, refined = self.generate(image, mask)
        fake = composite(refined, target, mask)

        with self.optimizing("d") as loss:
            loss.add(
                "d_adv", hinge_d_loss(self.discriminate(target, mask), self.discriminate(fake.detach(), mask))
            )
        with self.optimizing("g") as loss:
            loss.add("g_adv", hinge_g_loss(self.discriminate(fake, mask)), hp.adversarial_weight)
            loss.add("l1_coarse", (coarse - target).abs().mean(), hp.l1_coarse_weight)
            loss.add("l1_refine", (refined - target).abs().mean(), hp.l1_refine_weight)
