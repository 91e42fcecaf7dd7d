"""Runs that several tests read, made once per test session: tiny trained GatedConv and DeepGIN
checkpoints, and whatever else a test file builds with `shared_run_dir`.

Under pytest-xdist, tests of one file may land on different workers; the first worker to ask for a run
makes it under a file lock, the others wait and read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from suite_cli import DEEPGIN_TINY, TINY, TINY_JOB, run

# Tests run two-way parallel on two cores: more threads per process only contend.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1"}


def shared_run_dir(
    tmp_path_factory: pytest.TempPathFactory, name: str, create: Callable[[Path], object]
) -> Path:
    """<session temp>/<name>, filled by `create(that folder)` the first time any worker asks for it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this session's folder, shared by its workers
    run_dir = root / name
    with FileLock(root / f"{name}.lock"):
        if not (run_dir / ".complete").is_file():  # absent after a failed attempt: try again
            create(run_dir)
            (run_dir / ".complete").touch()
    return run_dir


def tiny_gatedconv_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of a GatedConv (cnum 8) trained by `train.py` for one batch on 32² synthetic textures."""

    def train(run_dir: Path) -> None:
        run(
            "train.py",
            *TINY,
            "trainer.max_steps=2",  # one batch: a D and a G step
            "test=false",
            "logger=none",
            f"hydra.run.dir={run_dir}",
            env=SINGLE_THREAD,
        )

    return shared_run_dir(tmp_path_factory, "tiny_gatedconv", train) / "checkpoints" / "last.ckpt"


def tiny_deepgin_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of a DeepGIN (width 4) trained by `train.py` through its warm-up and main stage."""

    def train(run_dir: Path) -> None:
        run(
            "train.py",
            *DEEPGIN_TINY,
            "test=false",
            "logger=none",
            f"hydra.run.dir={run_dir}",
            env=SINGLE_THREAD,
        )

    return shared_run_dir(tmp_path_factory, "tiny_deepgin", train) / "checkpoints" / "last.ckpt"


# Feature translation at 64²: the smallest size at which the paper's 224/512 centre hole leaves known 3×3
# patches at relu3_1.
FEATURE_TRANSLATION_IMAGES = "[{_target_:datamodules.transforms.Resize,size:64}]"
FEATURE_TRANSLATION_TINY = (
    "model.generator.channels=4",
    "model.generator.max_channels=8",
    "model.discriminator.channels=4",
    "model.vgg_weights=random",
    *TINY_JOB,
    "data.test_limit=3",
    f"data.train_transform.transforms={FEATURE_TRANSLATION_IMAGES}",
    f"data.eval_transform.transforms={FEATURE_TRANSLATION_IMAGES}",
)


def tiny_feature_translation_stages(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """An experiment=feature_translation_stages sweep folder of G_1 and one G_2, both at 64, on the ImageNet
    fixture under data_dir, joined by multiscale_inference.py into <folder>/multiscale.ckpt."""

    def train(sweep: Path) -> None:
        run(
            "train.py",
            "-m",
            "experiment=feature_translation_stages",
            "model/feature_translation_stage=image2feature,feature2image",
            "model.generator.image_size=64",
            *FEATURE_TRANSLATION_TINY,
            f"paths.data_dir={data_dir}",
            f"hydra.sweep.dir={sweep}",
            env=SINGLE_THREAD,
        )
        run("lightning_modules/feature_translation/multiscale_inference.py", "--multirun", str(sweep))

    return shared_run_dir(tmp_path_factory, "feature_translation_stages", train)


def stage_checkpoint(sweep: Path, stage: str) -> Path:
    """The last.ckpt of a stages sweep's job that trained `stage` (image2feature, feature2image, ...)."""
    for job in sorted(sweep.iterdir()):
        overrides = job / ".hydra" / "overrides.yaml"
        if overrides.is_file() and f"model/feature_translation_stage={stage}" in overrides.read_text():
            return job / "checkpoints" / "last.ckpt"
    raise FileNotFoundError(f"no {stage} job in {sweep}")
