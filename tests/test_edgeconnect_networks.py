"""EdgeConnect networks, edges and losses: sizes as the official code, Canny edges as kornia's, losses equal
to a direct computation from the official formulas (knazeri/edge-connect src/networks.py, src/loss.py,
src/models.py)."""

from __future__ import annotations

import copy

import kornia
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.edgeconnect.canny_edges import canny_edges, edge_gray, known_region_edges
from lightning_modules.edgeconnect.discriminator import PatchGANDiscriminator
from lightning_modules.edgeconnect.generators import EdgeGenerator, InpaintGenerator
from lightning_modules.edgeconnect.losses import (
    PerceptualStyleLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    inpainting_l1,
)


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("edge_generator", 10.76e6),
        ("inpaint_generator", 10.77e6),
        ("edge_discriminator", 2.76e6),
        ("discriminator", 2.76e6),
    ],
)
def test_parameter_counts_match_the_official_networks(name: str, published: float) -> None:
    # Published widths, RGB: G1 [gray, edges, mask] -> edges, G2 [RGB, edges] -> RGB, D1 (gray, edges), D2 RGB.
    network = {
        "edge_generator": lambda: EdgeGenerator(3, 1),
        "inpaint_generator": lambda: InpaintGenerator(4, 3),
        "edge_discriminator": lambda: PatchGANDiscriminator(2),
        "discriminator": lambda: PatchGANDiscriminator(3),
    }[name]()
    count = num_params(network)
    print(f"{name}: {count:,} parameters (official {published / 1e6:.2f}M)")
    assert abs(count - published) / published < 0.01


def test_spectral_norm_on_the_edge_generator_and_discriminator_only() -> None:
    def normalized(module: nn.Module) -> list[bool]:
        convs = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        return [hasattr(conv, "parametrizations") for conv in convs]

    edge = normalized(EdgeGenerator(cnum=8, residual_blocks=2))
    assert all(edge[:-1]) and not edge[-1]  # every conv but the 7×7 output conv, as the official G1
    assert not any(normalized(InpaintGenerator(cnum=8, residual_blocks=2)))
    assert all(normalized(PatchGANDiscriminator(3, cnum=8)))


def test_outputs_are_an_edge_map_and_an_image_in_unit_range() -> None:
    torch.manual_seed(0)
    edges = EdgeGenerator(cnum=8, residual_blocks=2)(torch.randn(2, 3, 32, 48))
    image = InpaintGenerator(5, 1, cnum=8, residual_blocks=2)(torch.randn(2, 5, 32, 48))
    assert edges.shape == (2, 1, 32, 48) and image.shape == (2, 1, 32, 48)
    for output in (edges, image):
        assert output.min() >= 0 and output.max() <= 1
    logits, features = PatchGANDiscriminator(2, cnum=8)(torch.randn(2, 2, 64, 64))
    assert logits.shape == (2, 1, 6, 6) and len(features) == 5 and features[-1] is logits  # 70×70 patches


# --- Canny edges ---------------------------------------------------------------------------------------


def test_canny_edges_are_kornias_with_sigma_2_and_skimages_thresholds() -> None:
    gen = torch.Generator().manual_seed(0)
    image = F.interpolate(torch.rand(2, 3, 8, 8, generator=gen), size=(40, 40), mode="bilinear")
    gray = edge_gray(image)
    torch.testing.assert_close(gray, 0.2125 * image[:, :1] + 0.7154 * image[:, 1:2] + 0.0721 * image[:, 2:])
    _, expected = kornia.filters.canny(gray, 0.1, 0.2, kernel_size=(17, 17), sigma=(2.0, 2.0))
    edges = canny_edges(gray)
    assert edges.sum() > 20  # the fixture has edges to find
    torch.testing.assert_close(edges, expected)


def test_canny_finds_a_straight_step_where_it_is() -> None:
    gray = torch.zeros(1, 1, 32, 32)
    gray[..., :, 20:] = 1.0  # a vertical step between columns 19 and 20
    edges = canny_edges(gray)[0, 0]
    columns = edges.nonzero()[:, 1].unique()
    assert columns.tolist() in ([19], [20])  # one column, beside the step
    assert edges[:, columns[0]].sum() >= 28  # along (nearly) the whole height

    dim = torch.full((1, 1, 32, 32), 0.5)
    dim[..., :, 20:] = 0.52  # a step too weak for the high threshold: no edge
    assert canny_edges(dim).sum() == 0


def test_known_region_edges_ignore_the_hole() -> None:
    gray = torch.zeros(1, 1, 48, 48)
    gray[..., :, 24:] = 1.0
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., 16:32, 8:40] = 1
    other = gray * (1 - mask) + torch.rand(1, 1, 48, 48) * mask  # anything in the hole
    edges = known_region_edges(gray, mask)
    torch.testing.assert_close(known_region_edges(other, mask), edges)
    assert (edges * mask).sum() == 0
    # The step's edge is kept away from the hole (next to it, the hole's smooth fill weakens the step), and
    # no edge traces the hole's outline: every edge lies on the step. The step lies between two columns,
    # so which of them carries its edge is a rounding tie that differs between CPUs: compared per row.
    away = 1 - F.max_pool2d(mask, 9, stride=1, padding=4)
    torch.testing.assert_close((edges * away).sum(-1), (canny_edges(gray) * away).sum(-1))
    assert set(edges[0, 0].nonzero()[:, 1].tolist()) <= {23, 24}


# --- losses ---------------------------------------------------------------------------------------------


def test_adversarial_and_feature_matching_losses_equal_the_official_formulas() -> None:
    real, fake = torch.tensor([2.0, -0.5]), torch.tensor([-1.0, 0.3])
    bce = nn.BCELoss()  # the official nsgan: a sigmoid D and BCELoss
    expected_d = (bce(torch.sigmoid(real), torch.ones(2)) + bce(torch.sigmoid(fake), torch.zeros(2))) / 2
    torch.testing.assert_close(discriminator_loss(real, fake), expected_d)
    torch.testing.assert_close(generator_adversarial_loss(fake), bce(torch.sigmoid(fake), torch.ones(2)))
    torch.testing.assert_close(
        discriminator_loss(real, fake, "hinge"), (F.relu(1 - real).mean() + F.relu(1 + fake).mean()) / 2
    )

    fake_features = [torch.ones(1, 2, 3, 3), torch.zeros(1, 1, 2, 2)]
    real_features = [torch.zeros(1, 2, 3, 3), torch.full((1, 1, 2, 2), 3.0)]
    torch.testing.assert_close(feature_matching_loss(fake_features, real_features), torch.tensor(4.0))


def test_l1_is_divided_by_the_mean_mask() -> None:
    output, target = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1  # half the image
    torch.testing.assert_close(inpainting_l1(output, target, mask), torch.tensor(2.0))


def test_perceptual_and_style_losses_and_gradients_equal_a_direct_vgg19_computation() -> None:
    torch.manual_seed(0)
    loss = PerceptualStyleLoss(weights="random")
    # an out-of-place copy: the loss runs its ReLUs in place and splits the batch after relu5_1
    features = copy.deepcopy(loss.vgg.features)
    for module in features:
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    # The official VGG19 slices (loss.py): relu1_1 = features[:2], relu2_1 [:7], relu3_1 [:12], relu4_1 [:21],
    # relu5_1 [:30]; relu2_2 [:9], relu3_4 [:18], relu4_4 [:27], relu5_2 [:32]; images fed unnormalized.
    perceptual_ends, style_ends = (2, 7, 12, 21, 30), (9, 18, 27, 32)
    output, target = torch.rand(2, 3, 32, 32, requires_grad=True), torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 4:20] = 1

    def gram(x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        f = x.reshape(b, c, h * w)
        return f @ f.transpose(1, 2) / (c * h * w)

    perceptual = sum(F.l1_loss(features[:end](output), features[:end](target)) for end in perceptual_ends)
    style = sum(
        F.l1_loss(gram(features[:end](output * mask)), gram(features[:end](target * mask)))
        for end in style_ends
    )
    expected_grad = torch.autograd.grad(perceptual + 250 * style, output)[0]
    got = loss(output, target, mask)
    torch.testing.assert_close(got[0], perceptual, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got[1], style, rtol=1e-4, atol=1e-9)
    torch.testing.assert_close(torch.autograd.grad(got[0] + 250 * got[1], output)[0], expected_grad)
