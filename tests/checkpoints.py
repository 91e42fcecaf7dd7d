"""A tiny GatedConv checkpoint written by the real `train.py`, trained once per test session.

Under pytest-xdist the workers share it: the first to ask trains it under a file lock, the others wait
and reuse the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from filelock import FileLock
from suite_cli import TINY, run

# Tests run two-way parallel on two cores: more threads per process only contend.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1"}


def tiny_gatedconv_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of a GatedConv (cnum 8) trained for one batch on 32² synthetic textures."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this session's folder, shared by its workers
    run_dir = root / "tiny_gatedconv"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    with FileLock(root / "tiny_gatedconv.lock"):
        if not checkpoint.is_file():  # written atomically, so it is either complete or absent
            run(
                "train.py",
                *TINY,
                "trainer.max_steps=2",  # one batch: a G and a D step
                "test=false",
                "logger=none",
                f"hydra.run.dir={run_dir}",
                env=SINGLE_THREAD,
            )
    return checkpoint
