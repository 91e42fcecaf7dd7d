"""Block-wise procedural training's networks: growth keeps the output, and the hole-aware labels of the
multi-scale patch adversarial loss are the discriminator outputs whose receptive fields reach the hole."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from lightning_modules.blockwise.discriminator import MultiScalePatchDiscriminator
from lightning_modules.blockwise.generator import CONVOLUTIONS, BlockwiseGenerator, ResidualBlock
from lightning_modules.blockwise.module import BlockwiseInpainting
from lightning_modules.blockwise.patch_labels import conv_geometry
from lightning_modules.blockwise.schedule import ProceduralSchedule
from test_configs import TINY_MODELS

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize("convolution", CONVOLUTIONS)
def test_adding_a_block_leaves_the_output_unchanged(convolution):
    torch.manual_seed(0)
    generator = BlockwiseGenerator(channels=(8, 16, 32), convolution=convolution).eval()
    x = torch.randn(2, 4, 32, 32)
    with torch.no_grad():
        for block in generator.grown_blocks:  # trained-looking blocks: not the identity
            for parameter in block.parameters():
                parameter.add_(torch.randn_like(parameter))
        for blocks in range(1, 4):
            generator.grow(blocks - 1, 1.0)
            before = generator(x)
            generator.grow(blocks, 0.0)  # skip path 1, the new block's path 0
            assert torch.allclose(generator(x), before, atol=1e-6)
            generator.grow(blocks, 0.5)
            assert (generator(x) - before).abs().max() > 1e-3  # and the block does act once faded in


def test_every_convolution_of_a_residual_block_is_followed_by_bn_and_relu():
    """§3.1: "Each convolutional layer is followed by batch normalization (BN) and ReLu": the block adds a
    non-negative residual to its input."""
    torch.manual_seed(0)
    block = ResidualBlock(8, dilation=2)
    x = torch.randn(2, 8, 16, 16)
    residual = block(x) - x
    assert residual.min() >= -1e-6 and residual.max() > 0


@pytest.mark.parametrize("convolution", ["interpolated", "dilated_interpolated"])
def test_interpolated_convolutions_convolve_before_resampling(convolution):
    """§3.1: "a dimension-preserving convolution layer of stride 1, followed by max pooling or bilinear
    up-sampling": every convolution of the front and back ends sees the resolution it keeps."""
    generator = BlockwiseGenerator(channels=(8, 16, 32), grown_blocks=0, convolution=convolution)
    seen = []
    for end in (generator.front_end, generator.back_end):
        for module in end:
            if isinstance(module, torch.nn.Conv2d):
                module.register_forward_hook(
                    lambda m, args, out: seen.append((args[0].shape[-1], out.shape[-1]))
                )
    generator(torch.randn(1, 4, 32, 32))
    # front end at 32, 16, 8; back end at 4, 8, 16 (the up-sampling after each)
    assert seen == [(32, 32), (16, 16), (8, 8), (4, 4), (8, 8), (16, 16)]


def test_growth_state_travels_in_the_state_dict():
    generator = BlockwiseGenerator(channels=(8, 16, 32))
    generator.grow(2, 0.25)
    restored = BlockwiseGenerator(channels=(8, 16, 32))
    restored.load_state_dict(generator.state_dict())
    assert int(restored.active_blocks) == 2 and float(restored.fade) == 0.25


def receptive_field(index: int, geometry) -> tuple[int, int]:
    """First and last input position seen by output `index`, layer by layer back to the input."""
    first, last = index, index
    for kernel, stride, padding, dilation in reversed(geometry):
        first, last = first * stride - padding, last * stride - padding + dilation * (kernel - 1)
    return first, last


@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_fake_labels_equal_a_direct_receptive_field_computation(size):
    discriminator = MultiScalePatchDiscriminator(in_channels=7, channels=4)
    mask = torch.zeros(1, 1, *size)
    mask[..., 20:23, 50 % size[1] : 50 % size[1] + 4] = 1  # a small hole: most patches stay real
    labels = discriminator.fake_labels(mask)
    outputs = discriminator(torch.randn(1, 7, *size))
    pooling = conv_geometry(discriminator.downsample)
    for scale, (label, output) in enumerate(zip(labels, outputs)):
        assert label.shape == output.shape  # one label per discriminator output, at every scale
        geometry = pooling * scale + conv_geometry(discriminator.scales[scale])
        expected = torch.zeros_like(label)
        for i in range(label.shape[-2]):
            top, bottom = receptive_field(i, geometry)
            for j in range(label.shape[-1]):
                left, right = receptive_field(j, geometry)
                window = mask[..., max(top, 0) : bottom + 1, max(left, 0) : right + 1]
                expected[..., i, j] = float(window.numel() > 0 and bool(window.any()))
        assert torch.equal(label, expected), scale
    assert 0 < float(labels[0].mean()) < 1  # at full scale some patches are fake, some real


def test_patches_that_do_not_see_the_hole_give_the_generator_no_gradient():
    """§3.2: only the patches overlapping the hole are fake. Through D's batch norm (training mode) a real
    patch's logit still depends on the hole, so G's term is weighted by the labels Q: the restored image's
    gradient is that of the fake patches' terms alone."""
    torch.manual_seed(0)
    discriminator = MultiScalePatchDiscriminator(in_channels=7, channels=8).train()
    mask = torch.zeros(2, 1, 128, 128)
    mask[..., 4:12, 4:12] = 1
    fakes = discriminator.fake_labels(mask)
    restored = torch.randn(2, 3, 128, 128, requires_grad=True)
    judged = discriminator(torch.cat([torch.randn(2, 4, 128, 128), restored], dim=1))
    for logits in judged:
        logits.retain_grad()
    BlockwiseInpainting.generator_adversarial(judged, fakes).backward()
    assert all(0 < float(q.mean()) < 1 for q in fakes[:2])  # real patches at the finer scales
    for logits, q in zip(judged, fakes):
        assert torch.all(logits.grad[q == 0] == 0) and torch.all(logits.grad[q == 1] != 0)


@pytest.mark.parametrize("rows", [8, 24])
def test_the_l2_ablation_is_the_mean_over_the_hole(rows):
    """§4.3 trains "the same network and only using different reconstruction loss": ℓ2 on the hole, whose
    size does not change the loss."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["experiment=blockwise", "+model/blockwise_variant=l2", *TINY_MODELS["blockwise"]],
        )
    model = instantiate(cfg.model)
    target = torch.zeros(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., :rows, :16] = 1
    restored = target + 0.5 * mask  # wrong by 0.5 in the hole, the known pixels elsewhere
    assert float(model.reconstruction_loss(restored, target, mask)) == pytest.approx(0.25)


def test_algorithm_1_schedule():
    schedule = ProceduralSchedule(head_iterations=100, block_iterations=10, fade_iterations=5)
    head = schedule.phase(0)
    assert (head.blocks, head.fade, head.lr, head.adversarial_weight) == (0, 1.0, 2e-4, 1.0)
    assert schedule.phase(50).lr < 2e-4 and schedule.phase(99).blocks == 0
    first = schedule.phase(100)  # r1 just added: its path weight 0, lr and λ_adv × 0.1
    assert (first.blocks, first.fade) == (1, 0.0)
    assert first.lr == pytest.approx(2e-5) and first.adversarial_weight == pytest.approx(0.1)
    assert schedule.phase(102).fade == pytest.approx(0.4) and schedule.phase(107).fade == 1.0
    third = schedule.phase(125)
    assert (
        third.blocks == 3
        and third.lr == pytest.approx(2e-7)
        and third.adversarial_weight == pytest.approx(1e-3)
    )
    assert schedule.phase(10_000).blocks == 3 and schedule.phase(10_000).fade == 1.0
    assert ProceduralSchedule(annealing=False).phase(151_000).adversarial_weight == 1.0
