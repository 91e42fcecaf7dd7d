"""GMCNN learns, in both forms (model.bottleneck=rgb and mono): at a test width it overfits one 64×64 batch
through both training stages, and the stages are what the official code does.

Everything on the way is the real training path: the model and its half-size square masks come from the
composed train config (model=gmcnn, mask=gmcnn_rect), and the module's own `training_step` runs inside a
real `pytorch_lightning.Trainer` on CPU: reconstruction pre-training (G alone), then fine-tuning with 5
discriminator steps per batch (global + local hinge) and ID-MRF + adversarial terms on the hole's patch.
120 batches take about 20 s on one idle core; rgb ends near 36.6 dB, mono near 39.0 dB (from 13-16 dB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from lightning_modules.base import load_inpainting_module
from lightning_modules.gmcnn.module import GMCNNInpainting
from overfitting import bottleneck_hole_psnr, fit_repeated

# overfitting runs (hundreds of steps): make test-all
pytestmark = pytest.mark.slow

CONF = Path(__file__).resolve().parents[1] / "conf"
SIZE = 64
PRETRAIN, FINETUNE = 100, 20  # batches of each stage
D_STEPS = 5  # as configured (train_options.py D_max_iters)
OVERRIDES = [
    "model=gmcnn",
    "mask=gmcnn_rect",
    "model.generator.cnum=8",
    "model.discriminator.cnum=8",
    f"model.discriminator.image_size={SIZE}",  # the linear layers take the training size
    f"model.discriminator.local_size={SIZE // 2}",  # the half-size square hole, cropped exactly
    "model.id_mrf.weights=random",  # no weights file in tests
    f"model.pretrain_steps={PRETRAIN}",
    # Overfitting only: G's Adam lr 3e-4 instead of 1e-5 (which needs thousands of batches); 5e-4 drove the
    # clipped output into saturation in trials. D keeps its configured 1e-5.
    "model.optimizer.g.lr=3e-4",
]


def smooth_image() -> torch.Tensor:
    """A smooth colour field: GMCNN has no skip connections, so sharp textures need far more steps than a
    test affords (the synthetic stripes gain 14 dB in 300 batches at this width)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    rgb = [0.5 + 0.4 * np.sin(3 * x + 1), 0.5 + 0.4 * np.cos(2.5 * y), 0.5 + 0.3 * np.sin(2 * (x + y))]
    return torch.tensor(np.stack(rgb), dtype=torch.float32)


class StageProbe(pl.Callback):
    """The discriminator as the pre-training leaves it, and G's Adam step count after the first
    fine-tuning batch."""

    def __init__(self) -> None:
        self.discriminator: dict[str, torch.Tensor] | None = None
        self.g_adam_steps: int | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == PRETRAIN:
            named = pl_module.discriminator.named_parameters()
            self.discriminator = {name: value.detach().clone() for name, value in named}
        if trainer.global_step == PRETRAIN + D_STEPS + 1:
            state = pl_module.optimizers()[0].optimizer.state
            self.g_adam_steps = int(next(iter(state.values()))["step"])


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
@pytest.mark.parametrize("bottleneck", ["rgb", "mono"])
def test_gmcnn_overfits_one_batch_through_both_stages(bottleneck: str, tmp_path: Path) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*OVERRIDES, f"model.bottleneck={bottleneck}"])
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    assert isinstance(model, GMCNNInpainting) and model.hparams.d_steps == D_STEPS
    assert model.hparams.adversarial_weight == 1e-3 and model.hparams.optimizer["d"]["lr"] == 1e-5

    masks = instantiate(cfg.mask.train)
    mask = torch.tensor(np.stack([masks(SIZE, SIZE, np.random.default_rng(i)) for i in range(2)]))[:, None]
    image = smooth_image().expand(len(mask), -1, -1, -1).contiguous()
    assert float(mask.mean()) == 0.25  # one 32² square each

    start = bottleneck_hole_psnr(model, image, mask)
    discriminator = {name: value.detach().clone() for name, value in model.discriminator.named_parameters()}
    probe = StageProbe()
    trainer = fit_repeated(model, {"image": image, "mask": mask}, PRETRAIN + FINETUNE, callbacks=[probe])
    final = bottleneck_hole_psnr(model, image, mask)
    print(f"{bottleneck}: hole PSNR {start:.2f} dB -> {final:.2f} dB after {PRETRAIN} + {FINETUNE} batches")

    # Pre-training: one G step per batch, D untouched; fine-tuning: D_STEPS D steps and one G step.
    assert trainer.global_step == PRETRAIN + FINETUNE * (D_STEPS + 1)
    assert all(torch.equal(value, probe.discriminator[name]) for name, value in discriminator.items())
    # ... and the fine-tuning trained it. Every weight moved; the logits' biases get no gradient while all
    # logits lie inside the hinge's margin (±1), where the real and fake terms' pulls cancel.
    trained = dict(model.discriminator.named_parameters())
    weights = [name for name in discriminator if name.endswith("weight.original")]
    assert len(weights) == 10 and all(not torch.equal(discriminator[name], trained[name]) for name in weights)
    assert probe.g_adam_steps == 1  # fresh_optimizers: Adam restarted for the fine-tuning, as a new run
    assert final - start >= 15

    # The checkpoint alone rebuilds the model with its stage length, without VGG19 (a training-only loss).
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    assert not any(
        "vgg" in key for key in torch.load(tmp_path / "last.ckpt", weights_only=False)["state_dict"]
    )
    loaded = load_inpainting_module(tmp_path / "last.ckpt")
    assert loaded.hparams.pretrain_steps == PRETRAIN and loaded.bottleneck.name == bottleneck
    assert torch.equal(loaded.predict_output(image, mask), model.eval().predict_output(image, mask))
