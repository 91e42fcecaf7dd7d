"""Errors at once: a config typo, a missing data root or checkpoint stop train.py / evaluate.py /
predict.py before torch loads, with the key, the path and the fix; a mask folder pairs masks with images by
stem and names the image, the mask and the fix when one is missing, of another size or without a hole;
predict.py refuses an empty folder and says where it looked for a mask."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from datamodules.datasets.base import FileList
from datamodules.image_io import ImageReadError
from datamodules.inpainting_dataset import InpaintingDataset
from datamodules.masks.mask_folder import MaskFolder
from fixture_trees import write_image
from suite.predict import load_inputs, predict
from suite_cli import REPO


def launch(script: str, *overrides: str, tmp_path: Path) -> tuple[int, str]:
    """`python -X importtime <script> overrides...` without HYDRA_FULL_ERROR (as a user runs it): its exit
    status and output, after asserting that it never imported torch."""
    env = {key: value for key, value in os.environ.items() if key != "HYDRA_FULL_ERROR"}
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            str(REPO / script),
            f"hydra.run.dir={tmp_path / 'run'}",
            *overrides,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    imported = [
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "import time:" in line
    ]
    assert imported and "torch" not in imported and "pytorch_lightning" not in imported
    output = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if "import time:" not in line
    )
    assert "Traceback" not in output
    return result.returncode, " ".join(output.split())


# ---------------------------------------------------------------- before torch loads


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model=gatedcon", ("Could not find 'model/gatedcon'", "Available options in 'model'", "gatedconv")),
        ("trainer.max_step=3", ("Key 'max_step' is not in struct", "+trainer.max_step=3")),
    ],
)
def test_a_config_typo_is_reported_before_torch_loads(tmp_path, override, expected):
    status, output = launch("train.py", override, tmp_path=tmp_path)
    assert status == 1
    for text in expected:
        assert text in output


def test_a_missing_data_root_names_the_key_and_the_fix(tmp_path):
    missing = tmp_path / "no_such_folder"
    status, output = launch("train.py", "data=folder", f"data.source.root={missing}", tmp_path=tmp_path)
    assert status == 2
    assert f"data.source.root={missing} does not exist: pass data.source.root=<the dataset's folder" in output

    status, output = launch("evaluate.py", "data=places2", f"paths.data_dir={tmp_path}", tmp_path=tmp_path)
    assert status == 2  # checked before the (missing) checkpoint
    assert f"data.source.root={tmp_path / 'places365'} does not exist" in output
    assert "or paths.data_dir=<the folder holding the datasets>" in output

    status, output = launch("train.py", "data=folder", tmp_path=tmp_path)
    assert status == 2
    assert "data.source.root is not set. Pass data.source.root=<the dataset's folder" in output


def test_an_unset_mask_folder_is_reported_before_torch_loads(tmp_path):
    status, output = launch("evaluate.py", "mode=colorization", "mask=folder", tmp_path=tmp_path)
    assert status == 2
    assert "mask.eval.root is not set. Pass mask.eval.root=<a folder of mask images (white = hole)>" in output


@pytest.mark.parametrize("script", ["train.py", "evaluate.py", "predict.py"])
def test_a_missing_checkpoint_is_reported_before_torch_loads(tmp_path, script):
    missing = tmp_path / "no_such_run" / "last.ckpt"
    photos = (
        (f"input_dir={write_image(tmp_path / 'photos' / 'a.png').parent}",) if script == "predict.py" else ()
    )
    status, output = launch(script, f"ckpt_path={missing}", *photos, tmp_path=tmp_path)
    assert status == 2
    assert f"checkpoint not found: {missing} (ckpt_path)" in output
    assert "ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt" in output


def test_evaluate_without_a_checkpoint_says_to_pass_one(tmp_path):
    status, output = launch("evaluate.py", tmp_path=tmp_path)
    assert status == 2
    assert "ckpt_path is not set. Pass the file a training run wrote" in output


def test_predict_on_an_empty_folder_is_refused(tmp_path):
    checkpoint = tmp_path / "last.ckpt"
    checkpoint.write_bytes(b"")  # never loaded: the folder is refused first
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    status, output = launch(
        "predict.py", f"ckpt_path={checkpoint}", f"input_dir={tmp_path / 'photos'}", tmp_path=tmp_path
    )
    assert status == 2
    assert f"input_dir={tmp_path / 'photos'} holds no image to inpaint" in output


def test_predict_refuses_a_missing_mask_dir_before_torch_loads(tmp_path):
    checkpoint = tmp_path / "last.ckpt"
    checkpoint.write_bytes(b"")
    write_image(tmp_path / "photos" / "a.png")
    missing = tmp_path / "masks"
    overrides = (f"ckpt_path={checkpoint}", f"input_dir={tmp_path / 'photos'}", f"mask_dir={missing}")
    status, output = launch("predict.py", *overrides, tmp_path=tmp_path)
    assert status == 2
    assert f"mask_dir={missing} is not a folder" in output


# ---------------------------------------------------------------- after: predict.py's second line


def test_predict_names_the_mask_it_looked_for(tmp_path):
    image = write_image(tmp_path / "photos" / "street.png")
    (tmp_path / "masks").mkdir()
    cfg = OmegaConf.create({"mask_dir": str(tmp_path / "masks"), "mask_suffix": "_mask"})
    with pytest.raises(ImageReadError, match=f"no mask {tmp_path / 'masks' / 'street.*'} found"):
        load_inputs(image, {"mask": None, "hint": None}, cfg)
    cfg.mask_dir = None
    with pytest.raises(ImageReadError, match=f"no mask {tmp_path / 'photos' / 'street_mask.*'} found"):
        load_inputs(image, {"mask": None, "hint": None}, cfg)


def test_predict_refuses_a_folder_without_an_input_after_the_pre_flight(tmp_path, caplog):
    """A file the pre-flight takes for an image (by its extension) that the suite does not read: refused
    before the checkpoint is read."""
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "photos" / "anim.gif")
    companions = {"mask_dir": None, "mask_suffix": "_mask", "hint_dir": None, "hint_suffix": "_hint"}
    cfg = OmegaConf.create(
        {"device": "cpu", "input_dir": str(tmp_path / "photos"), "ckpt_path": "-", **companions}
    )
    assert predict(cfg) == 2
    assert f"input_dir={tmp_path / 'photos'} holds no image to inpaint" in caplog.text


# ---------------------------------------------------------------- mask folders: pairing by stem


def mask_png(path: Path, size: tuple[int, int], hole: bool = True) -> Path:
    """A white (hole) square in the top-left quarter of a (width, height) mask, or none."""
    array = np.zeros(size[::-1], np.uint8)
    if hole:
        array[: size[1] // 2, : size[0] // 2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def folder_config(root: Path, *overrides: str):
    """mask=folder's evaluation generator for `root`, as the config builds it."""
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "conf")):
        cfg = compose("train", overrides=["mask=folder", f"mask.eval.root={root}", *overrides])
    return instantiate(cfg.mask.eval)


def dataset(
    tmp_path: Path, masks: MaskFolder, names: tuple[str, ...] = ("b.jpg", "a.png")
) -> InpaintingDataset:
    images = [write_image(tmp_path / "images" / name, size=(12, 10), seed=i) for i, name in enumerate(names)]
    return InpaintingDataset(FileList(images), masks)


def test_mask_folder_pairs_each_image_with_the_mask_of_its_stem(tmp_path):
    mask_png(tmp_path / "masks" / "a.png", (12, 10))
    array = np.zeros((10, 12), np.uint8)  # b's mask: the two bottom rows
    array[-2:] = 255
    Image.fromarray(array).save(tmp_path / "masks" / "b.png")
    masks = folder_config(tmp_path / "masks")
    assert masks.pairing == "by_stem"
    data = dataset(tmp_path, masks)  # b.jpg first: not the first file of the mask folder
    assert data[0]["mask"][0].numpy().tolist() == (array > 0).astype(np.float32).tolist()
    assert data[1]["mask"][0, :5, :6].all() and data[1]["mask"].sum() == 30


def test_a_missing_mask_is_refused_when_the_dataset_is_built(tmp_path):
    mask_png(tmp_path / "masks" / "a.png", (12, 10))
    with pytest.raises(FileNotFoundError) as error:
        dataset(tmp_path, folder_config(tmp_path / "masks"))
    message = str(error.value)
    assert "1 of 2 images have no mask" in message
    assert f"image {tmp_path / 'images' / 'b.jpg'}: no mask {tmp_path / 'masks'}/b.* found" in message
    assert "mask.eval.pairing=by_order" in message


def test_a_mask_of_another_size_names_both_files(tmp_path):
    mask_png(tmp_path / "masks" / "a.png", (12, 10))
    mask_png(tmp_path / "masks" / "b.png", (16, 16))
    data = dataset(tmp_path, folder_config(tmp_path / "masks"))
    with pytest.raises(ValueError) as error:
        data[0]
    message = str(error.value)
    assert (
        f"mask {tmp_path / 'masks' / 'b.png'} is 16×16 but image {tmp_path / 'images' / 'b.jpg'} is 12×10"
        in message
    )
    assert "Put a mask <stem>.png of the image's size" in message


def test_a_mask_without_a_hole_names_both_files(tmp_path):
    mask_png(tmp_path / "masks" / "a.png", (12, 10), hole=False)
    data = dataset(tmp_path, folder_config(tmp_path / "masks"), names=("a.png",))
    with pytest.raises(ValueError) as error:
        data[0]
    message = str(error.value)
    assert (
        f"mask {tmp_path / 'masks' / 'a.png'} of image {tmp_path / 'images' / 'a.png'} has no hole" in message
    )
    assert "mask.eval.polarity=black_is_hole" in message


def test_pairing_by_order_stays_an_option(tmp_path):
    mask_png(tmp_path / "masks" / "00000.png", (24, 20))  # another name and size: resized, by position
    data = dataset(tmp_path, folder_config(tmp_path / "masks", "mask.eval.pairing=by_order"))
    for index in range(2):
        assert data[index]["mask"].sum() == 30  # the 12×10 quarter of the resized mask
    with pytest.raises(ValueError, match="pairing must be auto, by_stem or by_order"):
        MaskFolder(tmp_path / "masks", pairing="by_name")


def test_two_masks_of_one_stem_are_refused(tmp_path):
    mask_png(tmp_path / "masks" / "a.png", (12, 10))
    mask_png(tmp_path / "masks" / "a.jpg", (12, 10))
    with pytest.raises(ValueError, match=r"two masks for images named a\.\*: a\.jpg and a\.png"):
        MaskFolder(tmp_path / "masks", pairing="by_stem")
