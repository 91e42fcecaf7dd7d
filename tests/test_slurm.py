"""Sweeps on a real SLURM cluster (tests/slurm_cluster.py) through `hydra/launcher=slurm`, as a user runs them.

The commands are the README's SLURM section. The cluster has no accounting database, so submitit's
`sacct` polls fail and it falls back to its result files (it says so in the logs); real clusters have one.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from suite_cli import DDP_TINY, DDP_TWO_RANKS, REPO, TINY, run
from wandb_records import read_records, run_record

# one cluster per session: its tests share a worker; a real SLURM cluster: make test-all
pytestmark = [pytest.mark.xdist_group("slurm"), pytest.mark.slow]

# One CPU and little memory per job, so that both jobs of a sweep run at once on a 2-core machine.
SLURM = ("hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1")


def launch(slurm: dict, *overrides: str) -> subprocess.Popen:
    """`python train.py -m hydra/launcher=slurm ...` in the background; it returns when its jobs end."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "-m", *SLURM, *overrides],
        cwd=REPO,
        env={
            **os.environ,
            **slurm,
            "HYDRA_FULL_ERROR": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO / "tests"),  # test-only callbacks
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-6000:]
    return output


def job_ids(sweep: Path) -> list[str]:
    """The sweep's SLURM jobs (<array>_<task> when the launcher submitted an array): folders with a job."""
    return sorted(path.parent.name for path in (sweep / ".submitit").glob("*/*_submitted.pkl"))


def test_two_job_sweep_then_report(slurm, tmp_path):
    sweep = tmp_path / "sweep"
    finish(launch(slurm, *TINY, "seed=1,2", f"hydra.sweep.dir={sweep}"))
    assert len(job_ids(sweep)) == 2  # one SLURM job per sweep job
    report = tmp_path / "report"
    run("report.py", str(sweep), "--out", str(report))
    with open(report / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(float(row["psnr"]) > 5 for row in rows), rows


def test_a_ddp_job_runs_one_task_per_device_and_matches_one_process(slurm, tmp_path):
    """trainer.devices=2 on SLURM: two tasks (tasks_per_node follows the trainer), gloo between them."""
    single = tmp_path / "single"
    run("train.py", *DDP_TINY, f"hydra.run.dir={single}")
    sweep = tmp_path / "sweep"
    finish(launch(slurm, *DDP_TINY, *DDP_TWO_RANKS, f"hydra.sweep.dir={sweep}"))
    (job,) = job_ids(sweep)
    assert sorted(p.name for p in (sweep / ".submitit" / job).glob("*_log.out")) == [
        f"{job}_0_log.out",
        f"{job}_1_log.out",
    ]
    # Lightning's loggers propagate to Hydra's job logging (the entry points import Lightning after Hydra
    # configured it): rank 1's messages are in its task's output
    rank_one = "".join(
        (sweep / ".submitit" / job / f"{job}_1_log.{kind}").read_text() for kind in ("out", "err")
    )
    assert "MEMBER: 2/2" in rank_one
    expected, got = (json.loads((d / "metrics.json").read_text()) for d in (single, sweep / "0"))
    assert got["num_images"] == expected["num_images"] == 5
    for key in ("psnr", "ssim", "l1"):
        assert got["overall"][key] == pytest.approx(expected["overall"][key], rel=1e-4), key
    # rank 1 ran the same Hydra job but wrote nothing there: its log went to its task's output
    # both ranks ran the same Hydra job; rank 1 logged to its task's output, not to the run's log
    assert (sweep / "0" / "train.log").read_text().count("Job completed successfully") == 1


# 120 optimizer steps (60 batches), a checkpoint every 20; pause_at holds a job until it is signalled.
LONG = (
    *TINY,
    "trainer.max_steps=120",
    "trainer.val_check_interval=1000",
    "trainer.limit_val_batches=0",
    "callbacks.model_checkpoint.every_n_train_steps=20",
    "logger=many",
    "test=false",
)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def pause_at(step: int, sweep: Path) -> tuple[str, ...]:
    """Overrides that hold the job at `step` until it has been signalled (tests/pause_until_signalled.py)."""
    return (
        "+callbacks.pause._target_=pause_until_signalled.PauseUntilSignalled",
        f"+callbacks.pause.step={step}",
        f"+callbacks.pause.ready_file={sweep / 'paused'}",
        f"+callbacks.pause.release_file={sweep / 'released'}",
    )


def signal_part_way(slurm: dict, sweep: Path) -> None:
    """Send SIGUSR1 (what SLURM sends `signal_delay_s` before a time limit) once the job waits at its
    pause step, and let its requeued start begin at once (SLURM holds it back for about two minutes)."""
    wait_for(lambda: (sweep / "paused").exists(), 240, "the job never reached its pause step")
    (job,) = job_ids(sweep)
    env = {**os.environ, **slurm}
    subprocess.run(["scancel", "--signal=USR1", job], env=env, check=True)
    (sweep / "released").touch()  # scancel is done: the job may act on the signal now

    def state() -> str:
        return subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%T"], env=env, capture_output=True, text=True
        ).stdout

    wait_for(lambda: "PENDING" in state(), 120, "the job was not requeued")
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=env, check=True)


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def assert_resumed(run_dir: Path) -> dict:
    """The job checkpointed part-way, requeued itself, resumed from there and finished; its last checkpoint."""
    checkpoints = run_dir / "checkpoints"
    log = (run_dir / "train.log").read_text()
    assert "Saved" in log and "requeued SLURM job" in log, log
    assert f"Resuming from {checkpoints / 'requeue.ckpt'}" in log, log
    assert load(checkpoints / "requeue.ckpt")["global_step"] == 42  # the batch after the signal
    final = load(checkpoints / "last.ckpt")
    assert final["global_step"] == 120
    # one W&B run over both starts of the job
    runs = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 2, runs
    ids = {run_record(read_records(next(path.glob("run-*.wandb")))).run_id for path in runs}
    assert len(ids) == 1, ids
    return final


def test_a_job_signalled_before_its_time_limit_requeues_and_resumes_where_it_stopped(slurm, tmp_path):
    """The requeued job ends exactly like a job that was never interrupted: same steps, same weights."""
    interrupted, reference = tmp_path / "interrupted", tmp_path / "reference"
    jobs = [
        launch(slurm, *LONG, *pause_at(40, interrupted), f"hydra.sweep.dir={interrupted}"),
        launch(slurm, *LONG, f"hydra.sweep.dir={reference}"),
    ]
    signal_part_way(slurm, interrupted)
    for process in jobs:
        finish(process)
    final = assert_resumed(interrupted / "0")
    expected = load(reference / "0" / "checkpoints" / "last.ckpt")
    assert final["global_step"] == expected["global_step"]
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(final["state_dict"][name], tensor), name


def test_a_ddp_job_requeues_with_every_rank_at_the_same_batch(slurm, tmp_path):
    """Both tasks get the signal, possibly in different batches: they agree on one batch boundary."""
    sweep = tmp_path / "ddp"
    process = launch(slurm, *LONG, *DDP_TWO_RANKS, *pause_at(40, sweep), f"hydra.sweep.dir={sweep}")
    signal_part_way(slurm, sweep)
    finish(process)
    assert_resumed(sweep / "0")
    (job,) = job_ids(sweep)
    rank1 = "".join(path.read_text() for path in (sweep / ".submitit" / job).glob(f"{job}_1_log.*"))
    assert "Received SIGUSR1" in rank1
