"""experiment=blockwise takes its images as the data config gives them: §4.1's resize-and-crop to 256² is
the photo datasets' own transform, and a dataset of another size (the synthetic textures) is neither
upscaled for training nor evaluated at a size it did not train at."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

CONF = Path(__file__).resolve().parents[1] / "conf"


def transforms(experiment: str, data: str) -> tuple[list, list]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}", f"data={data}"])
    return list(cfg.data.train_transform.transforms), list(cfg.data.eval_transform.transforms)


def test_synthetic_textures_are_not_upscaled():
    train, evaluation = transforms("blockwise", "synthetic")
    assert train == [] and evaluation == []


@pytest.mark.parametrize("data", ["coco", "celeba"])
def test_photos_resize_then_crop_256(data):
    train, evaluation = transforms("blockwise", data)
    assert [(t._target_.rsplit(".", 1)[-1], t.size) for t in train[:2]] == [
        ("Resize", 286),
        ("RandomCrop", 256),
    ]
    assert evaluation[-1].size == 256


def test_the_512_model_is_evaluated_at_512():
    train, evaluation = transforms("blockwise_512", "coco")
    assert (train[1].size, evaluation[-1].size) == (512, 512)
