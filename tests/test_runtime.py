"""Run-time plumbing: atomic checkpoints, W&B offline fallback, unique run directories."""

import os

import pytest
import torch
from omegaconf import OmegaConf

from callbacks.atomic_checkpoint_io import AtomicCheckpointIO
from suite import runtime


def test_interrupted_checkpoint_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 1}, path)

    def killed(obj, f):  # dies half-way through writing, as a preempted job would
        with open(f, "wb") as handle:
            handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left behind


def test_wandb_goes_offline_without_credentials(tmp_path, monkeypatch):
    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    cfg = OmegaConf.create({"logger": {"wandb": {"_target_": "pytorch_lightning.loggers.WandbLogger"}}})
    runtime.configure_wandb(cfg)
    assert os.environ["WANDB_MODE"] == "offline"


def test_wandb_mode_is_left_alone_with_credentials_or_without_wandb(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    runtime.configure_wandb(OmegaConf.create({"logger": {"wandb": {"_target_": "x.WandbLogger"}}}))
    assert "WANDB_MODE" not in os.environ
    monkeypatch.delenv("WANDB_API_KEY")
    runtime.configure_wandb(OmegaConf.create({"logger": {"csv": {"_target_": "x.CSVLogger"}}}))
    assert "WANDB_MODE" not in os.environ
