"""Style transfer with a trained Feature2Image network (Song et al. 2018, §4.3, Fig. 10): the style swap
against a direct per-window loop, and predict.py's style= mode end to end with a tiny random checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from checkpoints import tiny_gatedconv_checkpoint
from datamodules.image_io import read_image
from lightning_modules.base import load_inpainting_module
from lightning_modules.feature_translation.multiscale_inference import MultiScaleFeatureTranslation
from lightning_modules.feature_translation.patch_swap import style_swap
from lightning_modules.feature_translation.style_transfer import transfer_style
from suite_cli import predict
from test_feature_translation_inference import stage


def direct_style_swap(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Chen & Schmidt's style swap written out: each 3×3 window of the content takes the style window of
    highest ⟨q, p⟩ / (‖q‖ ‖p‖); the winners pasted in place and averaged where they overlap."""
    out = torch.zeros_like(content)
    for b in range(content.shape[0]):
        c, s = content[b], style[b if len(style) > 1 else 0]
        _, height, width = c.shape
        candidates = [
            s[:, i : i + 3, j : j + 3] for i in range(s.shape[1] - 2) for j in range(s.shape[2] - 2)
        ]
        total, count = torch.zeros_like(c), torch.zeros(height, width)
        for i in range(height - 2):
            for j in range(width - 2):
                q = c[:, i : i + 3, j : j + 3]
                scores = [float((q * p).sum() / (q.norm() * p.norm())) for p in candidates]
                total[:, i : i + 3, j : j + 3] += candidates[max(range(len(scores)), key=scores.__getitem__)]
                count[i : i + 3, j : j + 3] += 1
        out[b] = total / count
    return out


@pytest.mark.parametrize(
    ("channels", "content_size", "style_size", "style_batch"),
    [(4, (5, 7), (6, 6), 2), (8, (9, 6), (4, 11), 1), (6, (8, 8), (12, 9), 2)],
)
def test_style_swap_equals_the_direct_loop(channels, content_size, style_size, style_batch):
    generator = torch.Generator().manual_seed(0)
    content = torch.randn(2, channels, *content_size, generator=generator)
    style = torch.randn(style_batch, channels, *style_size, generator=generator)
    expected = direct_style_swap(content, style)
    torch.testing.assert_close(style_swap(content, style), expected, atol=1e-5, rtol=0)
    # A tiny score budget searches one row of windows at a time: the same swap.
    torch.testing.assert_close(style_swap(content, style, max_scores=1), expected, atol=1e-5, rtol=0)


def test_a_map_swapped_with_itself_comes_back_unchanged():
    # random features: no window is a positive multiple of another, so each window's best match is itself
    features = torch.randn(2, 5, 10, 13, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(style_swap(features, features), features, atol=1e-6, rtol=0)


def test_maps_without_a_3x3_patch_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="finer feature layer"):
        style_swap(torch.randn(1, 4, 8, 8), torch.randn(1, 4, 2, 9))


def save_random(path: Path, height: int, width: int, seed: int) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


@pytest.fixture(scope="module")
def multiscale_checkpoint(tmp_path_factory) -> Path:
    """A joined multi-scale checkpoint of tiny random stages: G_1 at 16, G_2 at 16 and 32."""
    torch.manual_seed(0)
    model = MultiScaleFeatureTranslation.from_stages(
        stage("image2feature", 16), [stage("feature2image", size) for size in (32, 16)]
    )
    path = tmp_path_factory.mktemp("style") / "multiscale.ckpt"
    model.save(path)
    return path


def test_predict_stylizes_each_content_at_its_size(multiscale_checkpoint, tmp_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    sizes = {"wide": (20, 28), "tall": (36, 24)}
    for seed, (name, (height, width)) in enumerate(sizes.items()):
        save_random(contents / f"{name}.png", height, width, seed)
    save_random(tmp_path / "style.png", 40, 30, seed=9)
    result = predict(multiscale_checkpoint, contents, tmp_path / "run", f"style={tmp_path / 'style.png'}")
    assert result.returncode == 0, result.stderr[-3000:]
    output_dir = tmp_path / "run" / "predictions"
    assert {p.name for p in output_dir.glob("*.png")} == {"wide.png", "tall.png"}
    model = load_inpainting_module(multiscale_checkpoint)
    style = read_image(tmp_path / "style.png")[None]
    for name, size in sizes.items():
        written = np.asarray(Image.open(output_dir / f"{name}.png"), dtype=np.int16)
        assert written.shape == (*size, 3)
        # what transfer_style makes of the content, through G_2 at 32 (8-bit rounding)
        expected = transfer_style(model, read_image(contents / f"{name}.png")[None], style, max_side=512)
        assert np.abs(written - expected[0].permute(1, 2, 0).mul(255).round().numpy()).max() <= 1
    assert "stylized wide.png (28×20) with the style style.png" in result.stdout + result.stderr


def test_an_unreadable_style_is_listed_for_every_content(multiscale_checkpoint, tmp_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    for seed, name in enumerate(("a", "b")):
        save_random(contents / f"{name}.png", 16, 16, seed)
    (tmp_path / "style.jpg").write_text("not an image")
    result = predict(multiscale_checkpoint, contents, tmp_path / "run", f"style={tmp_path / 'style.jpg'}")
    assert result.returncode == 1, result.stderr[-3000:]
    lines = (tmp_path / "run" / "predictions" / "failures.tsv").read_text().splitlines()
    failures = dict(line.split("\t") for line in lines)
    assert {Path(path).name for path in failures} == {"a.png", "b.png"}
    assert all("not a readable image" in reason and "style.jpg" in reason for reason in failures.values())


def test_a_checkpoint_of_another_method_is_refused_with_the_fix(tmp_path_factory, tmp_path):
    checkpoint = tiny_gatedconv_checkpoint(tmp_path_factory)
    save_random(tmp_path / "style.png", 16, 16, seed=0)
    result = predict(checkpoint, tmp_path, tmp_path / "run", f"style={tmp_path / 'style.png'}")
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "style transfer needs a Feature2Image network" in output
    assert "model/feature_translation_stage=feature2image" in output
    assert "Traceback" not in output


def test_any_content_size_is_translated_at_the_nearest_multiple_of_the_chosen_scale(multiscale_checkpoint):
    model = load_inpainting_module(multiscale_checkpoint)
    network = model.feature2image[0]
    seen = []
    hook = network.generator.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[-2:])))
    content = torch.rand(2, 3, 50, 70, generator=torch.Generator().manual_seed(2))
    result = transfer_style(model, content, torch.rand(1, 3, 30, 30), scale=16)
    hook.remove()
    assert seen == [(48, 64)]  # 50 × 70 to multiples of 16
    assert result.shape == content.shape and 0 <= float(result.min()) <= float(result.max()) <= 1
    with pytest.raises(
        ValueError, match=r"no Feature2Image network at scale 64: this checkpoint has \[16, 32\]"
    ):
        transfer_style(model, content, content, scale=64)
