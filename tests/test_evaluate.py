"""evaluate.py: results without pretrained weights, split=val, and evaluation mask sets that are a pure
function of (mask config, eval_seed, image index), exported as PNGs and read back."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from checkpoints import SINGLE_THREAD, shared_run_dir, tiny_gatedconv_checkpoint
from evaluation.results import read_results
from fixture_trees import write_image
from suite.evaluate import export_mask_set
from suite.train import build_datamodule
from suite_cli import REPO, TINY, run

# TINY without the model sizes: evaluate takes the model from the checkpoint.
TINY_DATA = tuple(override for override in TINY if not override.startswith("model."))
NUM_IMAGES = 4  # TINY's val and test splits


def evaluate(run_dir: Path, *overrides: str) -> None:
    """`evaluate.py` on TINY with an empty torchvision cache: no LPIPS or FID weights."""
    env = {**SINGLE_THREAD, "TORCH_HOME": str(run_dir / "empty_torch_home")}
    run("evaluate.py", *TINY_DATA, f"hydra.run.dir={run_dir}", *overrides, env=env)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_gatedconv_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, checkpoint) -> Path:
    """The validation split scored on its generated masks. val_limit only shortens validation while
    training: evaluate scores the whole split."""
    overrides = (f"ckpt_path={checkpoint}", "data=synthetic", "split=val", "data.val_limit=2")
    return shared_run_dir(
        tmp_path_factory, "evaluate_generated", lambda run_dir: evaluate(run_dir, *overrides)
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The validation mask set, exported by another process, through a loader with two workers (and no
    checkpoint: exporting needs none)."""
    overrides = ("split=val", "export_masks=true", "data.num_workers=2")
    run_dir = shared_run_dir(
        tmp_path_factory, "evaluate_exported", lambda run_dir: evaluate(run_dir, *overrides)
    )
    return run_dir / "masks"


def datamodule(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=[*TINY_DATA, *overrides])
    return build_datamodule(cfg, train=False)


def mask_hashes(module) -> list[str]:
    """sha256 of each validation image's mask, in index order, through the DataModule's own loader."""
    hashes = {}
    for batch in module.val_dataloader():
        for index, mask in zip(batch["index"].tolist(), batch["mask"]):
            hashes[index] = hashlib.sha256(mask.numpy().tobytes()).hexdigest()
    return [hashes[index] for index in range(len(hashes))]


def test_without_weights_lpips_and_fid_are_unavailable_by_file_name(generated):
    results = read_results(generated)
    assert results["method"] == "gatedconv"  # the training run's model choice, found beside the checkpoint
    overall = results["overall"]
    assert overall["lpips"] is None and overall["fid"] is None
    for metric in ("psnr", "ssim", "l1"):
        assert isinstance(overall[metric], float), metric
    files = {"lpips": "alexnet-owt-7be5be79.pth", "fid": "weights-inception-2015-12-05-6726825d.pth"}
    for metric, file_name in files.items():
        assert file_name in results["unavailable"][metric]

    header, overall_row = (generated / "metrics.csv").read_text().splitlines()[:2]
    cells = dict(zip(header.split(","), overall_row.split(",")))
    assert cells["lpips"] == cells["fid"] == "" and float(cells["psnr"]) == pytest.approx(overall["psnr"])

    markdown = (generated / "metrics.md").read_text()
    overall_line = next(line for line in markdown.splitlines() if line.startswith("| overall"))
    assert overall_line.count("n/a") == 2
    assert all(f"n/a: weights file {file_name} not found" in markdown for file_name in files.values())

    with (generated / "per_image.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [int(row["index"]) for row in rows] == list(range(NUM_IMAGES))
    assert set(rows[0]) == {"index", "hole_ratio", "psnr", "ssim", "l1"}
    assert sum(float(row["psnr"]) for row in rows) / NUM_IMAGES == pytest.approx(overall["psnr"], rel=1e-5)
    assert "images" not in results  # metrics.json stays small

    examples = {path.name for path in (generated / "examples").iterdir()}
    kinds = ("masked", "composite", "target")
    assert examples == {f"{index:06d}_{kind}.png" for index in range(NUM_IMAGES) for kind in kinds}


def test_split_val_scores_the_whole_validation_split(generated):
    results = read_results(generated)
    assert results["split"] == "val"
    assert results["overall"]["count"] == NUM_IMAGES  # not data.val_limit=2


def test_export_writes_numbered_masks_and_meta(exported):
    meta = json.loads((exported / "meta.json").read_text())
    assert meta["count"] == NUM_IMAGES and meta["split"] == "val" and meta["polarity"] == "white_is_hole"
    assert meta["pairing"] == "by_order"  # mask=folder reads it back by index, whatever the image names
    names = sorted(path.name for path in exported.glob("*.png"))
    assert names == [f"{index:06d}.png" for index in range(NUM_IMAGES)]


def test_masks_are_identical_across_processes_workers_and_the_exported_files(exported):
    here = mask_hashes(datamodule())
    assert mask_hashes(datamodule("data.num_workers=2")) == here
    # made by the exporting process with two workers, read back through mask=folder
    assert mask_hashes(datamodule("mask=folder", f"mask.eval.root={exported}")) == here
    assert len(set(here)) == len(here)  # a mask per index, not one for all
    assert mask_hashes(datamodule("seed=7")) == here  # the training seed plays no part
    assert mask_hashes(datamodule("data.eval_seed=1")) != here


@pytest.mark.slow  # whole-split evaluations
def test_evaluation_on_the_exported_set_gives_identical_metrics(tmp_path, checkpoint, generated, exported):
    evaluate(tmp_path, f"ckpt_path={checkpoint}", "split=val", "mask=folder", f"mask.eval.root={exported}")
    from_files = read_results(tmp_path)
    assert from_files["mask"] == "folder"
    for key in ("overall", "buckets"):
        assert from_files[key] == read_results(generated)[key], key


def test_masks_with_more_than_half_holes_read_back_identical(tmp_path):
    """The exported set (white = hole, as meta.json records) reads back as it was, not inverted."""
    generated = datamodule("mask=center_square", "mask.train.fraction=0.75")  # 56 % holes
    export_mask_set(generated.dataset("val"), tmp_path, meta={})
    assert mask_hashes(datamodule("mask=folder", f"mask.eval.root={tmp_path}")) == mask_hashes(generated)


def test_loaders_start_no_more_workers_than_the_cpus_the_process_may_use(monkeypatch):
    module = datamodule("data.num_workers=8")
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    assert module.val_dataloader().num_workers == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(32)))
    assert module.val_dataloader().num_workers == 8


@pytest.mark.slow  # whole-split evaluations
def test_a_flat_folder_is_scored_whole(tmp_path, checkpoint):
    """No split to respect: evaluate.py scores all 10 images (data.source.test_size=10 is no error)."""
    photos = tmp_path / "photos"
    for index in range(10):
        write_image(photos / f"photo_{index}.jpg", size=(40, 30), seed=index)
    for overrides in ((), ("data.source.test_size=10",)):
        run_dir = tmp_path / f"run{len(overrides)}"
        folder = ("data=folder", f"data.source.root={photos}", "data.num_workers=0", "data.eval_batch_size=5")
        env = {**SINGLE_THREAD, "TORCH_HOME": str(tmp_path / "empty_torch_home")}
        run(
            "evaluate.py", f"ckpt_path={checkpoint}", *folder, *overrides, f"hydra.run.dir={run_dir}", env=env
        )
        assert read_results(run_dir)["overall"]["count"] == 10
        with open(run_dir / "per_image.csv") as f:
            assert sorted(int(row["index"]) for row in csv.DictReader(f)) == list(range(10))


def test_a_70_percent_mask_is_read_as_70_percent_missing(tmp_path, checkpoint):
    """White = hole by default, in evaluation and in training from a mask folder: a mask that is 70 %
    white is 70 % missing, not inverted as the minority."""
    masks = tmp_path / "masks"
    masks.mkdir()
    hole = np.zeros((40, 50), dtype=np.uint8)
    hole[:, :35] = 255  # 70 %
    Image.fromarray(hole).save(masks / "00000.png")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "train", overrides=["mask=folder", f"mask.eval.root={masks}", "mask.eval.pairing=by_order"]
        )
    folder = instantiate(cfg.mask.eval)
    assert folder(40, 50, np.random.default_rng(0)).mean() == pytest.approx(0.7)  # a training draw
    assert folder(40, 50, None, index=3).mean() == pytest.approx(0.7)  # an evaluation mask
    folder = ("mask=folder", f"mask.eval.root={masks}", "mask.eval.pairing=by_order")  # one mask for all
    evaluate(tmp_path / "run", f"ckpt_path={checkpoint}", *folder)
    with open(tmp_path / "run" / "per_image.csv") as f:
        ratios = [float(row["hole_ratio"]) for row in csv.DictReader(f)]
    assert len(ratios) == NUM_IMAGES and all(ratio == pytest.approx(0.7, abs=0.02) for ratio in ratios)
