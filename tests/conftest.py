"""Shared test set-up: small thread pools (tests run two-way parallel on 2 cores) and no network."""

import os
import socket

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HYDRA_FULL_ERROR", "1")
torch.set_num_threads(1)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torchvision cache: pretrained weights are missing unless a test seeds them."""
    home = tmp_path / "torch_home"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails the test: pretrained weights must come from the local cache only."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A real one-node SLURM cluster for the session (tests/slurm_cluster.py); its environment variables.

    Skipped where SLURM is not installed, unless SUITE_REQUIRE_SLURM=1 (CI), which makes that a failure.
    """
    import slurm_cluster

    reason = slurm_cluster.missing_requirements()
    if reason:
        if os.environ.get("SUITE_REQUIRE_SLURM") == "1":
            pytest.fail(f"SUITE_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("slurm")
    env = slurm_cluster.start(root)
    yield env
    slurm_cluster.stop(root)
