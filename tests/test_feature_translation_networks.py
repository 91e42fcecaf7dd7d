"""Feature image translation's networks and losses as the paper describes them (Song et al. 2018, §3.3):
block counts, skip connections, output sizes, the 30×30 PatchGAN, and the weighted hole ℓ1 (eq. 2 / 3)
and training_step's eq. 1–4 against a direct computation. No public code: parameter counts are this suite's (pix2pix widths).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from lightning_modules.common.patchgan import PatchGAN
from lightning_modules.feature_translation.feature2image import Feature2ImageGenerator
from lightning_modules.feature_translation.image2feature import (
    Image2FeatureGenerator,
    embed,
    hole_box,
    hole_l1,
    weighted_hole,
)
from overfitting import fit_repeated

CONF = Path(__file__).resolve().parents[1] / "conf"


def blocks(generator: nn.Module) -> tuple[int, int, int]:
    unet = generator.unet
    return len(unet.encoder), len(unet.decoder), unet.skips


def parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_image2feature_predicts_the_configured_holes_size():
    """§3.3.1: I_1^R has the hole's size; at §4.1's 224/512 hole that is 56² at 128, with no resampling."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=feature_translation", "model.generator.channels=4"])
    size = cfg.model.generator.image_size
    mask = torch.from_numpy(instantiate(cfg.mask.train)(size, size, np.random.default_rng(0)))
    top, bottom, left, right = hole_box(mask)
    generator = instantiate(cfg.model.generator, in_channels=3, out_channels=3, max_channels=8)
    assert generator(torch.zeros(1, 3, size, size)).shape[-2:] == (bottom - top, right - left) == (56, 56)


def test_image2feature_is_8_convolution_and_7_deconvolution_blocks_at_256():
    generator = Image2FeatureGenerator(3, 3, image_size=256, channels=4, max_channels=8)
    assert blocks(generator) == (8, 7, 6)  # §3.3.1; every deconvolution but the output one has a skip
    # 256² incomplete image → the 128² prediction of the 128² centre hole
    assert generator(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 128, 128)
    # the depth follows the size: the multi-scale default trains G_1 at 128 (§4.1)
    assert blocks(Image2FeatureGenerator(3, 3, image_size=128)) == (7, 6, 5)


def test_feature2image_is_7_convolution_and_8_deconvolution_blocks_at_256():
    generator = Feature2ImageGenerator(256, 3, image_size=256, channels=4, max_channels=8)
    assert blocks(generator) == (7, 8, 6)  # §3.3.3: skips on the first six deconvolutions
    assert generator(torch.zeros(1, 256, 64, 64)).shape == (1, 3, 256, 256)  # relu3_1 map → image
    assert blocks(Feature2ImageGenerator(256, 3, image_size=512)) == (8, 9, 7)
    resize = Feature2ImageGenerator(256, 3, image_size=64, channels=4, max_channels=8, upsampling="resize")
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in resize.modules())  # §4.3's ablation
    assert resize(torch.zeros(1, 256, 16, 16)).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="powers of two"):
        Feature2ImageGenerator(256, 3, image_size=96)


def test_parameter_counts_at_the_published_widths():
    # pix2pix widths (64 → 512); the paper gives none, so these are the suite's reference counts
    assert parameters(Image2FeatureGenerator(3, 3, image_size=256)) == 54_163_267
    assert parameters(Image2FeatureGenerator(3, 3, image_size=128)) == 41_577_283
    assert parameters(Feature2ImageGenerator(256, 3, image_size=256)) == 42_106_051
    assert parameters(PatchGAN(6)) == 2_769_601


def test_the_pair_discriminator_gives_30x30_at_256():
    assert PatchGAN(6, channels=4)(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    convolutions = [m for m in PatchGAN(6).modules() if isinstance(m, nn.Conv2d)]
    assert len(convolutions) == 5  # §3.3.1: five convolution blocks, then the sigmoid (in the loss)


def test_weighted_hole_and_its_l1_equal_a_direct_computation():
    mask = torch.zeros(1, 1, 12, 12)
    mask[..., 3:9, 2:10] = 1
    weights = weighted_hole(mask, band=2, weight=10.0)
    for i in range(12):
        for j in range(12):
            if not mask[0, 0, i, j]:
                expected = 0.0
            else:  # 10 where a known pixel lies within 2 (Chebyshev) of it
                near = mask[0, 0, max(i - 2, 0) : i + 3, max(j - 2, 0) : j + 3]
                expected = 10.0 if bool((near == 0).any()) else 1.0
            assert float(weights[0, 0, i, j]) == expected
    # eq. 2 normalized per hole element: a uniform error e scores e · mean(M) over the hole
    output, target = torch.full((1, 3, 12, 12), 0.3), torch.zeros(1, 3, 12, 12)
    l1 = hole_l1(output, target, mask, band=2, weight=10.0)
    torch.testing.assert_close(l1, 0.3 * weights.sum() / mask.sum())


def test_embed_puts_the_prediction_over_each_hole():
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, :, 4:12, 4:12] = 1
    mask[1, :, 0:4, 8:12] = 1
    prediction = torch.rand(2, 3, 8, 8)
    canvas = embed(prediction, mask)
    torch.testing.assert_close(canvas[0, :, 4:12, 4:12], prediction[0])  # the training geometry: as is
    resized = torch.nn.functional.interpolate(prediction[1:], size=(4, 4), mode="bilinear")
    torch.testing.assert_close(canvas[1, :, 0:4, 8:12], resized[0])
    assert float(canvas[0, :, :4].abs().sum()) == 0


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_image2feature_losses_equal_a_direct_computation():
    """eq. 1–4 as training_step logs them, against the paper's formulas on a copy of the weights."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "model=feature_translation",
                "model.generator.image_size=32",
                "model.generator.channels=4",
                "model.generator.max_channels=8",
                "model.discriminator.channels=4",
                "model.vgg_weights=random",
                "model.generator.hole_fraction=0.5",  # this test's 16² hole
            ],
        )
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    image = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    before = copy.deepcopy(model)
    trainer = fit_repeated(model, {"image": image, "mask": mask}, 1)
    logged = trainer.callback_metrics

    incomplete = (image * 2 - 1) * (1 - mask)  # I_0
    with torch.no_grad():
        prediction = before.generator(incomplete)  # 16² for the 16² hole
        coarse = (image * 2 - 1) * (1 - mask)
        coarse[..., 8:24, 8:24] = prediction  # I_1
        # eq. 2: M is 1 in the hole and 10 on its 4-pixel rim
        rim = mask.clone()
        rim[..., 12:20, 12:20] = 0
        weights = mask + 9 * rim
        l1_hole = (weights * (coarse - (image * 2 - 1)).abs()).sum() / (mask.sum() * 3)
        # eq. 3 on relu3_1 (8² here): the hole r is positions 2..5, its rim (1 position) weighs 10
        predicted, expected = before.vgg((coarse + 1) / 2)[0], before.vgg(image)[0]
        hole = torch.zeros(2, 1, 8, 8)
        hole[..., 2:6, 2:6] = 1
        feature_weights = hole * 10
        feature_weights[..., 3:5, 3:5] = 1
        l1_feature = (feature_weights * (predicted - expected).abs()).sum() / (
            hole.sum() * predicted.shape[1]
        )
        # eq. 4, G's side: −log D_1(I_0, I_1) with D_1 as it judged (after its own step)
        judged = torch.sigmoid(model.discriminator(torch.cat([incomplete, coarse], dim=1)))
        g_adv = -judged.log().mean()
    torch.testing.assert_close(logged["train/l1_hole"], l1_hole)
    torch.testing.assert_close(logged["train/l1_feature"], l1_feature)
    torch.testing.assert_close(logged["train/g_adv"], g_adv, rtol=1e-4, atol=1e-5)
    weighted = 1000 * l1_hole + 0.001 * l1_feature + g_adv  # eq. 1
    torch.testing.assert_close(logged["train/g_loss"], weighted, rtol=1e-4, atol=1e-4)
