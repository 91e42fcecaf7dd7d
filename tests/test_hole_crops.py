"""Photos of any size in bounded memory (lightning_modules/hole_crops.py): what the network is given, and
what is written back."""

import numpy as np
import pytest
import torch

from lightning_modules.colorization.colorizer import Hints
from lightning_modules.hole_crops import HoleRegions, inpaint_in_crops
from utils.box import Box


class Recorder:
    """A stand-in inpainting: fills holes with a fixed color and records what it was given."""

    def __init__(self, color=(0.25, 0.5, 0.75)):
        self.color, self.calls = torch.tensor(color).view(1, 3, 1, 1), []

    def __call__(self, image, mask, hints):
        self.calls.append((tuple(image.shape[-2:]), float(mask.mean()), hints))
        return image * (1 - mask) + self.color * mask


def photo(height, width, holes):
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, height, width)
    for top, left, bottom, right in holes:
        mask[..., top:bottom, left:right] = 1
    return image, mask


def test_a_photo_within_max_side_is_inpainted_whole():
    image, mask = photo(300, 500, [(10, 10, 50, 60)])
    recorder = Recorder()
    result = inpaint_in_crops(recorder, image, mask, max_side=512)
    assert [call[0] for call in recorder.calls] == [(300, 500)]
    assert torch.equal(result, recorder(image, mask, None))


@pytest.mark.parametrize("max_side", [64, 128])
def test_large_photo_network_never_sees_more_than_max_side(max_side):
    # a large hole, a small one far from it, and two small ones close together
    holes = [(300, 400, 700, 900), (50, 50, 60, 70), (1100, 1600, 1110, 1610), (1100, 1630, 1115, 1640)]
    image, mask = photo(1200, 1800, holes)
    recorder = Recorder()
    result = inpaint_in_crops(recorder, image, mask, max_side=max_side)
    assert len(recorder.calls) == 3  # the two close holes are one region
    assert all(max(size) <= max_side for size, _, _ in recorder.calls)
    known = mask.expand_as(image) == 0
    assert torch.equal(result[known], image[known])  # bit-exact
    # every hole pixel is written from a fill: deep inside a hole it is the fill's color exactly
    for top, left, bottom, right in holes[:1]:
        inner = result[..., top + 40 : bottom - 40, left + 40 : right - 40]
        assert torch.allclose(inner, recorder.color.expand_as(inner))
    assert result.isfinite().all()


def test_small_holes_get_full_resolution_context():
    image, mask = photo(2000, 3000, [(1000, 1500, 1010, 1520)])
    recorder = Recorder()
    inpaint_in_crops(recorder, image, mask, max_side=512)
    # a 10×20 hole: a crop of max_side per axis around it, at full resolution
    assert [call[0] for call in recorder.calls] == [(512, 512)]
    assert recorder.calls[0][1] == pytest.approx(200 / 512**2)


def test_crop_box_grows_inside_the_image():
    assert Box(3990, 5990, 4000, 6000).grown(128, 512, 4000, 6000) == Box(3488, 5488, 4000, 6000)
    assert Box(0, 0, 10, 10).grown(128, 512, 4000, 6000) == Box(0, 0, 512, 512)
    assert Box(100, 100, 200, 200).grown(50, 512, 300, 6000) == Box(0, 0, 300, 512)


def test_regions_cover_every_hole_pixel_once():
    rng = np.random.default_rng(0)
    hole = rng.random((300, 400)) < 0.01  # hundreds of specks
    hole[100:150, 200:260] = True
    regions = HoleRegions(hole, gap=32)
    owned = np.zeros(hole.shape, dtype=int)
    for index, box in enumerate(regions.boxes, start=1):
        owned[box.slices()] += regions.own(index, box)
    assert np.array_equal(owned, hole.astype(int))


def test_one_pixel_hint_survives_downscaling():
    image, mask = photo(1000, 1000, [(400, 400, 600, 600)])
    colors, hint_mask = torch.zeros_like(image), torch.zeros_like(mask)
    colors[..., 500, 500], hint_mask[..., 500, 500] = torch.tensor([0.0, 1.0, 0.0]).view(1, 3), 1
    recorder = Recorder()
    inpaint_in_crops(recorder, image, mask, Hints(colors, hint_mask), max_side=128)
    ((size, _, hints),) = recorder.calls
    assert size[0] < 1000 and hints.mask.sum() == 1
    assert torch.allclose(hints.colors[hints.mask.expand_as(hints.colors) > 0], torch.tensor([0.0, 1.0, 0.0]))
