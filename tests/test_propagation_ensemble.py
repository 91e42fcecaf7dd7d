"""colorization=propagation_ensemble (this suite's addition to EII Table 3): the nonlocal pull restores a
colour that no border carries, the held-out regions are the hole's shape in the known area, and the
selection takes the global map on a flat palette and local propagation where colour follows position."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from datamodules.datasets.synthetic import SyntheticTextures
from lightning_modules.colorization.color_conversions import rgb_to_yiq, to_gray, yiq_to_rgb
from lightning_modules.colorization.colorizer import Hints
from lightning_modules.colorization.guided_colorization.held_out_selection import (
    MARGIN,
    HeldOutSelection,
    held_out_regions,
)
from lightning_modules.colorization.guided_colorization.levin import levin_solve
from lightning_modules.colorization.guided_colorization.matting_laplacian import matting_solve
from lightning_modules.colorization.guided_colorization.nonlocal_propagation import NonlocalPropagation
from lightning_modules.monochromic_bottleneck import make_bottleneck
from test_progressive_colorization import hint_scene
from utils.resolvers import REPO_ROOT

PINK, GREEN = (0.9, 0.5, 0.6), (0.2, 0.45, 0.25)  # different grays, different chroma


def flat_palette(size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """A green image with two pink squares, the second wholly inside the hole (its border green)."""
    image = torch.tensor(GREEN).view(1, 3, 1, 1).repeat(1, 1, size, size)
    image[..., 4:12, 4:12] = torch.tensor(PINK).view(1, 3, 1, 1)
    image[..., 30:38, 30:38] = torch.tensor(PINK).view(1, 3, 1, 1)
    mask = torch.zeros(1, 1, size, size)
    mask[..., 26:42, 26:42] = 1
    return image, mask


def hole_error(colors: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> float:
    return float(((colors - image).abs() * mask).amax())


def as_arrays(image: torch.Tensor, mask: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yiq = rgb_to_yiq(image.double())[0]
    return yiq[0].numpy(), yiq[1:].permute(1, 2, 0).numpy(), mask[0, 0].numpy() < 0.5


def test_the_global_pull_restores_a_colour_no_border_carries_where_local_propagation_cannot():
    image, mask = flat_palette()
    gray = rgb_to_yiq(image)[:, :1]
    global_map = NonlocalPropagation(local="matting", weight=1.0, position_scale=1.0)
    assert hole_error(global_map(gray, image, mask), image, mask) < 0.02
    levin = NonlocalPropagation(local="levin", weight=0.0)
    assert hole_error(levin(gray, image, mask), image, mask) > 0.3  # the pink square turns green-ish


@pytest.mark.parametrize("local", ["levin", "matting"])
def test_without_the_pull_it_is_the_local_propagation(local):
    rng = np.random.default_rng(0)
    luma, chroma = rng.random((20, 24)), rng.random((20, 24, 2)) - 0.5
    known = np.ones((20, 24), dtype=bool)
    known[5:14, 6:17] = False
    filled = NonlocalPropagation(local=local, weight=0.0).propagate(luma, chroma, known)
    expected = (
        levin_solve(luma, chroma, ~known) if local == "levin" else matting_solve(luma, chroma, ~known, 1e-5)
    )
    np.testing.assert_allclose(filled, expected, atol=1e-6)


def test_held_out_regions_are_the_hole_moved_into_the_known_area():
    hole = np.zeros((64, 64), dtype=bool)
    hole[20:36, 10:30] = True
    regions = held_out_regions(hole, 3, seed=0)
    assert len(regions) == 3
    near = np.zeros_like(hole)
    near[20 - MARGIN : 36 + MARGIN, 10 - MARGIN : 30 + MARGIN] = True
    for region in regions:
        assert not (region & near).any()
        assert region.sum() >= 0.6 * hole.sum()
        rows, cols = np.nonzero(region)  # a translate of the 16×20 rectangle, clipped
        assert rows.max() - rows.min() < 16 and cols.max() - cols.min() < 20
    again = held_out_regions(hole, 3, seed=0)
    assert all((a == b).all() for a, b in zip(regions, again, strict=True))
    assert held_out_regions(np.ones((64, 64), dtype=bool), 3, seed=0) == []  # nothing known to hide


def ensemble() -> HeldOutSelection:
    with initialize_config_dir(str(REPO_ROOT / "conf" / "colorization"), version_base="1.3"):
        return instantiate(compose("propagation_ensemble"))


def test_the_selection_takes_the_global_map_on_a_flat_palette_and_local_propagation_on_a_gradient():
    colorizer = ensemble()
    image, mask = flat_palette()
    assert hole_error(colorizer(rgb_to_yiq(image)[:, :1], image, mask), image, mask) < 0.02
    assert colorizer.last_choice == "global"
    # colour that follows position on a textured gray: no gray appearance predicts it, its surroundings do
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    gray = (0.4 + 0.2 * torch.rand(48, 48, generator=torch.Generator().manual_seed(0)))[None, None]
    chroma = torch.stack([0.25 * (x - 0.5), 0.15 * (y - 0.5)])[None]
    image = yiq_to_rgb(gray, chroma)
    mask = torch.zeros_like(gray)
    mask[..., 18:30, 16:28] = 1
    colors = colorizer(gray, image, mask)
    assert colorizer.last_choice == "local"
    assert hole_error(colors, image, mask) < 0.03


def test_colorization_propagation_ensemble_restores_the_monochromic_bottleneck():
    with initialize_config_dir(str(REPO_ROOT / "conf"), version_base="1.3"):
        config = compose("evaluate", overrides=["colorization=propagation_ensemble"])
    bottleneck = make_bottleneck("mono", config.colorization)
    image, mask = flat_palette()
    colors = bottleneck.restore(bottleneck.target(image), image, mask)  # a perfect gray completion
    assert hole_error(colors, image, mask) < 0.02


def test_a_hole_too_large_to_move_is_held_out_shrunk():
    hole = np.zeros((64, 64), dtype=bool)
    hole[16:48, 16:48] = True  # half the side, centred: no full-size copy fits beside it
    regions = held_out_regions(hole, 2, seed=0)
    assert len(regions) == 2
    for region in regions:
        assert not (region & hole).any() and region.sum() >= 0.6 * 16 * 16


def test_with_nothing_missing_the_image_comes_back():
    image = SyntheticTextures(size=48).split("test").load(0)[None]
    colors = ensemble()(to_gray(image), image, torch.zeros_like(image[:, :1]))
    assert -10 * torch.log10(((colors - image) ** 2).mean()) > 35


def test_a_one_pixel_hint_sets_its_colour_in_the_hole():
    """EII §4.5's user hint: a green asked for at the centre of a red disc of the same gray inside the hole
    (tests/test_progressive_colorization.py's scene); hints are known pixels to a guided colorization."""
    image, mask, hint, hint_mask, green = hint_scene()
    output = ensemble()(to_gray(image), image, mask, Hints(hint, hint_mask))
    assert (output[0, :, 16, 16] - green).abs().max() < 0.05
    assert (output[1, :, 16, 16] - green).abs().max() > 0.2  # without the hint nothing says green
