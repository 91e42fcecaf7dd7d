"""Guided inpainting with harmonization end to end: experiment=blockwise_guided trains on COCO composites
(a fixture tree with polygon annotations) through train.py, and predict.py pastes a guide into a box of a
photo of another size and writes the result; a checkpoint without a guided mode is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from checkpoints import tiny_gatedconv_checkpoint
from datamodules.image_io import read_image
from fixture_trees import coco_objects_tree
from suite_cli import run

CONF = Path(__file__).resolve().parents[1] / "conf"

TINY = (
    "experiment=blockwise_guided",
    "model.generator.channels=[4,8,8]",
    "model.generator.head_blocks=1",
    "model.discriminator.channels=4",
    "model.patch_perceptual.backbone_weights=random",
    "model.schedule.head_iterations=1",
    "model.schedule.block_iterations=1",
    "trainer=debug",
    "trainer.max_steps=-1",
    "logger=none",
    "data.size=64",
    "data.batch_size=2",
    "data.eval_batch_size=2",
    "data.num_workers=0",
    "data.val_limit=2",
    "data.test_limit=2",
)


@pytest.mark.slow  # trains, then predicts in a subprocess
def test_train_on_composites_then_predict_with_a_guide(tmp_path):
    data = tmp_path / "data"
    for folder in ("train2017", "val2017"):
        coco_objects_tree(data / "coco", n=4, folder=folder)
    run("train.py", *TINY, f"paths.data_dir={data}", f"hydra.run.dir={tmp_path / 'run'}")
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert checkpoint.is_file() and (tmp_path / "run" / "metrics.json").is_file()

    photos = tmp_path / "photos"
    photos.mkdir()
    pixels = np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photos / "street.png")
    guide = np.zeros((20, 20, 4), np.uint8)
    guide[..., :3] = (250, 20, 20)
    guide[4:16, 4:16, 3] = 255  # an opaque object in a transparent margin, which is inpainted
    Image.fromarray(guide, "RGBA").save(tmp_path / "object.png")
    out = tmp_path / "out"
    run(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"input_dir={photos}",
        f"guide={tmp_path / 'object.png'}",
        "box=[30,10,20,24]",
        f"output_dir={out}",
        f"hydra.run.dir={tmp_path / 'predict'}",
    )
    result, original = read_image(out / "street.png"), read_image(photos / "street.png")
    assert result.shape == original.shape == (3, 50, 70)
    box = torch.zeros(50, 70, dtype=torch.bool)
    box[10:34, 30:50] = True
    assert torch.equal(result[:, ~box], original[:, ~box])  # outside the box nothing changes
    assert (result[:, box] - original[:, box]).abs().mean() > 0.01  # inside, the guide's box was restored

    # a box reaching outside the image is that file's failure, listed with the reason
    refused = run(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"input_dir={photos}",
        f"guide={tmp_path / 'object.png'}",
        "box=[60,10,20,24]",
        f"output_dir={tmp_path / 'out2'}",
        f"hydra.run.dir={tmp_path / 'predict2'}",
        check=False,
    )
    assert refused.returncode == 1
    assert (
        "box [60, 10, 20, 24] reaches outside the 70×50 image"
        in (tmp_path / "out2" / "failures.tsv").read_text()
    )


def test_the_network_sees_the_composite_and_plain_inpainting_a_zero_filled_hole():
    """§4.4: the composite (the box from I_g, background included) "is given to the network as input";
    without a guide the hole holds the unknown pixels, which must not reach the network."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=list(TINY[:5]))
    torch.manual_seed(0)
    model = instantiate(cfg.model).eval()
    composite = torch.rand(1, 3, 32, 32)
    hole, obj = torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)
    hole[..., 8:24, 8:16], obj[..., 8:24, 16:24] = 1, 1
    changed = composite.clone()
    changed[..., 8:24, 8:16] = 1 - changed[..., 8:24, 8:16]  # other pasted background in the box
    with torch.no_grad():
        assert not torch.allclose(model.guided(composite, hole, obj), model.guided(changed, hole, obj))
        assert torch.equal(model(composite, hole), model(changed, hole))


def test_a_checkpoint_without_a_guided_mode_is_refused(tmp_path, tmp_path_factory):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photos / "a.png")
    result = run(
        "predict.py",
        f"ckpt_path={tiny_gatedconv_checkpoint(tmp_path_factory)}",
        f"input_dir={photos}",
        f"guide={photos / 'a.png'}",
        "box=[0,0,8,8]",
        f"output_dir={tmp_path / 'out'}",
        f"hydra.run.dir={tmp_path / 'predict'}",
        check=False,
    )
    assert result.returncode == 2
    assert (
        "guide= needs a guided-inpainting checkpoint (experiment=blockwise_guided)"
        in result.stdout + result.stderr
    )
