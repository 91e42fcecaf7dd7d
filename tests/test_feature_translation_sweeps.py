"""The feature-translation paper's pipeline as sweeps, at test sizes, on an ImageNet CLS-LOC fixture tree in
its distributed layout: the stages sweep trains G_1 and G_2, multiscale_inference.py joins its folder into
one checkpoint, Table 1 scores it (report.py prints the published values beside), and the §4.3 ablation
sweep trains every Feature2Image variant from that G_1 and scores each through the single-scale pipeline.
Tiny networks, a random-weight VGG19 and a few batches: only the plumbing is under test, not the numbers."""

import pytest
from hydra import compose, initialize_config_dir

from checkpoints import (
    FEATURE_TRANSLATION_IMAGES,
    FEATURE_TRANSLATION_TINY,
    shared_run_dir,
    stage_checkpoint,
    tiny_feature_translation_stages,
)
from fixture_trees import eii_datasets
from lightning_modules.base import load_inpainting_module
from lightning_modules.feature_translation.multiscale_inference import MultiScaleFeatureTranslation
from suite_cli import REPO, report, run
from test_configs import sweep_jobs

# subprocess sweeps of a paper's table: make test-all
pytestmark = pytest.mark.slow

VARIANTS = [
    "paper",
    "resize_convolution",
    "no_adversarial",
    "relu2_1",
    "relu4_1",
    "input_prediction",
    "input_mixture",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return shared_run_dir(tmp_path_factory, "eii_datasets", eii_datasets)


@pytest.fixture(scope="module")
def stages(tmp_path_factory, data_dir):
    """The stages sweep with G_1 and one G_2, both at 64 (the full sweep's scales are checked below), joined."""
    return tiny_feature_translation_stages(tmp_path_factory, data_dir)


def test_the_stages_sweep_trains_the_papers_four_networks():
    """§4.1: G_1 at 128 only, G_2 at 128, 256 and 512, each with early stopping on the validation loss."""
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        jobs = [
            compose("train", overrides=["experiment=feature_translation_stages", *job]).model
            for job in sweep_jobs("feature_translation_stages")
        ]
        callbacks = compose("train", overrides=["experiment=feature_translation_stages"]).callbacks
    assert [(job._target_.rsplit(".", 1)[1], job.generator.image_size) for job in jobs] == [
        ("Image2FeatureInpainting", 128),
        ("Feature2ImageInpainting", 128),
        ("Feature2ImageInpainting", 256),
        ("Feature2ImageInpainting", 512),
    ]
    assert callbacks.early_stopping.monitor == "val/l1"


def test_table1_scores_the_joined_stages_and_prints_the_published_values(tmp_path, stages, data_dir):
    joined = load_inpainting_module(stages / "multiscale.ckpt")
    assert isinstance(joined, MultiScaleFeatureTranslation)
    assert [s.generator.image_size for s in joined.feature2image] == [64]

    sweep = tmp_path / "table1"
    run(
        "evaluate.py",
        "-m",
        "experiment=feature_translation_table1",
        f"ckpt_path={stages / 'multiscale.ckpt'}",
        "logger=none",
        "data.num_workers=0",
        "data.test_limit=3",
        f"data.eval_transform.transforms={FEATURE_TRANSLATION_IMAGES}",
        f"paths.data_dir={data_dir}",
        f"hydra.sweep.dir={sweep}",
    )
    markdown, rows = report(sweep)
    assert "Feature translation Table 1" in markdown and "Table 1. Numerical comparison" in markdown
    assert rows[0] == ["method (Feature2Image passes)", "imagenet/l1_hole", "imagenet/ssim"]
    # the paper's single pass per scale and §4.3's iterative inference
    assert [row[0] for row in rows[1:3]] == ["feature_translation 1", "feature_translation 2"]
    for row in rows[1:3]:
        assert all(value not in ("missing", "n/a", "") for value in row[1:]), row
    assert "0.1561" in markdown and "context_encoder" in markdown  # the paper's rows beside the run's


def test_ablations_every_variant_from_one_image2feature(tmp_path, stages, data_dir):
    image2feature = stage_checkpoint(stages, "image2feature")
    sweep = tmp_path / "ablations"
    images = "[{_target_:datamodules.transforms.Resize,size:128}]"  # relu4_1: known patches need 128²
    run(
        "train.py",
        "-m",
        "experiment=feature_translation_ablations",
        f"model.image2feature_ckpt={image2feature}",
        *FEATURE_TRANSLATION_TINY,
        "model.generator.image_size=128",
        f"data.train_transform.transforms={images}",
        f"data.eval_transform.transforms={images}",
        f"paths.data_dir={data_dir}",
        f"hydra.sweep.dir={sweep}",
    )
    markdown, rows = report(sweep)
    assert "ablations" in markdown and "no published cells" in markdown
    assert rows[0] == ["variant", "imagenet/l1_hole", "imagenet/ssim", "imagenet/psnr"]
    assert [row[0] for row in rows[1:]] == VARIANTS
    for row in rows[1:]:
        assert all(value not in ("missing", "n/a", "") for value in row[1:]), row
