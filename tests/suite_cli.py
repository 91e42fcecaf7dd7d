"""Run the suite's entry points as a user would: `python train.py key=value ...` in a subprocess."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A GatedConv small enough for CPU tests, on 32² synthetic textures, with every code path on.
TINY = (
    "trainer=debug",
    "data=synthetic",
    "data.source.size=32",
    "data.source.num_val=4",
    "data.source.num_test=4",
    "data.batch_size=2",
    "data.num_workers=0",
    "model.generator.cnum=8",
    "model.discriminator.cnum=8",
)


def run(script: str, *overrides: str, env: dict[str, str] | None = None, check: bool = True):
    """Run `python <script> overrides...` from the repository; returns the CompletedProcess."""
    result = subprocess.run(
        [sys.executable, str(REPO / script), *overrides],
        cwd=REPO,
        # one thread per process: tests run two-way parallel on 2 cores, and oversubscribed torch crawls
        env={**os.environ, "HYDRA_FULL_ERROR": "1", "OMP_NUM_THREADS": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{script} {' '.join(overrides)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        )
    return result


# A sweep job at test size: the debug trainer, no logger, two-image batches loaded in the test's process.
TINY_JOB = (
    "trainer=debug",
    "trainer.max_steps=4",
    "logger=none",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_limit=2",
)


def report(*sweeps: Path, out: Path | None = None) -> tuple[str, list[list[str]]]:
    """`report.py <sweeps> [--out out]`: the tables it prints and the rows of its report.csv (in `out`, else
    in the one sweep's folder)."""
    result = run("report.py", *map(str, sweeps), *(("--out", str(out)) if out else ()))
    with open((out or sweeps[0]) / "report.csv") as f:
        return result.stdout, list(csv.reader(f))


def predict(checkpoint: Path, input_dir: Path, run_dir: Path, *overrides: str):
    """`predict.py` on a folder, its exit status left to the caller."""
    return run(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"input_dir={input_dir}",
        f"hydra.run.dir={run_dir}",
        *overrides,
        check=False,
    )


# DeepGIN as published (experiment=deepgin: AIM 2020 masks three per image, rotation / polyphase / flip),
# shrunk: 32² textures resized to 64² then one 2× polyphase phase, width 4, a random-weight VGG19 (by
# name), and a 1 + 1 + 1 epoch schedule of two batches each.
DEEPGIN_TINY = (
    "experiment=deepgin",
    "trainer=debug",
    "trainer.max_epochs=3",
    "trainer.max_steps=-1",
    "data.source.size=32",
    "data.source.num_train=4",
    "data.source.num_val=4",
    "data.source.num_test=4",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.train_transform.transforms.0.size=64",
    "model.generator.width=4",
    "model.discriminator.ndf=8",
    "model.perceptual.weights=random",
    "model.perceptual.input_size=null",
    "model.warmup_epochs=1",
    "model.constant_epochs=1",
    "model.decay_epochs=1",
)


# DDP against one process: 5 validation and 5 test images split 3 + 2 across two ranks (metrics reduced
# over unequal shards); 11 training images, a global batch of 4 (2 per rank); 2 epochs of 2 batches,
# validated after each.
DDP_TINY = (
    *TINY,
    "data.source.num_train=11",
    "data.source.num_val=5",
    "data.source.num_test=5",
    "data.batch_size=4",
    "data.eval_batch_size=2",
    "trainer.limit_val_batches=1.0",
    "trainer.limit_test_batches=1.0",
    "trainer.val_check_interval=2",
    "trainer.max_steps=8",
    "logger=csv",
)
# the strategy of trainer=ddp, on top of trainer=debug's CPU settings
DDP_TWO_RANKS = ("trainer.devices=2", "+trainer.strategy=ddp_find_unused_parameters_true")
