"""A run stopped after N batches and resumed from last.ckpt ends exactly where an uninterrupted run ends."""

from pathlib import Path

import pytest
import torch

from suite_cli import TINY, run

# interrupted and uninterrupted training runs compared: make test-all
pytestmark = pytest.mark.slow

TOTAL_BATCHES = 7  # 3 batches per epoch (6 images, batch 2): the runs cross two epoch boundaries


def train(run_dir: Path, batches: int, *extra: str) -> dict:
    run(
        "train.py",
        *TINY,
        "data.source.num_train=6",
        f"trainer.max_steps={2 * batches}",  # G and D each count a step
        "trainer.deterministic=true",
        "trainer.val_check_interval=2",
        "callbacks.model_checkpoint.every_n_train_steps=2",
        "test=false",
        "logger=none",
        f"hydra.run.dir={run_dir}",
        *extra,
    )
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    return train(tmp_path_factory.mktemp("full"), TOTAL_BATCHES)


@pytest.mark.parametrize("stop_after", [2, 3], ids=["mid-epoch", "epoch-end"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, uninterrupted, stop_after):
    stopped = train(tmp_path / "stopped", stop_after)
    assert stopped["global_step"] == 2 * stop_after
    resumed = train(
        tmp_path / "resumed", TOTAL_BATCHES, f"ckpt_path={tmp_path / 'stopped' / 'checkpoints' / 'last.ckpt'}"
    )

    assert resumed["global_step"] == uninterrupted["global_step"] == 2 * TOTAL_BATCHES
    assert resumed["epoch"] == uninterrupted["epoch"]
    assert resumed["state_dict"].keys() == uninterrupted["state_dict"].keys()
    for name, value in uninterrupted["state_dict"].items():
        assert torch.equal(resumed["state_dict"][name], value), name
    for resumed_opt, full_opt in zip(resumed["optimizer_states"], uninterrupted["optimizer_states"]):
        for key, state in full_opt["state"].items():
            assert torch.equal(resumed_opt["state"][key]["exp_avg"], state["exp_avg"])
