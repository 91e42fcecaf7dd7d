"""DeepGIN inference at any size (§6.1): polyphase sub-images of about 256², inpainted and interleaved
back, with the authors' optional rotation / flip self-ensemble; predict.py on a 1024×1536 photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from checkpoints import SINGLE_THREAD, tiny_deepgin_checkpoint
from datamodules.transforms import polyphase_merge, polyphase_split
from lightning_modules.base import load_inpainting_module
from lightning_modules.deepgin.generator import init_weights
from lightning_modules.deepgin.module import DeepGINInpainting
from suite_cli import run

CONF = Path(__file__).resolve().parents[1] / "conf"


def deepgin(*overrides: str) -> DeepGINInpainting:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["model=deepgin", "model.generator.width=4", *overrides])
    torch.manual_seed(0)
    model = instantiate(cfg.model).eval()
    init_weights(model.generator, scale=0.5)  # outputs that vary (the 0.1-scaled init starts almost flat)
    return model


def inputs(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, height, width, generator=generator)
    mask = (torch.rand(1, 1, height, width, generator=generator) < 0.3).float()
    return image, mask


def test_large_images_run_as_interleaved_polyphase_sub_images():
    model = deepgin("model.sub_image_size=32", "model.inference_batch_size=4")
    image, mask = inputs(64, 96)
    assert model.polyphase_factors(64, 96) == (2, 3)
    output = model.predict_output(image, mask)
    assert output.shape == (1, 3, 64, 96)
    with torch.no_grad():
        for i in range(2):
            for j in range(3):
                phase = model(image[..., i::2, j::3], mask[..., i::2, j::3]).clamp(0, 1)
                assert torch.allclose(output[..., i::2, j::3], phase, atol=1e-5), (i, j)
    # The sub-image side is the nearest split to sub_image_size, whatever the image size.
    assert model.polyphase_factors(1024, 1536) == (32, 48)
    assert deepgin().polyphase_factors(1024, 1536) == (4, 6)
    assert deepgin().polyphase_factors(300, 100) == (1, 1)
    assert deepgin("model.sub_image_size=null").polyphase_factors(1024, 1536) == (1, 1)


def test_self_ensemble_averages_the_undone_rotations_and_flip():
    model = deepgin("model.self_ensemble=true")
    image, mask = inputs(32, 48)
    dims = (-2, -1)
    with torch.no_grad():
        expected = [
            torch.rot90(model(torch.rot90(image, k, dims), torch.rot90(mask, k, dims)).clamp(0, 1), -k, dims)
            for k in range(4)
        ]
        expected.append(model(image.flip(-1), mask.flip(-1)).clamp(0, 1).flip(-1))
    output = model.predict_output(image, mask)
    assert torch.allclose(output, torch.stack(expected).mean(0), atol=1e-5)
    assert not torch.allclose(output, expected[0], atol=1e-3)  # the views do differ


def test_odd_sizes_keep_the_known_pixels():
    model = deepgin()
    image, mask = inputs(50, 70)  # neither a multiple of 16 nor of the sub-images
    result = model.inpaint(image, mask)
    assert result.shape == image.shape
    assert torch.equal(result * (1 - mask), image * (1 - mask))


def photo(height: int, width: int) -> np.ndarray:
    """A smooth colour field with some texture, as 8-bit RGB."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    noise = np.random.default_rng(0).normal(0, 0.05, (height, width, 3))
    rgb = np.stack(
        [0.5 + 0.4 * np.sin(6 * x), 0.5 + 0.4 * np.cos(5 * y), 0.5 + 0.3 * np.sin(4 * (x + y))], -1
    )
    return (np.clip(rgb + noise, 0, 1) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_deepgin_checkpoint(tmp_path_factory)


@pytest.mark.slow  # a 1024×1536 photo through crops
def test_predict_a_1024_by_1536_photo(checkpoint, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rgb = photo(1024, 1536)
    Image.fromarray(rgb).save(photos / "street.png")
    hole = np.zeros((1024, 1536), dtype=bool)
    hole[300:700, 500:1100] = True  # a large box
    hole[::97, :] = True  # and thin lines across the whole image
    Image.fromarray(hole.astype(np.uint8) * 255).save(photos / "street_mask.png")

    result = run(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"input_dir={photos}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "max_side=null",  # the whole photo at once: DeepGIN's own polyphase inference (§6.1), not crops
        "model_overrides={inference_batch_size:24}",  # all 4×6 sub-images in one pass
        env=SINGLE_THREAD,
    )
    assert "inpainted street.png (1536×1024" in result.stdout + result.stderr
    output = np.asarray(Image.open(tmp_path / "run" / "predictions" / "street.png").convert("RGB"))
    assert output.shape == rgb.shape
    assert np.array_equal(output[~hole], rgb[~hole])  # known pixels unchanged, exactly
    assert np.abs(output[hole].astype(int) - rgb[hole]).mean() > 0  # the holes were filled anew


def test_inference_options_change_at_load_time(checkpoint):
    """evaluate.py / predict.py model_overrides={...}: e.g. the self-ensemble for a model trained without."""
    plain = load_inpainting_module(checkpoint)
    ensemble = load_inpainting_module(checkpoint, self_ensemble=True)
    assert not plain.hparams.self_ensemble and ensemble.hparams.self_ensemble
    image, mask = inputs(32, 48)
    assert torch.equal(
        ensemble.generator.state_dict()["coarse.layers.0.weight"],
        plain.generator.state_dict()["coarse.layers.0.weight"],
    )
    assert not torch.allclose(ensemble.predict_output(image, mask), plain.predict_output(image, mask))


def test_authors_test_time_steps_are_options_and_keep_known_pixels_exact():
    """resize_to_sub_images and smooth_output (the authors' test_ensemble.py): off, the output is §6.1's
    polyphase inference unchanged; on, it changes, and the composite keeps every known pixel exact."""
    image, mask = inputs(70, 100)  # not whole 32² sub-images: 2 × 3 polyphase phases of 35 × 33/34
    plain = deepgin("model.sub_image_size=32")
    off = deepgin("model.sub_image_size=32", "model.resize_to_sub_images=false", "model.smooth_output=false")
    factors = plain.polyphase_factors(70, 100)
    split, masks = polyphase_split(image, factors), polyphase_split(mask, factors)
    by_hand = polyphase_merge(
        super(DeepGINInpainting, plain).predict_output(split, masks), factors, (70, 100)
    )
    assert torch.equal(off.predict_output(image, mask), by_hand)
    known = mask.expand_as(image) == 0
    for option in ("resize_to_sub_images", "smooth_output"):
        model = deepgin("model.sub_image_size=32", f"model.{option}=true")
        output = model.predict_output(image, mask)
        assert output.shape == image.shape and not torch.allclose(output, by_hand)
        assert torch.equal(model.inpaint(image, mask)[known], image[known])
