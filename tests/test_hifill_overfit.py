"""HiFill learns: at a test width it overfits one fixed 64×64 batch, as published (rgb) and with the
monochromic bottleneck (mono), to a hole PSNR at least 15 dB above where it starts.

Everything on the way is the real training path: the model and masks come from the composed train
config with `backbone=hifill`, and the module's own `training_step` (three WGAN-GP critic steps,
then one generator step with the adversarial and both L1 terms) runs inside a real
`pytorch_lightning.Trainer` on CPU. At 64² the refine network keeps its three levels (bottleneck 8², an
attention grid of 4²) and the coarse network runs at 32², half the input as at 512². The image is a
smooth colour field: the refine decoder's finest skip is at half resolution, so sharp-edged textures need
far more steps than a test affords (the synthetic stripes and checkerboard gain 8 dB in 300 batches).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from datamodules.seeding import MASK_STREAM, rng_for
from lightning_modules.hifill.module import HiFillInpainting
from overfitting import bottleneck_hole_psnr, fit_repeated

# overfitting runs (hundreds of steps): make test-all
pytestmark = pytest.mark.slow

CONF = Path(__file__).resolve().parents[1] / "conf"
ITERATIONS = 250  # batches; the Trainer counts 4 × as many steps (3 critic steps, 1 generator step)
SIZE = 64
OVERRIDES = [
    "+backbone=hifill",
    "model.generator.cnum=8",
    "model.discriminator.cnum=8",
    "model.generator.image_size=64",
    "model.generator.bottleneck_size=8",
    "model.generator.coarse_size=32",
    # Overfitting only: G's Adam lr 4e-3 instead of 1e-4 (2e-3 gains 16 dB only after 300 batches in
    # trials); the critic keeps its configured 1e-4.
    "model.optimizer.g.lr=4e-3",
    "data.source.size=64",
]


def smooth_image() -> torch.Tensor:
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    rgb = [0.5 + 0.4 * np.sin(3 * x + 1), 0.5 + 0.4 * np.cos(2.5 * y), 0.5 + 0.3 * np.sin(2 * (x + y))]
    return torch.tensor(np.stack(rgb), dtype=torch.float32)


@pytest.mark.parametrize("bottleneck", ["rgb", "mono"])
@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_hifill_overfits_one_batch_through_the_trainer(bottleneck):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*OVERRIDES, f"model.bottleneck={bottleneck}"])
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    assert isinstance(model, HiFillInpainting) and model.hparams.adversarial_weight == 0.001
    assert model.hparams.critic_steps == 3 and model.hparams.optimizer["d"]["lr"] == 1e-4

    # Two of HiFill's training masks (the backbone's DeepFill v2 strokes ∪ box), keyed like evaluation
    # samples, over the same image.
    masks = instantiate(cfg.mask.train)
    mask = torch.stack([torch.from_numpy(masks(SIZE, SIZE, rng_for(0, MASK_STREAM, 0, i))) for i in (0, 1)])[
        :, None
    ]
    image = smooth_image().expand(len(mask), -1, -1, -1).contiguous()
    batch = {"image": image, "mask": mask.float()}
    assert 0.2 < float(mask.float().mean()) < 0.6

    start = bottleneck_hole_psnr(model, image, mask)
    critic = {name: value.detach().clone() for name, value in model.discriminator.named_parameters()}
    trainer = fit_repeated(model, batch, ITERATIONS)
    final = bottleneck_hole_psnr(model, image, mask)
    print(f"{bottleneck}: hole PSNR {start:.2f} dB -> {final:.2f} dB after {ITERATIONS} batches")

    assert trainer.global_step == 4 * ITERATIONS  # 3 critic steps and a generator step on every batch
    trained = dict(model.discriminator.named_parameters())
    # the critic trained too (all but the linear bias, which cancels in E[D(fake)] − E[D(real)])
    assert all(
        not torch.equal(value, trained[name]) for name, value in critic.items() if name != "linear.bias"
    )
    assert final - start >= 15
