"""Guided-colorization baselines of EII Table 3: Levin et al., the domain transform and Zhang et al."""

import importlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_modules.colorization.color_conversions import to_gray
from lightning_modules.colorization.guided_colorization.domain_transform import (
    DomainTransformColorization,
)
from lightning_modules.colorization.guided_colorization.levin import (
    LevinColorization,
    levin_solve,
    levin_system,
)
from lightning_modules.colorization.guided_colorization.zhang import ZhangColorization
from lightning_modules.colorization.guided_colorization.zhang_network import SIGGRAPH17Generator
from utils.pretrained import WEIGHTS, MissingWeightsError

REPO = Path(__file__).resolve().parents[1]
LEFT, RIGHT = (0.9, 0.6, 0.2), (0.1, 0.2, 0.6)  # grays 0.646 and 0.214: a clear luminance edge
CLASSICAL = [LevinColorization(), DomainTransformColorization()]


def levin_dense(luma: np.ndarray, chroma: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Levin et al.'s system written pixel by pixel as in their getColorExact.m, solved densely."""
    height, width = luma.shape
    n = height * width
    a, b = np.eye(n), chroma.reshape(n, -1).copy()
    for i in range(height):
        for j in range(width):
            r = i * width + j
            if not unknown[i, j]:
                continue  # identity row: the known value
            b[r] = 0
            window = [(y, x) for y in range(i - 1, i + 2) for x in range(j - 1, j + 2)]
            window = [(y, x) for y, x in window if 0 <= y < height and 0 <= x < width]
            neighbours = [(y, x) for y, x in window if (y, x) != (i, j)]
            values = np.array([luma[p] for p in window])
            d2 = np.array([(luma[p] - luma[i, j]) ** 2 for p in neighbours])
            sigma = max(0.6 * values.var(), d2.min() / math.log(100), 2e-6)
            weights = np.exp(-d2 / sigma)
            for (y, x), w in zip(neighbours, weights / weights.sum()):
                a[r, y * width + x] = -w
    return np.linalg.solve(a, b).reshape(chroma.shape)


def test_levin_sparse_solve_matches_a_dense_solve():
    rng = np.random.default_rng(0)
    luma = rng.random((16, 16)) * 0.3 + np.linspace(0, 0.6, 16)[None]
    luma[:, 9:] += 0.1  # an edge
    chroma = rng.normal(0, 0.2, (16, 16, 2))
    unknown = rng.random((16, 16)) < 0.5
    unknown[3:12, 4:13] = True
    solved = levin_solve(luma, chroma, unknown)
    np.testing.assert_allclose(solved[unknown], levin_dense(luma, chroma, unknown)[unknown], atol=1e-6)
    np.testing.assert_array_equal(solved[~unknown], chroma[~unknown])
    a_uu, a_uk = levin_system(luma, unknown)
    assert a_uu.shape == (unknown.sum(), unknown.sum()) and a_uk.shape == (unknown.sum(), (~unknown).sum())
    np.testing.assert_allclose(a_uu.sum(1).A1 + a_uk.sum(1).A1, 0, atol=1e-12)  # rows: x_r − mean = 0


def two_regions(height: int = 24, width: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two flat colors split at width / 2 by a luminance edge; a 16×16 hole straddles the edge."""
    image = torch.empty(1, 3, height, width)
    image[..., : width // 2] = torch.tensor(LEFT)[:, None, None]
    image[..., width // 2 :] = torch.tensor(RIGHT)[:, None, None]
    mask = torch.zeros(1, 1, height, width)
    mask[..., 4:-4, 8:-8] = 1
    return to_gray(image), image, mask


@pytest.mark.parametrize("colorizer", CLASSICAL, ids=["levin", "dt"])
def test_colors_propagate_along_luminance(colorizer):
    gray, image, mask = two_regions()
    out = colorizer(gray, image, mask)
    known = (mask == 0).expand_as(image)
    assert torch.equal((out * mask + image * (1 - mask))[known], image[known])
    middle = image.shape[-1] // 2
    for side, color in ((out[..., 4:-4, 8:middle], LEFT), (out[..., 4:-4, middle:-8], RIGHT)):
        torch.testing.assert_close(
            side, torch.tensor(color)[:, None, None].expand_as(side), atol=0.01, rtol=0
        )


@pytest.mark.parametrize("colorizer", CLASSICAL, ids=["levin", "dt"])
def test_regions_without_known_pixels_stay_finite(colorizer):
    gray, image, mask = two_regions()
    mask[..., image.shape[-1] // 2 :] = 1  # the whole right region is missing
    out = colorizer(gray, image, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(to_gray(out), gray, atol=1e-5, rtol=0)
    gray_only = colorizer(gray, image, torch.ones_like(mask))  # nothing known at all: a gray image
    torch.testing.assert_close(gray_only, gray.expand_as(image), atol=1e-5, rtol=0)


def test_zhang_network_has_the_released_parameter_count():
    with torch.device("meta"):
        network = SIGGRAPH17Generator()
    assert sum(p.numel() for p in network.parameters()) == pytest.approx(34.19e6, rel=0.01)


def test_zhang_without_weights_raises_naming_the_file(torch_home, no_network):
    with pytest.raises(MissingWeightsError, match="siggraph17-df00044c.pth"):
        ZhangColorization()


def test_zhang_loads_the_cached_file_without_network(torch_home, no_network):
    torch.manual_seed(0)
    state_dict = SIGGRAPH17Generator().state_dict()
    torch.save(state_dict, torch_home / "hub" / "checkpoints" / WEIGHTS["siggraph17"].file_name)
    colorizer = ZhangColorization()
    assert all(torch.equal(colorizer.network.state_dict()[k], v) for k, v in state_dict.items())
    gray, image, mask = (x.expand(2, -1, -1, -1) for x in two_regions())
    out = colorizer(gray, image, mask)
    assert out.shape == (2, 3, 24, 32) and out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(to_gray(out), gray, atol=1e-5, rtol=0)


def test_zhang_rejects_unknown_weights():
    with pytest.raises(ValueError, match="'siggraph17' or 'random'"):
        ZhangColorization("imagenet")


@pytest.mark.parametrize("size", [(13, 22), (8, 8), (17, 9)])
@pytest.mark.parametrize(
    "make",
    [LevinColorization, DomainTransformColorization, lambda: ZhangColorization("random")],
    ids=["levin", "dt", "zhang"],
)
def test_batches_of_any_size(make, size):
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, *size, generator=generator)
    mask = (torch.rand(2, 1, *size, generator=generator) < 0.4).float()
    gray = to_gray(image)
    out = make()(gray, image, mask)
    assert out.shape == image.shape and torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(to_gray(out), gray, atol=1e-5, rtol=0)


def test_opencv_is_imported_only_when_the_domain_transform_is_built():
    code = (
        "import sys, lightning_modules.colorization.guided_colorization.domain_transform as dt\n"
        "assert 'cv2' not in sys.modules, 'imported with the module'\n"
        "dt.DomainTransformColorization()\n"
        "assert 'cv2' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_without_opencv_the_domain_transform_says_what_to_install(monkeypatch):
    def missing(name, *args):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ImportError, match="pip install opencv-contrib-python-headless"):
        DomainTransformColorization()
