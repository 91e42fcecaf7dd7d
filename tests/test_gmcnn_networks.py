"""GMCNN's networks and losses: sizes as published, each loss against a direct computation of the official
code's definition (explicit loops over patches for ID-MRF)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from lightning_modules.gmcnn.confidence_driven_loss import (
    autoencoder_loss,
    confidence_driven_loss,
    confidence_weights,
)
from lightning_modules.gmcnn.discriminator import Discriminator, GlobalLocalDiscriminator, hole_patches
from lightning_modules.gmcnn.generator import GMCNNGenerator, reflect_pad
from lightning_modules.gmcnn.id_mrf import IDMRFLoss, mrf_loss


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_has_the_published_12_56m_parameters() -> None:
    count = num_params(GMCNNGenerator(in_channels=4, out_channels=3, cnum=32))
    print(f"GMCNN generator: {count:,} parameters (published 12.56M)")
    assert abs(count - 12.56e6) / 12.56e6 < 0.01


def test_generator_fills_any_multiple_of_4_and_clips_to_minus_1_1() -> None:
    generator = GMCNNGenerator(in_channels=2, out_channels=2, cnum=4)
    with torch.no_grad():
        generator.fuse[1].conv.bias[0] = 5.0  # drives channel 0 far past the clip
    # 36 / 4 px at 1/4 resolution: the 7×7 column's pad of 48 continues the reflection periodically
    output = generator(torch.randn(1, 2, 36, 44))
    assert output.shape == (1, 2, 36, 44)
    assert torch.equal(output[:, 0], torch.ones(1, 36, 44)) and output[:, 1].abs().max() < 1


@pytest.mark.parametrize("pad", [1, 3, 8, 24])
def test_reflect_pad_is_reflection_continued_periodically(pad: int) -> None:
    x = torch.randn(1, 2, 5, 7)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="reflect")
    torch.testing.assert_close(reflect_pad(x, pad), torch.from_numpy(expected))


def test_discriminator_counts_and_clear_error_on_wrong_size() -> None:
    discriminator = GlobalLocalDiscriminator(in_channels=3, cnum=64, image_size=256, local_size=128)
    # 4 SN convs (3-64-128-256-256, 5×5) + SN linear from 16²·256 (global) / 8²·256 (local) features
    assert num_params(discriminator.global_discriminator) == 2_733_441
    assert num_params(discriminator.local_discriminator) == 2_684_289
    with pytest.raises(ValueError, match="model.discriminator.image_size"):
        Discriminator(3, 8, 64)(torch.randn(1, 3, 32, 32))


def test_hole_patches_crop_the_hole_box_resized() -> None:
    image = torch.randn(2, 3, 64, 64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 5:37, 20:52] = 1  # a 32² square: the official crop, exactly
    mask[1, :, 10:20, 3:9] = 1  # any other hole: its box, resized
    mask[1, :, 30, 40] = 1
    patches = hole_patches(image, mask, 32)
    assert torch.equal(patches[0], image[0, :, 5:37, 20:52])
    box = F.interpolate(image[1:, :, 10:31, 3:41], (32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(patches[1:], box)


def official_blur_kernel(size: int = 65, sigma: float = 1 / 40) -> np.ndarray:
    """util/utils.py gauss_kernel, written out: normal-CDF bins, square root of their outer product."""
    interval = (2 * sigma + 1) / size
    bins = np.diff(stats.norm.cdf(np.linspace(-sigma - interval / 2, sigma + interval / 2, size + 1)))
    kernel = np.sqrt(np.outer(bins, bins))
    return kernel / kernel.sum()


def test_confidence_weights_equal_the_official_propagation() -> None:
    mask = torch.zeros(2, 1, 256, 256)
    mask[0, :, 64:192, 64:192] = 1  # the official 128² training hole
    mask[1, :, 100:250, 3:40] = 1
    kernel = torch.from_numpy(official_blur_kernel()).float()[None, None]
    spread = 1 - mask
    for _ in range(7):  # layer.py ConfidenceDrivenMaskLayer: full 65×65 convolution, reflect pad 32
        confidence = F.conv2d(F.pad(spread, (32,) * 4, mode="reflect"), kernel) * mask
        spread = confidence + 1 - mask
    weights = confidence_weights(mask)
    torch.testing.assert_close(weights, confidence, atol=1e-5, rtol=0)
    assert weights[mask == 0].abs().max() == 0
    # confidence falls from the hole's border (0.85) to its centre (0.50)
    row = weights[0, 0, 128, 64:129]
    assert (row.diff() < 0).all() and 0.8 < row[0] < 0.9 and 0.45 < row[-1] < 0.55


def test_reconstruction_losses_equal_the_official_definitions() -> None:
    torch.manual_seed(0)
    output, target = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    mask = (torch.rand(2, 1, 16, 16) < 0.3).float()
    weights = torch.rand(2, 1, 16, 16) * mask
    completed = output * mask + target * (1 - mask)
    # net.py forward_G: nn.L1Loss (mean over all elements) of masked products, / mask ratio
    rec = F.l1_loss(completed * weights, target * weights) / mask.mean()
    ae = F.l1_loss(output * (1 - mask), target * (1 - mask)) / (1 - mask).mean()
    torch.testing.assert_close(confidence_driven_loss(completed, target, mask, weights), rec)
    torch.testing.assert_close(autoencoder_loss(output, target, mask), ae)


def id_mrf_by_loops(generated: np.ndarray, target: np.ndarray, bias: float = 1.0, h: float = 0.5) -> float:
    """loss.py IDMRFLoss.mrf_loss with explicit loops over images, generated patches v and target patches
    s (1×1 patches of C features), float64."""
    total = 0.0
    for gen, tar in zip(generated, target):
        channels = gen.shape[0]
        gen, tar = gen.reshape(channels, -1), tar.reshape(channels, -1)
        centre = tar.mean(axis=0)  # per position, over channels
        gen_patches = [
            (gen[:, v] - centre[v]) / np.linalg.norm(gen[:, v] - centre[v]) for v in range(gen.shape[1])
        ]
        tar_patches = [
            (tar[:, s] - centre[s]) / np.linalg.norm(tar[:, s] - centre[s]) for s in range(tar.shape[1])
        ]
        best = []
        for s in range(len(tar_patches)):
            scores = []
            for g in gen_patches:
                distances = [(1 - float(r @ g)) / 2 for r in tar_patches]
                similarity = [np.exp((bias - d / (min(distances) + 1e-5)) / h) for d in distances]
                scores.append(similarity[s] / sum(similarity))
            best.append(max(scores))
        total += -np.log(np.mean(best))
    return total


def test_id_mrf_equals_a_loop_over_patches() -> None:
    generator = torch.Generator().manual_seed(0)
    generated = torch.rand(2, 6, 4, 5, generator=generator, dtype=torch.float64)
    target = torch.rand(2, 6, 4, 5, generator=generator, dtype=torch.float64)
    expected = id_mrf_by_loops(generated.numpy(), target.numpy())
    assert abs(float(mrf_loss(generated, target)) - expected) < 1e-5
    # float32 as in training
    assert abs(float(mrf_loss(generated.float(), target.float())) - expected) < 1e-5
    assert float(mrf_loss(target, target)) < expected  # a perfect match scores lower


def test_id_mrf_sums_its_layers_on_the_official_vgg_input() -> None:
    loss = IDMRFLoss(weights="random")
    generated, target = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    # layer.py VGG19FeatLayer: the ImageNet mean subtracted, no division by the std
    x = generated - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    direct = {}
    for index, module in enumerate(loss.vgg.features):
        x = direct[index] = module(x)
    features = loss.features(generated)
    for layer, index in zip(loss.vgg.layers, loss.vgg.indices):
        torch.testing.assert_close(features[layer], direct[index], atol=1e-5, rtol=1e-5)
    # loss.py: style (relu3_2 + relu4_2) + content (relu4_2), weights 1
    tar = loss.features(target)
    expected = sum(mrf_loss(features[layer], tar[layer]) for layer in ("relu3_2", "relu4_2", "relu4_2"))
    torch.testing.assert_close(loss(generated, target), expected)
