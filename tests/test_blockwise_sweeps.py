"""The block-wise paper's Table 3 and §4.3 ablations as sweeps, at test sizes: every cell runs on a COCO
fixture tree in its distributed layout, and report.py prints each layout (Table 3 with the published
values beside the run's). Tiny networks and a two-batch Algorithm 1: only the plumbing is under test."""

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from checkpoints import shared_run_dir
from fixture_trees import eii_datasets
from suite_cli import report, run

# subprocess sweeps of a paper's table: make test-all
pytestmark = pytest.mark.slow

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY_IMAGES = "[{_target_:datamodules.transforms.Resize,size:32}]"
TINY = (
    "trainer=debug",
    "trainer.max_steps=-1",  # Algorithm 1's end stops each run
    "logger=none",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_limit=2",
    f"data.train_transform.transforms={TINY_IMAGES}",
    f"data.eval_transform.transforms={TINY_IMAGES}",
    "model.generator.channels=[4,8,8]",
    "model.generator.head_blocks=1",
    "model.discriminator.channels=4",
    "model.patch_perceptual.backbone_weights=random",
    "model.vgg_perceptual.weights=random",
    "model.schedule.head_iterations=1",
    "model.schedule.block_iterations=1",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return shared_run_dir(tmp_path_factory, "eii_datasets", eii_datasets)


@pytest.mark.parametrize(
    ("option", "changes"),
    [
        # the final run's network, its schedule over when the head phase ends (scored from head.ckpt)
        ("generator_head", {"generator.grown_blocks": 3, "schedule.blocks": 0}),
        ("final", {"generator.grown_blocks": 3, "schedule.blocks": 3}),
        (
            "direct_12_blocks",
            {"generator.head_blocks": 12, "generator.grown_blocks": 0, "schedule.head_iterations": 154500},
        ),
        ("no_annealing", {"schedule.annealing": False}),
    ],
)
def test_variants_change_what_the_paper_says(option, changes):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        model = compose(
            "train", overrides=["experiment=blockwise", f"+model/blockwise_variant={option}"]
        ).model
    for key, value in changes.items():
        node = model
        for part in key.split("."):
            node = node[part]
        assert node == value, key


def test_table3_head_and_final_on_random_and_centre_regions(tmp_path, data_dir):
    sweep, head = tmp_path / "table3", tmp_path / "head"
    centre = ("test_sets.centre.eval_transform.transforms=" + TINY_IMAGES, "test_sets.centre.num_workers=0")
    common = ("experiment=blockwise_table3", *TINY, *centre, f"paths.data_dir={data_dir}")
    run("train.py", "-m", *common, f"hydra.sweep.dir={sweep}")
    # the head row: the final run's own checkpoint at the end of the head phase
    run(
        "train.py",
        "-m",
        *common,
        "model/blockwise_variant=generator_head",
        f"ckpt_path={sweep / '0' / 'checkpoints' / 'head.ckpt'}",
        f"hydra.sweep.dir={head}",
    )
    markdown, rows = report(head, sweep, out=tmp_path)
    assert "Block-wise Table 3" in markdown and "Table 3. Numerical comparison" in markdown
    assert rows[0] == [
        "method",
        *(f"{d}/{m}" for d in ("coco", "centre") for m in ("l1_sum", "l2_sum", "ssim")),
    ]
    assert [row[0] for row in rows[1:]] == ["blockwise generator_head", "blockwise final"]
    for row in rows[1:]:
        assert all(value not in ("missing", "n/a", "") for value in row[1:]), row
    assert "838.3" in markdown  # the paper's final centre ℓ1 beside the run's
    # the centre test set is scored on centred squares of half the side: a quarter of every image
    buckets = json.loads((sweep / "0" / "test_sets" / "centre" / "metrics.json").read_text())["buckets"]
    assert {name for name, values in buckets.items() if values["count"]} == {"20-30%"}


def test_ablations_every_variant(tmp_path, data_dir):
    sweep = tmp_path / "ablations"
    run(
        "train.py",
        "-m",
        "experiment=blockwise_ablations",
        *TINY,
        f"paths.data_dir={data_dir}",
        f"hydra.sweep.dir={sweep}",
    )
    markdown, rows = report(sweep)
    assert "ablations" in markdown
    assert [row[0] for row in rows[1:]] == [
        "final",
        "direct_12_blocks",
        "no_annealing",
        "l2",
        "vgg_perceptual",
        "conv_vanilla",
        "conv_interpolated",
        "conv_dilated_interpolated",
    ]
    for row in rows[1:]:
        assert all(value not in ("missing", "n/a", "") for value in row[1:]), row


def test_table3_with_the_suite_s_other_methods_in_one_report(tmp_path, data_dir):
    """blockwise_table3_methods trains the other methods as published and tests them on Table 3's protocol;
    report.py over both sweeps' folders prints one table (one backbone here: the plumbing is the same)."""
    centre = ("test_sets.centre.eval_transform.transforms=" + TINY_IMAGES, "test_sets.centre.num_workers=0")
    common = TINY[:8]  # the trainer, loader and image sizes; the model settings are block-wise's
    run(
        "train.py",
        "-m",
        "experiment=blockwise_table3",
        *TINY,
        *centre,
        "model/blockwise_variant=final",
        f"paths.data_dir={data_dir}",
        f"hydra.sweep.dir={tmp_path / 'blockwise'}",
    )
    run(
        "train.py",
        "-m",
        "experiment=blockwise_table3_methods",
        "backbone=gatedconv",
        *common,
        *centre,
        "trainer.max_steps=2",
        "model.generator.cnum=8",
        "model.discriminator.cnum=8",
        f"paths.data_dir={data_dir}",
        f"hydra.sweep.dir={tmp_path / 'methods'}",
    )
    printed, rows = report(tmp_path / "blockwise", tmp_path / "methods", out=tmp_path)
    assert [row[0] for row in rows[1:]] == ["blockwise final", "gatedconv"]
    for row in rows[1:]:
        assert all(value not in ("missing", "n/a", "") for value in row[1:]), row
    assert "Block-wise Table 3" in printed
