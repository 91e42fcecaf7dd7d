"""The GAN training base (lightning_modules/gan.py): optimizers from configs, gradient clipping, one
logging scheme for every weighted loss term."""

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from datamodules.repeated_batch import repeated_batch_loader
from lightning_modules.gan import WeightedLoss

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = ["model.generator.cnum=8", "model.discriminator.cnum=8"]


def gatedconv(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, *overrides])
    torch.manual_seed(0)
    return instantiate(cfg.model)


def fit_one_batch(model) -> pl.Trainer:
    image = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 10:24] = 1
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=2,  # one batch: a D and a G step
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, repeated_batch_loader({"image": image, "mask": mask}, 1))
    return trainer


def test_weighted_loss_is_the_weighted_sum_in_order():
    loss = WeightedLoss()
    loss.add("a", torch.tensor(2.0))
    loss.add("b", torch.tensor(3.0), weight=0.5)
    assert loss.total().item() == 3.5
    with pytest.raises(ValueError, match="added twice"):
        loss.add("a", torch.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        WeightedLoss().total()


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_a_sweep_can_swap_the_optimizer_and_clip_a_network():
    """D trained by SGD (lr 1) with its gradient norm clipped to 1e-3: its parameters move by exactly
    that norm; unclipped they move further."""
    sgd = [
        "model.optimizer.d._target_=torch.optim.SGD",
        "model.optimizer.d.lr=1.0",
        "~model.optimizer.d.betas",
    ]
    moved = {}
    for clip in (None, 1e-3):
        model = gatedconv(*sgd, f"model.gradient_clip_norm.d={'null' if clip is None else clip}")
        before = torch.cat([p.detach().flatten().clone() for p in model.discriminator.parameters()])
        trainer = fit_one_batch(model)
        assert [type(opt) for opt in trainer.optimizers] == [torch.optim.Adam, torch.optim.SGD]
        after = torch.cat([p.detach().flatten() for p in model.discriminator.parameters()])
        moved[clip] = (after - before).norm().item()
    assert moved[1e-3] == pytest.approx(1e-3, rel=1e-3)
    assert moved[None] > 10 * moved[1e-3]


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_every_weighted_term_is_logged_under_one_scheme():
    model = gatedconv("model.adversarial_weight=0.25")
    metrics = fit_one_batch(model).callback_metrics
    terms = {"train/g_adv", "train/l1_coarse", "train/l1_refine", "train/d_adv"}
    assert terms | {"train/g_loss", "train/d_loss", "train/g_lr", "train/d_lr"} <= set(metrics)
    weighted = 0.25 * metrics["train/g_adv"] + metrics["train/l1_coarse"] + metrics["train/l1_refine"]
    torch.testing.assert_close(metrics["train/g_loss"], weighted)
    assert metrics["train/d_loss"] == metrics["train/d_adv"]
    assert metrics["train/g_lr"] == 1e-4
