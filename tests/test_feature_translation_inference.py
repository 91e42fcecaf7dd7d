"""Feature image translation's inference (Song et al. 2018, §3.4) and Feature2Image's training inputs
(§3.3.3), with tiny random networks and a random-weight VGG19 on CPU.

Multi-scale inference inpaints a 512×512 image with the paper's 224×224 centre hole (§4.1) through G_1 at
128 and G_2 at 128, 256 and 512, leaves every known pixel as it was, and survives the checkpoint that
evaluate.py / predict.py load; a hole off the centre runs through its padded bounding window.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from lightning_modules.base import load_inpainting_module
from lightning_modules.feature_translation.color_alignment import align_colors, boundary_band
from lightning_modules.feature_translation.module import Feature2ImageInpainting, Image2FeatureInpainting
from lightning_modules.feature_translation.multiscale_inference import MultiScaleFeatureTranslation, main
from lightning_modules.feature_translation.patch_swap import feature_hole
from overfitting import fit_repeated

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = ("model.generator.channels=4", "model.generator.max_channels=8", "model.discriminator.channels=4")


def stage(name: str, size: int, *overrides: str) -> Image2FeatureInpainting | Feature2ImageInpainting:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "model=feature_translation",
                f"model/feature_translation_stage={name}",
                *TINY,
                f"model.generator.image_size={size}",
                "model.vgg_weights=random",
                *overrides,
            ],
        )
    return instantiate(cfg.model).eval()


def centre_hole(size: int, hole: int) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 1, size, size)
    start = (size - hole) // 2
    mask[..., start : start + hole, start : start + hole] = 1
    return image, mask


@pytest.fixture(scope="module")
def multiscale() -> MultiScaleFeatureTranslation:
    torch.manual_seed(0)
    feature2image = "feature2image"
    return MultiScaleFeatureTranslation.from_stages(
        stage("image2feature", 128), [stage(feature2image, size) for size in (512, 128, 256)]
    )


def test_multiscale_inference_inpaints_512_with_the_papers_centre_hole(multiscale, tmp_path):
    image, mask = centre_hole(512, 224)  # §4.1
    seen = []
    networks = [multiscale.image2feature.generator, *(stage.generator for stage in multiscale.feature2image)]
    hooks = [
        net.register_forward_hook(lambda m, i, o: seen.append((i[0].shape[-1], o.shape[-1])))
        for net in networks
    ]
    result = multiscale.inpaint(image, mask)
    for hook in hooks:
        hook.remove()
    # G_1 at 128 only (its 56² prediction of the 56² hole), then G_2 from the smallest scale up (§3.4)
    assert seen == [(128, 56), (32, 128), (64, 256), (128, 512)]
    assert result.shape == image.shape
    assert torch.equal(result * (1 - mask), image * (1 - mask))  # known pixels untouched
    hole = result[mask.expand_as(result) > 0]
    assert torch.isfinite(hole).all() and float(hole.std()) > 0  # filled, not a constant
    assert not torch.allclose(hole, torch.zeros_like(hole))

    path = tmp_path / "multiscale.ckpt"  # what evaluate.py / predict.py load
    multiscale.save(path)
    loaded = load_inpainting_module(path)
    assert isinstance(loaded, MultiScaleFeatureTranslation)
    torch.testing.assert_close(loaded.inpaint(image, mask), result)


def test_a_hole_off_the_centre_runs_in_its_padded_bounding_window(multiscale):
    image = torch.rand(2, 3, 96, 160, generator=torch.Generator().manual_seed(2))
    mask = torch.zeros(2, 1, 96, 160)
    mask[0, :, 2:30, 120:150] = 1  # near a corner: its window leaves the image
    mask[1, :, 40:50, 10:60] = 1  # a flat rectangle
    result = multiscale.inpaint(image, mask)
    assert result.shape == image.shape
    assert torch.equal(result * (1 - mask), image * (1 - mask))
    assert torch.isfinite(result).all() and float(result.min()) >= 0 and float(result.max()) <= 1


def test_color_alignment_matches_the_boundary_mean():
    image, mask = centre_hole(64, 32)
    output = (image * 0.5 + 0.2).clamp(0, 1)
    aligned = align_colors(output, image, mask, band=4)
    ring = boundary_band(mask, 4)
    assert int(ring.sum()) == 40 * 40 - 32 * 32
    mean = lambda x: (x * ring).sum(dim=(2, 3)) / ring.sum()  # noqa: E731
    torch.testing.assert_close(mean(aligned), mean(image), atol=2e-2, rtol=0)


def trained_checkpoint(name: str, path: Path) -> Path:
    """A stage at 64 after one real training batch (a D and a G step), saved by the Trainer."""
    torch.manual_seed(0)
    image, mask = centre_hole(64, 32)
    trainer = fit_repeated(stage(name, 64).train(), {"image": image, "mask": mask}, 1)
    trainer.save_checkpoint(path)
    return path


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_feature2image_input_modes_do_what_they_say(tmp_path):
    checkpoint = str(trained_checkpoint("image2feature", tmp_path / "g1.ckpt"))
    image = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    mask = centre_hole(64, 32)[1].expand(4, -1, -1, -1)
    feature2image = "feature2image"

    ground_truth = stage(feature2image, 64)
    assert ground_truth.hparams.input == "ground_truth"
    expected_truth = ground_truth.swapped(image * 2 - 1, mask)  # F'_gt = patch_swap(vgg(I_gt))
    torch.testing.assert_close(ground_truth.training_features(image, mask), expected_truth)
    with pytest.raises(ValueError, match="image2feature_ckpt"):
        ground_truth(image, mask)  # inference needs G_1

    prediction = stage(feature2image, 64, "model.input=prediction", f"model.image2feature_ckpt={checkpoint}")
    g1 = load_inpainting_module(checkpoint)
    # I_1: G_1's prediction in the hole (at G_1's scale, here the same), the known pixels kept
    initial = g1(image, mask) * 2 - 1
    torch.testing.assert_close(prediction.prediction(image, mask), initial)
    expected_prediction = prediction.swapped(initial, mask)  # F'_1
    torch.testing.assert_close(prediction.training_features(image, mask), expected_prediction)
    truth = prediction.swapped(image * 2 - 1, mask)  # the same (random) VGG's F'_gt
    assert not torch.allclose(expected_prediction, truth)
    # known features are the image's in both, beyond relu3_1's reach into the hole (10 px < 3 positions)
    hole = feature_hole(mask, truth.shape[-2:])
    far = 1 - torch.nn.functional.max_pool2d(hole, 7, stride=1, padding=3)
    assert float(far.sum()) > 0
    torch.testing.assert_close(expected_prediction * far, truth * far)
    assert not any(p.requires_grad for p in prediction._image2feature[0].parameters())  # G_1 frozen
    assert all(not name.startswith("_image2feature") for name in prediction.state_dict())

    torch.manual_seed(5)
    mixture = stage(feature2image, 64, "model.input=mixture", f"model.image2feature_ckpt={checkpoint}")
    mixed = mixture.training_features(image, mask)
    truth = mixture.swapped(image * 2 - 1, mask)
    predicted = mixture.swapped(mixture.prediction(image, mask), mask)
    from_truth = [torch.equal(m, t) for m, t in zip(mixed, truth)]
    from_prediction = [torch.equal(m, p) for m, p in zip(mixed, predicted)]
    assert all(a != b for a, b in zip(from_truth, from_prediction))  # each image one or the other
    assert any(from_truth) and any(from_prediction)  # both, at mixture_ratio 0.5 (this seed)
    with pytest.raises(InstantiationException, match="set model.image2feature_ckpt"):
        stage(feature2image, 64, "model.input=mixture")


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_a_mixture_run_fine_tunes_a_ground_truth_run(tmp_path):
    ground_truth = trained_checkpoint("feature2image", tmp_path / "g2.ckpt")  # Fig. 8c
    g1 = trained_checkpoint("image2feature", tmp_path / "g1.ckpt")
    tuned = stage(
        "feature2image",
        64,
        "model.input=mixture",
        f"model.image2feature_ckpt={g1}",
        f"model.init_from={ground_truth}",
    )
    started = {}
    # the weights training starts from (after on_fit_start), copied before the first step
    tuned.on_train_start = lambda: started.update(
        {name: value.clone() for name, value in tuned.generator.state_dict().items()}
    )
    image, mask = centre_hole(64, 32)
    fit_repeated(tuned.train(), {"image": image, "mask": mask}, 1)
    expected = load_inpainting_module(ground_truth).generator.state_dict()
    assert started.keys() == expected.keys()
    assert all(torch.equal(started[name], value) for name, value in expected.items())


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_the_cli_joins_trained_stages_into_one_checkpoint(tmp_path):
    g1 = trained_checkpoint("image2feature", tmp_path / "g1.ckpt")
    g2 = trained_checkpoint("feature2image", tmp_path / "g2.ckpt")
    main(["--image2feature", str(g1), "--feature2image", str(g2), "--out", str(tmp_path / "joined.ckpt")])
    joined = load_inpainting_module(tmp_path / "joined.ckpt")
    assert isinstance(joined, MultiScaleFeatureTranslation)
    assert [stage.generator.image_size for stage in joined.feature2image] == [64]
    expected = load_inpainting_module(g2).generator.state_dict()
    for name, value in joined.feature2image[0].generator.state_dict().items():
        assert torch.equal(value, expected[name])


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_a_mixture_run_trains_on_ground_truth_first_then_on_the_mixture(tmp_path):
    """input_mixture (Fig. 8c in one run): F'_gt for the first mixture_after of the steps, then the mixture."""
    g1 = trained_checkpoint("image2feature", tmp_path / "g1.ckpt")
    tuned = stage(
        "feature2image",
        64,
        "model.input=mixture",
        f"model.image2feature_ckpt={g1}",
        "model.mixture_after=0.5",
    )
    predictions = []
    original = tuned.prediction
    tuned.prediction = lambda image, mask: (
        predictions.append(tuned.trainer.global_step) or original(image, mask)
    )
    image, mask = centre_hole(64, 32)
    fit_repeated(tuned.train(), {"image": image, "mask": mask}, 4, max_steps=8)  # a D and a G step each
    assert predictions == [4, 6]  # G_1 is first asked for F'_1 halfway through


def test_iterative_inference_runs_feature2image_again_at_each_scale(multiscale):
    """§4.3: with iterations=2 each scale's output goes through VGG, patch-swap and G_2 once more."""
    image, mask = centre_hole(128, 56)
    iterative = MultiScaleFeatureTranslation(**{**multiscale.hparams, "iterations": 2}).eval()
    iterative.load_state_dict(multiscale.state_dict())
    calls = []
    hooks = [
        stage.generator.register_forward_hook(lambda m, i, o: calls.append(o.shape[-1]))
        for stage in iterative.feature2image
    ]
    result = iterative.inpaint(image, mask)
    for hook in hooks:
        hook.remove()
    assert calls == [128, 128, 256, 256, 512, 512]
    assert not torch.allclose(result, multiscale.inpaint(image, mask))
    assert torch.equal(result * (1 - mask), image * (1 - mask))
