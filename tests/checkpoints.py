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
from suite_cli import DEEPGIN_TINY, TINY, run

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
