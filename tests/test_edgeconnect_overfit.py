"""EdgeConnect learns: at a test width both forms (model.bottleneck=rgb and mono) overfit one fixed 64×64
batch, the hole PSNR rising by more than 15 dB.

Everything on the way is the real training path: the model, textures and masks come from the composed
train config, and the module's own `training_step` in the joint stage (official MODEL 4: G1 on nsgan +
feature matching, G2 on L1 / mean mask + nsgan + perceptual + style with G2's loss reaching G1 through
the predicted edges, D1 and D2) runs inside a real `pytorch_lightning.Trainer` on CPU. The PSNR is taken
on what the model predicts, in the bottleneck's space (gray for mono, as validation scores it), through
the inference path: Canny edges of the known region, G1's edges in the hole, then G2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from datamodules.inpainting_dataset import InpaintingDataset, collate
from lightning_modules.edgeconnect.module import EdgeConnectInpainting
from overfitting import bottleneck_hole_psnr, fit_repeated

# overfitting runs (hundreds of steps): make test-all
pytestmark = pytest.mark.slow

CONF = Path(__file__).resolve().parents[1] / "conf"
ITERATIONS = 120  # batches; four optimizer steps each (G1, G2, D1, D2)
TEXTURES = (1, 2)  # synthetic train textures (dataset seed 0); rgb ends near 25.7 dB from 7.2, mono 24.2
OVERRIDES = [
    "model=edgeconnect",
    "model.stage=joint",
    # Test widths: 16 base channels and 2 residual blocks in both generators, narrow discriminators.
    "model.generator.cnum=16",
    "model.generator.residual_blocks=2",
    "model.edge_generator.cnum=16",
    "model.edge_generator.residual_blocks=2",
    "model.discriminator.cnum=8",
    "model.edge_discriminator.cnum=8",
    # Overfitting only: both generators at Adam lr 1e-3 instead of 1e-4; the discriminators keep 1e-5.
    "model.optimizer.g.lr=1e-3",
    "model.optimizer.edge_g.lr=1e-3",
    # No weights file in tests (asked for by name); VGG19 only up to relu2_2, 20× cheaper than to relu5_2.
    "model.perceptual.weights=random",
    "model.perceptual.perceptual_layers=[relu1_1,relu2_1]",
    "model.perceptual.perceptual_weights=[1.0,1.0]",
    "model.perceptual.style_layers=[relu2_2]",
    "data.source.size=64",
]


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
@pytest.mark.parametrize("bottleneck", ["rgb", "mono"])
def test_edgeconnect_overfits_one_batch_through_the_trainer(bottleneck: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*OVERRIDES, f"model.bottleneck={bottleneck}"])
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    assert isinstance(model, EdgeConnectInpainting)
    assert model.hparams.style_weight == 250 and model.hparams.feature_matching_weight == 10
    assert model.hparams.optimizer["d"]["lr"] == 1e-5 and model.hparams.optimizer["edge_d"]["lr"] == 1e-5

    dataset = InpaintingDataset(instantiate(cfg.data.source).split("train"), instantiate(cfg.mask.train))
    batch = collate([dataset[index] for index in TEXTURES])
    image, mask = batch["image"], batch["mask"]
    assert image.shape == (len(TEXTURES), 3, 64, 64) and 0.2 < float(mask.mean()) < 0.5

    start = bottleneck_hole_psnr(model, image, mask)
    before = {name: [p.detach().clone() for p in model.network(name).parameters()] for name in model.networks}
    trainer = fit_repeated(model, batch, ITERATIONS)
    final = bottleneck_hole_psnr(model, image, mask)
    print(f"{bottleneck}: hole PSNR {start:.2f} dB -> {final:.2f} dB after {ITERATIONS} batches")

    assert trainer.global_step == 4 * ITERATIONS  # all four networks stepped on every batch
    for name, values in before.items():  # and every one of them trained
        assert all(not torch.equal(a, b) for a, b in zip(values, model.network(name).parameters())), name
    metrics = set(trainer.callback_metrics)
    assert {
        "train/edge_fm",
        "train/edge_adv",
        "train/style",
        "train/perceptual",
        "train/g_adv",
        "train/l1",
    } <= metrics
    assert final - start > 15
