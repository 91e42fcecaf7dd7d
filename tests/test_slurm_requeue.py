"""The requeue callback on its own, in a SLURM-like environment with a stand-in `scontrol` (no cluster)."""

from __future__ import annotations

import os
import signal
import stat

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.demos.boring_classes import BoringModel

from callbacks.slurm_requeue import SlurmRequeue


class SignalAt(pl.Callback):
    """SLURM's warning signal, delivered to this process in the middle of a batch."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == 3:
            os.kill(os.getpid(), signal.SIGUSR1)


@pytest.fixture
def slurm_env(tmp_path, monkeypatch):
    for name, value in {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train", "SLURM_JOB_ID": "7"}.items():
        monkeypatch.setenv(name, value)
    for name in ("SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    previous = signal.getsignal(signal.SIGUSR1)
    yield bin_dir
    signal.signal(signal.SIGUSR1, previous)  # the process outlives the requeue that would end it


def fake_scontrol(bin_dir, body: str) -> None:
    script = bin_dir / "scontrol"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def fit(tmp_path, callback: SlurmRequeue) -> pl.Trainer:
    trainer = pl.Trainer(
        max_steps=20,
        callbacks=[callback, SignalAt()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(BoringModel())
    return trainer


def test_signal_checkpoints_at_the_batch_end_requeues_and_exits(tmp_path, slurm_env):
    calls = tmp_path / "calls"
    fake_scontrol(slurm_env, f'echo "$@" >> {calls}')
    callback = SlurmRequeue(tmp_path / "checkpoints")
    with pytest.raises(SystemExit) as exit_info:
        fit(tmp_path, callback)
    assert exit_info.value.code == 0
    assert calls.read_text().split() == ["requeue", "7"]
    assert torch.load(callback.path, weights_only=False)["global_step"] == 4  # the signalled batch, whole


def test_the_requeue_s_own_sigterm_does_not_fail_it(tmp_path, slurm_env):
    """SLURM signals the requeued job's processes while `scontrol requeue` may still be running."""
    calls = tmp_path / "calls"
    fake_scontrol(slurm_env, f'echo "$@" >> {calls}; kill -TERM $$; sleep 0.2')
    with pytest.raises(SystemExit) as exit_info:
        fit(tmp_path, SlurmRequeue(tmp_path / "checkpoints"))
    assert exit_info.value.code == 0
    assert calls.read_text().split() == ["requeue", "7"]


def test_a_refused_requeue_says_how_to_continue(tmp_path, slurm_env):
    fake_scontrol(slurm_env, 'echo "Requested operation is disabled" >&2; exit 1')
    callback = SlurmRequeue(tmp_path / "run" / "checkpoints")
    with pytest.raises(
        RuntimeError, match=r"did not requeue job 7 \(Requested operation is disabled\)"
    ) as err:
        fit(tmp_path, callback)
    assert f"hydra.run.dir={tmp_path / 'run'}" in str(err.value)
    assert callback.path.is_file()


def test_sigusr1_outside_slurm_is_left_to_lightning(tmp_path):
    """The callback arms itself only on SLURM: a local run keeps default signal handling."""
    previous = signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    try:
        callback = SlurmRequeue(tmp_path)
        callback.setup(None, None, "fit")
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR1, previous)
