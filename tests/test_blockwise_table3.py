"""Block-wise Table 3 compares the generator head with the final model of the same training (§4.2): the final
run writes checkpoints/head.ckpt when the head phase ends, and the head row is scored from it, with no
training of its own. A tiny run of the real sweep config on CPU, through train.py's own `train`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import initialize_config_dir

from checkpoints import shared_run_dir
from fixture_trees import eii_datasets
from lightning_modules.blockwise.module import HEAD_CHECKPOINT
from suite.train import train
from test_configs import resolved

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY_IMAGES = "[{_target_:datamodules.transforms.Resize,size:32}]"
HEAD = 3  # head iterations of the tiny schedule
TINY = (
    "trainer=debug",
    "trainer.max_steps=-1",  # Algorithm 1's end stops the run
    "trainer.limit_test_batches=1",
    "logger=none",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_limit=2",
    "data.test_limit=2",
    f"data.train_transform.transforms={TINY_IMAGES}",
    f"data.eval_transform.transforms={TINY_IMAGES}",
    f"test_sets.centre.eval_transform.transforms={TINY_IMAGES}",
    "test_sets.centre.test_limit=2",
    "test_sets.centre.num_workers=0",
    "model.generator.channels=[4,8,8]",
    "model.generator.head_blocks=1",
    "model.discriminator.channels=4",
    "model.patch_perceptual.backbone_weights=random",
    f"model.schedule.head_iterations={HEAD}",
    "model.schedule.block_iterations=1",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return shared_run_dir(tmp_path_factory, "eii_datasets", eii_datasets)


def test_table3_scores_the_head_from_the_final_run_s_checkpoint(tmp_path, data_dir):
    common = [*TINY, f"paths.data_dir={data_dir}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        # the sweep trains one model, the final one
        final_cfg = resolved(
            "train",
            ["experiment=blockwise_table3", "model/blockwise_variant=final", *common],
            tmp_path / "final",
        )
        assert final_cfg.model.schedule.blocks == 3
        torch.manual_seed(0)
        train(final_cfg)
        head_file = tmp_path / "final" / "checkpoints" / HEAD_CHECKPOINT
        head_state = torch.load(head_file, map_location="cpu", weights_only=False)["state_dict"]
        final_state = torch.load(
            tmp_path / "final" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
        )["state_dict"]
        # written when the head phase ended: r1 in place at α = 0, so the network is exactly the head
        assert int(head_state["iteration"]) == HEAD
        assert (int(head_state["generator.active_blocks"]), float(head_state["generator.fade"])) == (1, 0.0)
        assert int(final_state["iteration"]) == HEAD + 3
        assert not torch.equal(
            head_state["generator.head_blocks.0.body.0.weight"],
            final_state["generator.head_blocks.0.body.0.weight"],
        )  # the blocks' phases trained on: the head is the checkpoint's, not the end of training's

        # the head row: the generator_head variant resumed from that checkpoint; nothing trains
        head_cfg = resolved(
            "train",
            [
                "experiment=blockwise_table3",
                "model/blockwise_variant=generator_head",
                f"ckpt_path={head_file}",
                *common,
            ],
            tmp_path / "head",
        )
        results = train(head_cfg)
    assert results["overall"]["count"] > 0 and results["overall"]["l1_sum"] is not None
    assert (tmp_path / "head" / "test_sets" / "centre" / "metrics.json").is_file()
    scored = torch.load(
        tmp_path / "head" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    assert int(scored["state_dict"]["iteration"]) == HEAD  # no batch trained after the head phase
    for name, value in head_state.items():
        if name.startswith("generator."):
            assert torch.equal(scored["state_dict"][name], value), name
