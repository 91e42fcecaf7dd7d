"""HiFill (Yi et al., "Contextual Residual Aggregation for Ultra High-Resolution Image Inpainting", CVPR
2020) as a LightningModule.

Training follows the authors' TF code (duxingren14/Hifill-tensorflow: model.py
`build_graph_with_losses`, train.py, config.yml): WGAN-GP on the completed image (no mask channel),
generator loss = 0.001 · adversarial + 1.2 · hole L1 + 1.2 · valid L1, both L1 terms over the coarse
(× 1.2) and refined outputs, Adam 1e-4 with betas (0.5, 0.9) for both networks, three critic steps per
generator step. `inpaint_large` runs contextual residual aggregation (§3.1) for very large images.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_modules.base import composite
from lightning_modules.colorization.colorizer import Hints
from lightning_modules.gan import GANInpaintingModule
from lightning_modules.hifill.residual_aggregation import residual_aggregate


def gradient_penalty(critic: torch.nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """ops.py `gradients_penalty` on `random_interpolates`: (‖∇D(x̂)‖ − 1)² with x̂ on the segment from
    real to fake at a uniform position per sample, the norm over all pixels and channels.

    In float32 under mixed precision (bf16 gradients would bend the unit-norm target by their rounding),
    and through the eager critic under model.compile: compiled graphs have no double backward."""
    real, fake = real.float(), fake.float()
    epsilon = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    interpolates = (real + epsilon * (fake - real)).requires_grad_(True)
    with torch.autocast(real.device.type, enabled=False), torch.compiler.set_stance("force_eager"):
        (grad,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class HiFillInpainting(GANInpaintingModule):
    """conf/model/hifill.yaml gives every value and its source; `gan` holds the arguments of
    GANInpaintingModule (networks, optimizers, bottleneck, metrics)."""

    generator_extra_channels = 1  # model.py: the masked image ⊕ the mask

    def __init__(
        self,
        adversarial_weight: float = 0.001,
        hole_l1_weight: float = 1.2,
        valid_l1_weight: float = 1.2,
        coarse_weight: float = 1.2,
        gradient_penalty_weight: float = 10.0,
        critic_steps: int = 3,
        large_image_size: int = 512,
        **gan: Any,
    ):
        super().__init__(**gan)
        self.size_multiple = self.generator.size_multiple

    def discriminator_channels(self, out_channels: int) -> int:
        return out_channels  # config.yml GAN_WITH_MASK: False

    def generate(self, image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Coarse and refined predictions in [-1, 1] and the attention scores; the refine stage starts
        from the known pixels of the target (RGB, or gray with the monochromic bottleneck)."""
        x = (self.bottleneck.network_image(image) * 2 - 1) * (1 - mask)
        known = self.bottleneck.target(image) * 2 - 1
        return self.generator(x, mask, known)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return (self.generate(image, mask)[1] + 1) / 2

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        image, mask = batch["image"], batch["mask"]
        target = self.bottleneck.target(image) * 2 - 1
        coarse, refined, _ = self.generate(image, mask)
        fake = composite(refined, target, mask)

        # train.py: the critic steps 3 times per generator step (on fresh batches there; on this one here).
        for _ in range(hp.critic_steps):
            with self.optimizing("d") as loss:
                real_score, fake_score = self.discriminator(target), self.discriminator(fake.detach())
                loss.add("d_wgan", fake_score.mean() - real_score.mean())
                loss.add(
                    "gradient_penalty",
                    gradient_penalty(self.discriminator, target, fake.detach()),
                    hp.gradient_penalty_weight,
                )
        with self.optimizing("g") as loss:
            loss.add("g_adv", -self.discriminator(fake).mean(), hp.adversarial_weight)
            # model.py: means over all pixels; the valid term alone is divided by the known fraction.
            coarse_error, refined_error = (coarse - target).abs(), (refined - target).abs()
            hole = hp.coarse_weight * (coarse_error * mask).mean() + (refined_error * mask).mean()
            valid = (
                hp.coarse_weight * (coarse_error * (1 - mask)).mean() + (refined_error * (1 - mask)).mean()
            )
            loss.add("hole_l1", hole, hp.hole_l1_weight)
            loss.add("valid_l1", valid / (1 - mask).mean(), hp.valid_l1_weight)

    def inpaint_photo(
        self,
        image: Tensor,
        mask: Tensor,
        hints: Hints | None = None,
        max_side: int | None = 512,
        context: float = 0.5,
    ) -> Tensor:
        """predict.py's path: residual aggregation, HiFill's own way to large photos, instead of hole
        crops (the network sees `large_image_size`² whatever the photo's size, so `context` plays no
        part); max_side None runs the network on the whole photo at once, as for the other methods."""
        return (
            self.inpaint(image, mask, hints) if max_side is None else self.inpaint_large(image, mask, hints)
        )

    @torch.no_grad()
    def inpaint_large(self, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        """The RGB composite for an image of any size by contextual residual aggregation: the network runs
        at `large_image_size`² (512, test.py INPUT_SIZE) and its attention scores aggregate the known
        high-frequency residuals into the hole at full size. Known pixels are the input's, bit for bit.
        Images no larger than the network's input go through `inpaint`."""
        size = self.hparams.large_image_size
        if max(image.shape[-2:]) <= size:
            return self.inpaint(image, mask, hints)

        def inpaint_low(small: Tensor, small_mask: Tensor) -> tuple[Tensor, Tensor]:
            _, refined, scores = self.generate(small, small_mask)
            return (refined.float() + 1) / 2, scores.float()

        # CRA works in the space the network predicts: RGB, or gray for the monochromic bottleneck.
        output = residual_aggregate(image, mask, inpaint_low, size, target=self.bottleneck.target)
        output = self.bottleneck.restore(output, image, mask, hints)
        return composite(output, image, mask)
