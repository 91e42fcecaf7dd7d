"""A DeepGIN run checkpointed during its warm-up resumes into the right stage, learning rates and epoch:
it ends exactly where an uninterrupted run ends (weights of G and D, Adam states, schedulers)."""

from pathlib import Path

import pytest
import torch

from suite_cli import DEEPGIN_TINY, run

# interrupted and uninterrupted training runs compared: make test-all
pytestmark = pytest.mark.slow

# 2 batches per epoch (4 images, batch 2): warm-up epochs 0-1 (one G step per batch), main stage epoch 2
# at constant rates, decay epochs 3-4 (a G and a D step per batch).
SCHEDULE = (
    "model.warmup_epochs=2",
    "model.constant_epochs=1",
    "model.decay_epochs=2",
    "trainer.max_epochs=5",
)
TOTAL_STEPS = 2 * 2 + 3 * 2 * 2


def train(run_dir: Path, *extra: str) -> dict:
    run(
        "train.py",
        *DEEPGIN_TINY,
        *SCHEDULE,
        "trainer.deterministic=true",
        "callbacks.model_checkpoint.every_n_train_steps=1",
        "test=false",
        "logger=none",
        f"hydra.run.dir={run_dir}",
        *extra,
    )
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    return train(tmp_path_factory.mktemp("full"))


@pytest.mark.parametrize("stop_after", [3, 4], ids=["mid-warmup-epoch", "last-warmup-batch"])
def test_resume_from_the_warmup_reproduces_the_uninterrupted_run(tmp_path, uninterrupted, stop_after):
    stopped = train(tmp_path / "stopped", f"trainer.max_steps={stop_after}")
    assert (stopped["epoch"], stopped["global_step"]) == (1, stop_after)  # inside the warm-up
    assert stopped["optimizer_states"][1]["state"] == {}  # D has not stepped yet
    assert [s["last_epoch"] for s in stopped["lr_schedulers"]] == [1, 1]
    assert_resumes_to(tmp_path, uninterrupted)


def test_resume_after_the_last_batch_of_a_decay_epoch(tmp_path, uninterrupted):
    """Lightning resumes such a checkpoint into the next epoch without that epoch's start hook (and
    without the finished epoch's end hook): the learning rate must still drop for it."""
    stopped = train(tmp_path / "stopped", "trainer.max_steps=12")
    assert (stopped["epoch"], stopped["global_step"]) == (3, 12)
    assert_resumes_to(tmp_path, uninterrupted)


def assert_resumes_to(tmp_path: Path, uninterrupted: dict) -> None:
    resumed = train(tmp_path / "resumed", f"ckpt_path={tmp_path / 'stopped' / 'checkpoints' / 'last.ckpt'}")
    assert resumed["global_step"] == uninterrupted["global_step"] == TOTAL_STEPS
    assert resumed["epoch"] == uninterrupted["epoch"] == 4
    # The schedulers counted the same epochs: the last decay epoch runs at half the initial rates.
    assert resumed["lr_schedulers"] == uninterrupted["lr_schedulers"]
    assert [s["_last_lr"] for s in resumed["lr_schedulers"]] == [pytest.approx([5e-5]), pytest.approx([2e-4])]
    for name, value in uninterrupted["state_dict"].items():
        assert torch.equal(resumed["state_dict"][name], value), name
    for resumed_opt, full_opt in zip(resumed["optimizer_states"], uninterrupted["optimizer_states"]):
        assert resumed_opt["param_groups"][0]["lr"] == full_opt["param_groups"][0]["lr"]
        assert resumed_opt["state"].keys() == full_opt["state"].keys() != set()
        for key, state in full_opt["state"].items():
            assert torch.equal(resumed_opt["state"][key]["exp_avg"], state["exp_avg"])
