"""DeepGIN's losses (§4.2) and two-stage training (§5.1): known loss values, the VGG19 layers, and a real
Trainer running the warm-up (generator on L1 only, discriminator idle) into the main stage with the
learning rates of the schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from datamodules.repeated_batch import repeated_batch_loader
from lightning_modules.common.perceptual_loss import (
    PerceptualStyleLoss,
    VGGFeatures,
    gram_matrix,
    vgg_layer_names,
)
from lightning_modules.common.pixel_losses import hole_valid_l1, total_variation
from lightning_modules.deepgin.module import DeepGINInpainting
from lightning_modules.deepgin.schedule import TwoStageSchedule
from suite_cli import DEEPGIN_TINY, run
from utils.pretrained import MissingWeightsError, vgg19_features

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = ["model.generator.width=4", "model.discriminator.ndf=8", "model.perceptual.input_size=null"]


def deepgin(*overrides: str) -> DeepGINInpainting:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["model=deepgin", *TINY, *overrides])
    torch.manual_seed(0)
    return instantiate(cfg.model)


def test_hole_valid_l1_weights_holes_and_averages_over_all_pixels():
    target = torch.rand(2, 3, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., :2, :] = 1  # a quarter of the pixels
    output = target + 0.1 * mask + 0.2 * (1 - mask)
    assert hole_valid_l1(output, target, mask, hole_weight=5.0) == pytest.approx(5 * 0.1 / 4 + 0.2 * 3 / 4)


def test_total_variation_of_a_ramp():
    ramp = torch.arange(8.0).mul(0.1).expand(2, 3, 8, 8)  # +0.1 per column, in all three channels
    assert total_variation(ramp, "l1") == pytest.approx(3 * 0.1)  # Eq. (6): L1 over the pixel's colours
    assert total_variation(ramp, "squared") == pytest.approx(2 * 0.1**2)  # the authors' code
    with pytest.raises(ValueError, match="'l1' or 'squared'"):
        total_variation(ramp, "l2")


def test_schedule_of_the_paper():
    schedule = TwoStageSchedule(warmup_epochs=10, constant_epochs=10, decay_epochs=90)
    assert [schedule.is_warmup(e) for e in (0, 9, 10)] == [True, True, False]
    assert [schedule(e) for e in (0, 9, 10, 19, 20)] == [1.0] * 5
    assert schedule(21) == pytest.approx(89 / 90) and schedule(109) == pytest.approx(1 / 90)
    assert schedule(110) == schedule(500) == 0.0 and schedule.total_epochs == 110


def test_vgg_layers_are_taken_before_their_relus():
    names = vgg_layer_names(vgg19_features("random"))
    paper = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert [names.index(layer) for layer in paper] == [0, 5, 10, 19, 28]  # torchvision's vgg19.features
    vgg = VGGFeatures([*paper[:2], "relu2_1"], weights="random")
    image = torch.rand(1, 3, 32, 32)
    conv1_1, conv2_1, relu2_1 = vgg(image)
    normalized = (image - vgg.mean) / vgg.std
    assert torch.equal(conv1_1, vgg.features[0](normalized))  # not overwritten by the in-place ReLU
    assert (conv1_1 < 0).any() and (conv2_1 < 0).any() and torch.equal(relu2_1, conv2_1.relu())
    assert len(vgg.features) == 7  # cut after the deepest layer asked for
    # in place (cheaper) only where the conv output before it is not kept: relu1_1, relu1_2, relu2_1
    assert [m.inplace for m in vgg.features if isinstance(m, torch.nn.ReLU)] == [False, True, False]
    with pytest.raises(ValueError, match="unknown VGG19 layers"):
        VGGFeatures(["conv6_1"], weights="random")


def test_gram_matrix_and_the_losses():
    features = torch.ones(2, 4, 3, 5)
    assert torch.allclose(gram_matrix(features), torch.full((2, 4, 4), 1 / 4))
    loss = PerceptualStyleLoss(layers=["conv1_1", "conv2_1"], layer_weights=[0.5, 1.0], weights="random")
    target = torch.rand(1, 3, 32, 32)
    image = target.clone().requires_grad_()
    perceptual, style = loss([image], target)
    assert perceptual == 0 and style == 0
    perceptual, style = loss([target + 0.1 * torch.randn_like(target)], target)
    assert perceptual > 0 and style > 0
    twice = loss([target + 0.1, target + 0.1], target)
    once = loss([target + 0.1], target)
    assert torch.allclose(twice[0], 2 * once[0]) and torch.allclose(twice[1], 2 * once[1])
    assert not any(p.requires_grad for p in loss.parameters())


def tiny_batch(size: int = 32) -> dict:
    image = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(3, 1, size, size)
    mask[..., size // 4 : size // 2, size // 4 :] = 1
    return {"image": image, "mask": mask}


def trainer(epochs: int, **kwargs) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


class StageRecorder(pl.Callback):
    """Per epoch: learning rates, whether D changed, optimizer steps, and the logged G / L1 losses."""

    def __init__(self):
        self.epochs = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if batch_idx == 0:
            d_params = [p.detach().clone() for p in module.discriminator.parameters()]
            self.epochs.append({})
            self.start = (trainer.global_step, d_params)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if batch_idx == 0:  # the rates this epoch's first step used
            opt_g, opt_d = (opt.optimizer for opt in module.optimizers())
            self.epochs[-1]["lrs"] = (opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"])

    def on_train_epoch_end(self, trainer, module):
        step, d_params = self.start
        metrics = trainer.callback_metrics
        self.epochs[-1] |= {
            "steps": trainer.global_step - step,
            "d_trained": any(
                not torch.equal(a, b) for a, b in zip(d_params, module.discriminator.parameters())
            ),
            "l1_only": float(metrics["train/g_loss"]) == float(metrics["train/l1"]),
        }


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_warmup_trains_only_the_generator_on_l1_then_the_schedule_runs():
    model = deepgin(
        "model.perceptual.weights=random",
        "model.warmup_epochs=1",
        "model.constant_epochs=1",
        "model.decay_epochs=2",
    )
    recorder = StageRecorder()
    fit = trainer(4, callbacks=[recorder])
    fit.fit(model, repeated_batch_loader(tiny_batch(), 2))

    g_lr, d_lr = 1e-4, 4e-4
    assert [epoch["lrs"] for epoch in recorder.epochs] == [
        pytest.approx((g_lr, d_lr)),
        pytest.approx((g_lr, d_lr)),
        pytest.approx((g_lr, d_lr)),  # the first decay epoch still runs at the initial rates
        pytest.approx((g_lr / 2, d_lr / 2)),
    ]
    # Warm-up: G alone (one optimizer step per batch) on L1; then G and D on every batch, all losses.
    assert [(e["steps"], e["d_trained"], e["l1_only"]) for e in recorder.epochs] == [
        (2, False, True),
        (4, True, False),
        (4, True, False),
        (4, True, False),
    ]
    assert {"train/perceptual", "train/style", "train/tv", "train/g_adv", "train/d_loss"} <= set(
        fit.callback_metrics
    )


def test_missing_vgg_weights_stop_training_before_the_first_step(torch_home, no_network):
    model = deepgin("model.warmup_epochs=1")  # the default: ImageNet VGG19 from the cache
    fit = trainer(1)
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        fit.fit(model, repeated_batch_loader(tiny_batch(), 2))
    assert fit.global_step == 0


def test_checkpoints_hold_no_vgg_weights():
    model = deepgin("model.perceptual.weights=random")
    model.perceptual_loss  # noqa: B018 -- built, as in training
    assert not any(key.startswith("_perceptual_loss") or "vgg" in key for key in model.state_dict())


@pytest.mark.slow  # trains, then colorizes per image
def test_monochromic_bottleneck_trains_and_tests(tmp_path):
    """model.bottleneck=mono: G sees RGB + gray (+ mask) and predicts gray, D judges gray pairs, and the
    internal colorization restores RGB for the test metrics."""
    run(
        "train.py",
        *DEEPGIN_TINY,
        "model.bottleneck=mono",
        "colorization=fast",
        "colorization.iterations=[5,5,10]",
        "colorization.num_blocks=1",
        "colorization.channels=8",
        "logger=none",
        f"hydra.run.dir={tmp_path}",
    )
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 2 + 2 * 2 * 2  # warm-up, then G and D on every batch
    weights = state["state_dict"]
    assert weights["generator.coarse.layers.0.weight"].shape[1] == 5  # RGB + gray + mask
    assert weights["generator.refine.to_image.weight"].shape[0] == 1  # gray out
    assert weights["discriminator.scales.0.layers.0.parametrizations.weight.original"].shape[1] == 2
    results = json.loads((tmp_path / "metrics.json").read_text())
    assert all(results["overall"][m] is not None for m in ("psnr", "ssim", "l1"))


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
@pytest.mark.parametrize("fresh", [False, True])
def test_fresh_optimizers_restart_adam_at_the_main_stage(fresh):
    """model.fresh_optimizers: the authors' main stage started as a new run, with Adam's moments reset."""
    model = deepgin(
        "model.perceptual.weights=random",
        "model.warmup_epochs=1",
        "model.constant_epochs=1",
        "model.decay_epochs=1",
        f"model.fresh_optimizers={fresh}",
    )
    trainer(2).fit(model, repeated_batch_loader(tiny_batch(), 2))  # 2 warm-up batches, then 2 GAN batches
    opt_g, opt_d = (optimizer.optimizer for optimizer in model.optimizers())
    g_steps = {int(state["step"]) for state in opt_g.state.values()}
    assert g_steps == ({2} if fresh else {4})
    assert {int(state["step"]) for state in opt_d.state.values()} == {2}  # D trains in the main stage only


# The authors' Vgg19 (rlct1/gin, models/networks.py): torchvision's VGG19 features cut into slices that end
# at conv1_1, conv2_1, conv3_1, conv4_1 and conv5_1, each slice's output kept; the next slice starts with
# an in-place ReLU, which overwrites the kept output of the first four.
AUTHORS_SLICE_ENDS = (1, 6, 11, 20, 29)


def authors_vgg19(features: torch.nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    kept, start = [], 0
    for end in AUTHORS_SLICE_ENDS:
        x = features[start:end](x)
        kept.append(x)
        start = end
    return kept


def paper_vgg19(features: torch.nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """conv1_1 … conv5_1 before their ReLUs (DeepGIN §4.2), copied before any ReLU runs."""
    kept = []
    for index, module in enumerate(features[:29]):
        x = module(x)
        if index in (0, 5, 10, 19, 28):
            kept.append(x.clone())
    return kept


def test_default_loss_preset_is_the_papers():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        default = compose("train", overrides=["model=deepgin"]).model
        paper = compose("train", overrides=["model=deepgin", "model/deepgin_losses=paper"]).model
    assert list(default.perceptual.layers) == [f"conv{i}_1" for i in range(1, 6)]  # §4.2
    assert list(default.perceptual.layer_weights) == [1.0] * 5  # Eqs. (4), (5): plain sums
    assert (default.perceptual.style_distance, default.tv_distance) == ("l1", "l1")  # Eqs. (5), (6)
    assert default == paper


@pytest.mark.parametrize("preset", ["paper", "authors_code", "paper_taps_code_weights"])
def test_loss_presets_match_a_direct_computation(preset):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["model=deepgin", f"model/deepgin_losses={preset}"]).model
    arguments = {**cfg.perceptual, "weights": "random", "input_size": None}
    loss = PerceptualStyleLoss(**arguments)
    reference = vgg19_features("random")  # in-place ReLUs, as torchvision builds them
    reference.load_state_dict(loss.vgg.features.state_dict(), strict=False)
    image, target = torch.rand(2, 3, 40, 40), torch.rand(2, 3, 40, 40)
    normalize = lambda x: (x - loss.vgg.mean) / loss.vgg.std  # noqa: E731
    taps = authors_vgg19 if preset == "authors_code" else paper_vgg19
    with torch.no_grad():
        ours, theirs = taps(reference, normalize(image)), taps(reference, normalize(target))
    distance = {"l1": lambda a, b: (a - b).abs().mean(), "mse": lambda a, b: ((a - b) ** 2).mean()}
    style_distance = distance[cfg.perceptual.style_distance]
    perceptual = sum(w * (a - b).abs().mean() for w, a, b in zip(cfg.perceptual.layer_weights, ours, theirs))
    style = sum(
        w * style_distance(gram_matrix(a), gram_matrix(b))
        for w, a, b in zip(cfg.perceptual.layer_weights, ours, theirs)
    )
    measured = loss([image], target)
    torch.testing.assert_close(measured[0], perceptual)
    torch.testing.assert_close(measured[1], style)
    rows, cols = image[..., 1:, :] - image[..., :-1, :], image[..., :, 1:] - image[..., :, :-1]
    tv = {
        "l1": rows.abs().sum(1).mean() + cols.abs().sum(1).mean(),  # Eq. (6): L1 over each pixel's colours
        "squared": 2 * (rows.pow(2).mean() + cols.pow(2).mean()),  # the authors' TVLoss
    }[cfg.tv_distance]
    torch.testing.assert_close(total_variation(image, cfg.tv_distance), tv)
    if preset == "authors_code":  # their kept conv1_1 … conv4_1 were overwritten by the in-place ReLUs
        assert all((feature >= 0).all() for feature in ours[:4]) and (ours[4] < 0).any()
