"""Image sources on fixture trees in each dataset's distributed layout, and the data configs."""

from __future__ import annotations

import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from datamodules.datasets.base import DatasetLayoutError, ImageList
from datamodules.datasets.celeba import CelebA
from datamodules.datasets.celebahq import CelebAHQ
from datamodules.datasets.coco import COCO
from datamodules.datasets.dtd import DTD
from datamodules.datasets.ffhq import FFHQ
from datamodules.datasets.image_folder import ImageFolder
from datamodules.datasets.imagenet import ImageNet
from datamodules.datasets.listing import seeded_split
from datamodules.datasets.paris_streetview import ParisStreetView
from datamodules.datasets.places2 import Places2
from datamodules.datasets.synthetic import SyntheticTextures
from datamodules.inpainting_datamodule import InpaintingDataModule
from datamodules.masks.center_square import CenterSquare
from fixture_trees import (
    celeba_tree,
    celebahq_tree,
    coco_tree,
    dtd_tree,
    ffhq_tree,
    imagenet_tree,
    paris_tree,
    places2_tree,
    write_image,
)

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def paths(images: ImageList) -> list[Path]:
    return [Path(images.name(i)) for i in range(len(images))]


def all_splits(source) -> dict[str, list[Path]]:
    return {name: paths(source.split(name)) for name in ("train", "val", "test")}


# Places2 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("torchvision_names", [False, True])
def test_places2_splits_follow_the_list_files(tmp_path, torchvision_names):
    expected = places2_tree(tmp_path, n_train=7, n_val=4, torchvision_names=torchvision_names)
    source = Places2(tmp_path, train_variant="256", eval_variant="256")
    assert all_splits(source) == expected
    image = source.split("train").load(3)
    assert image.shape == (3, 10, 12) and image.dtype == torch.float32


def test_places2_large_variant(tmp_path):
    expected = places2_tree(tmp_path, variant="large")
    assert all_splits(Places2(tmp_path, train_variant="large", eval_variant="large")) == expected


def test_places2_val_held_out_of_train(tmp_path):
    expected = places2_tree(tmp_path, n_train=9)
    source = Places2(tmp_path, train_variant=256, eval_variant=256, val_size=3, split_seed=5)
    train, val = paths(source.split("train")), paths(source.split("val"))
    assert len(val) == 3 and not set(train) & set(val) and sorted(train + val) == sorted(expected["train"])
    assert paths(source.split("test")) == expected["test"]
    assert paths(Places2(tmp_path, "256", "256", val_size=3, split_seed=5).split("val")) == val


def test_places2_layout_errors(tmp_path):
    places2_tree(tmp_path)  # 256 variants only
    with pytest.raises(DatasetLayoutError, match=r"no val_large/ folder \(or set eval_variant=256\)") as err:
        Places2(tmp_path).split("test")  # default eval_variant=large: no val_large/
    assert "places365_train_standard.txt" in str(err.value) and "val_large/" in str(err.value)
    (tmp_path / "places365_val.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="places365_val.txt is missing"):
        Places2(tmp_path, eval_variant="256").split("val")
    with pytest.raises(DatasetLayoutError, match=r"data_large_standard/ folder \(or set train_variant=256"):
        Places2(tmp_path, train_variant="large").split("train")
    with pytest.raises(DatasetLayoutError, match="data root does not exist"):
        Places2(tmp_path / "nowhere").split("train")


def test_places2_checks_a_sample_of_the_listed_files(tmp_path):
    expected = places2_tree(tmp_path, n_train=5)
    expected["train"][-1].unlink()
    with pytest.raises(DatasetLayoutError, match="00000002.jpg .listed in places365_train_standard.txt"):
        Places2(tmp_path).split("train")


# Paris StreetView -------------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [False, True])
def test_paris_streetview_splits(tmp_path, nested):
    expected = paris_tree(tmp_path, n_train=5, n_eval=3, nested=nested)
    assert all_splits(ParisStreetView(tmp_path)) == expected
    assert any(p.suffix == ".JPG" for p in expected["train"]) and any(
        p.suffix == ".jpg" for p in expected["train"]
    )


def test_paris_streetview_wrong_root(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no paris_train_original/ folder") as err:
        ParisStreetView(tmp_path).split("train")
    assert "paris_eval/paris_eval_gt/" in str(err.value)  # the expected layout is shown


# CelebA-HQ --------------------------------------------------------------------------------------------


def test_celebahq_official_split(tmp_path):
    expected = celebahq_tree(tmp_path, n=20)
    assert all_splits(CelebAHQ(tmp_path, split_mode="official")) == expected
    assert [len(v) for v in expected.values()] == [11, 6, 3]


def test_celebahq_official_needs_its_files(tmp_path):
    celebahq_tree(tmp_path)
    (tmp_path / "list_eval_partition.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="list_eval_partition.txt is missing") as err:
        CelebAHQ(tmp_path, split_mode="official").split("train")
    assert "CelebA-HQ-to-CelebA-mapping.txt" in str(err.value)


def test_celebahq_random_split(tmp_path):
    celebahq_tree(tmp_path, n=20)
    images = {tmp_path / "CelebA-HQ-img" / f"{i}.jpg" for i in range(20)}
    splits = all_splits(CelebAHQ(tmp_path, test_size=4, split_seed=1))
    assert len(splits["test"]) == 4 and splits["val"] == splits["test"]
    assert not set(splits["train"]) & set(splits["test"]) and len(splits["train"]) == 16
    assert set(splits["train"]) | set(splits["test"]) == images
    assert all_splits(CelebAHQ(tmp_path, test_size=4, split_seed=1)) == splits
    assert paths(CelebAHQ(tmp_path, test_size=4, split_seed=2).split("test")) != splits["test"]
    held_out = all_splits(CelebAHQ(tmp_path, test_size=4, val_size=3, split_seed=1))
    assert held_out["test"] == splits["test"]  # a validation set never changes the test set
    assert len(held_out["val"]) == 3 and len(held_out["train"]) == 13
    assert not set(held_out["val"]) & (set(held_out["train"]) | set(held_out["test"]))


def test_celebahq_file_lists(tmp_path):
    celebahq_tree(tmp_path, n=20)
    (tmp_path / "train.txt").write_text("".join(f"{i}.jpg\n" for i in range(15)))
    (tmp_path / "val.txt").write_text("00015.jpg\nCelebA-HQ-img/16.jpg\n17\n")
    source = CelebAHQ(tmp_path, split_mode="file_lists", train_list="train.txt", val_list="val.txt")
    splits = all_splits(source)
    image = tmp_path / "CelebA-HQ-img"
    assert splits["train"] == [image / f"{i}.jpg" for i in range(15)]
    assert splits["val"] == splits["test"] == [image / f"{i}.jpg" for i in (15, 16, 17)]
    (tmp_path / "val.txt").write_text("25.jpg\n")
    with pytest.raises(DatasetLayoutError, match="1 images named in val.txt are missing, e.g. 25.jpg"):
        source.split("val")


def test_celebahq_wrong_root(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no CelebA-HQ-img/ folder") as err:
        CelebAHQ(tmp_path).split("test")
    assert "CelebA-HQ-img/0.jpg ... 29999.jpg" in str(err.value)


# DTD --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fold", [1, 7])
def test_dtd_official_folds(tmp_path, fold):
    expected = dtd_tree(tmp_path, per_category=4)
    assert all_splits(DTD(tmp_path / "dtd", split_mode="official", fold=fold)) == expected[str(fold)]
    # the folder holding dtd/ works too
    assert all_splits(DTD(tmp_path, split_mode="official", fold=fold)) == expected[str(fold)]


def test_dtd_random_split(tmp_path):
    expected = dtd_tree(tmp_path, per_category=4)
    everything = {p for split in expected["1"].values() for p in split}
    splits = all_splits(DTD(tmp_path, test_size=3))
    assert len(splits["test"]) == 3 and splits["val"] == splits["test"]
    assert set(splits["train"]) | set(splits["test"]) == everything and len(splits["train"]) == 9


def test_dtd_layout_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no images/ folder") as err:
        DTD(tmp_path).split("train")
    assert "labels/train1.txt" in str(err.value)
    dtd_tree(tmp_path, folds=1)
    with pytest.raises(DatasetLayoutError, match="labels/test3.txt is missing"):
        DTD(tmp_path, split_mode="official", fold=3).split("test")


# FFHQ -------------------------------------------------------------------------------------------------


def test_ffhq_uses_the_json_categories(tmp_path):
    expected = ffhq_tree(tmp_path)
    splits = all_splits(FFHQ(tmp_path))
    assert splits == {"train": expected["train"], "val": expected["val"], "test": expected["val"]}
    subset = paths(FFHQ(tmp_path, test_size=1).split("test"))
    assert len(subset) == 1 and subset[0] in expected["val"]


def test_ffhq_without_json_splits_by_number(tmp_path):
    ffhq_tree(tmp_path)
    (tmp_path / "ffhq-dataset-v2.json").unlink()
    with pytest.warns(UserWarning, match="no ffhq-dataset-v2.json"):
        splits = all_splits(FFHQ(tmp_path))
    assert [p.stem for p in splits["train"]] == ["00000", "00001", "00002", "00003", "00004", "00005"]
    assert [p.stem for p in splits["val"]] == ["60000", "60001"] and splits["test"] == splits["val"]


def test_ffhq_layout_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no images1024x1024/ folder") as err:
        FFHQ(tmp_path).split("train")
    assert "ffhq-dataset-v2.json" in str(err.value)
    ffhq_tree(tmp_path)
    (tmp_path / "ffhq-dataset-v2.json").write_text('{"0": {"image": {"file_path": "elsewhere.png"}}}')
    with pytest.raises(DatasetLayoutError, match="not the FFHQ metadata file"):
        FFHQ(tmp_path).split("train")


# Generic folder ---------------------------------------------------------------------------------------


def test_image_folder_recursive_random_split(tmp_path):
    files = [write_image(tmp_path / "a" / f"{i}.{'PNG' if i % 2 else 'jpeg'}", seed=i) for i in range(6)]
    files += [write_image(tmp_path / "b" / "c" / f"{i}.JpG", seed=i) for i in range(4)]
    (tmp_path / "notes.txt").write_text("not an image")
    counted = all_splits(ImageFolder(tmp_path, test_size=2, val_size=1))
    assert [len(counted[s]) for s in ("train", "val", "test")] == [7, 1, 2]
    assert sorted(p for s in counted.values() for p in s) == sorted(files)
    fractions = all_splits(ImageFolder(tmp_path, test_size=0.3))
    assert len(fractions["test"]) == 3 and fractions["val"] == fractions["test"]


def test_image_folder_split_subfolders(tmp_path):
    train = [write_image(tmp_path / "train" / "x" / f"{i}.png", seed=i) for i in range(3)]
    test = [write_image(tmp_path / "test" / f"{i}.jpg", seed=i) for i in range(2)]
    assert all_splits(ImageFolder(tmp_path)) == {"train": train, "val": test, "test": test}


def test_image_folder_list_file(tmp_path):
    relative = [write_image(tmp_path / "imgs" / f"{i}.png", seed=i) for i in range(4)]
    absolute = write_image(tmp_path / "elsewhere" / "z.png")
    listing = tmp_path / "list.txt"
    listing.write_text("# my images\n" + "".join(f"imgs/{p.name}\n" for p in relative) + f"\n{absolute}\n")
    splits = all_splits(ImageFolder(listing, test_size=1))
    assert sorted(splits["train"] + splits["test"]) == sorted(relative + [absolute])


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="neither a folder nor a list file") as err:
        ImageFolder(tmp_path / "missing").split("train")
    assert "<root>/train/ val/ test/" in str(err.value)
    with pytest.raises(DatasetLayoutError, match="no image files found"):
        ImageFolder(tmp_path).split("train")
    with pytest.raises(ValueError, match="cannot split 3 images"):
        seeded_split(3, test_size=2, val_size=1, seed=0)


# Synthetic textures -----------------------------------------------------------------------------------


def test_synthetic_textures_are_deterministic_and_splits_disjoint():
    source = SyntheticTextures(size=(48, 64), num_train=20, num_val=5, num_test=6, seed=3)
    train = source.split("train")
    assert [len(source.split(s)) for s in ("train", "val", "test")] == [20, 5, 6]
    image = train.load(7)
    assert image.shape == (3, 48, 64) and image.dtype == torch.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert torch.equal(image, SyntheticTextures(size=(48, 64), seed=3).split("train").load(7))
    assert not torch.equal(image, SyntheticTextures(size=(48, 64), seed=4).split("train").load(7))
    train_images = [train.load(i) for i in range(20)]
    for name in ("val", "test"):
        for i in range(5):
            assert all(not torch.equal(source.split(name).load(i), t) for t in train_images)
    with pytest.raises(IndexError):
        train.load(20)


def test_synthetic_textures_are_diverse():
    images = torch.stack([SyntheticTextures(size=64).split("train").load(i) for i in range(48)])
    flat = images.flatten(1)
    distances = torch.cdist(flat, flat) + torch.eye(len(images)) * 1e9
    assert distances.min() > 1.0  # no two textures alike
    contrast = (images.amax((2, 3)) - images.amin((2, 3))).amax(1)
    assert contrast.min() > 0.25  # every texture shows its structure
    palettes = []
    for image in images:  # textures without a gradient are flat colors with anti-aliased edges
        pixels = (image.flatten(1).T * 255).round().to(torch.uint8)
        colors, counts = pixels.unique(dim=0, return_counts=True)
        palettes.append(colors[counts >= 0.01 * pixels.shape[0]])
    flat_colored = [p for p in palettes if len(p) >= 2]
    assert len(flat_colored) >= len(images) // 2
    assert max(len(p) for p in flat_colored) >= 4  # up to 4 colors per texture
    assert len(torch.cat(palettes).unique(dim=0)) > 60  # a wide palette across textures
    dominant = images.mean((2, 3)).argmax(1)
    assert set(dominant.tolist()) == {0, 1, 2}  # red-, green- and blue-dominated textures all occur


def test_synthetic_texture_speed():
    textures = SyntheticTextures(size=128).split("train")
    textures.load(0)
    start = time.perf_counter()
    for i in range(50):
        textures.load(i)
    assert (time.perf_counter() - start) / 50 < 0.01  # about 1 ms on one core; generous for busy CI


# Data configs -----------------------------------------------------------------------------------------

BUILDERS = {
    "places2": lambda root: places2_tree(root / "places365", eval_variant="large"),
    "paris_streetview": lambda root: paris_tree(root / "paris_streetview"),
    "celebahq": lambda root: celebahq_tree(root / "CelebAMask-HQ"),
    "dtd": lambda root: dtd_tree(root, per_category=2),
    "ffhq": lambda root: ffhq_tree(root / "ffhq", indices=tuple(range(6)), validation=(3, 4, 5)),
    "synthetic": lambda root: None,
}


@pytest.fixture
def config_dir(tmp_path):
    """conf/data/ with a minimal primary config defining what the data configs interpolate."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR / "data", conf / "data")
    (conf / "config.yaml").write_text(f"seed: 7\npaths:\n  data_dir: {tmp_path / 'data'}\n")
    return conf


@pytest.mark.filterwarnings("ignore:RandomCrop")  # the fixture images are smaller than the crops
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_data_configs_build_sources_on_the_conventional_folders(config_dir, tmp_path, name):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    BUILDERS[name](data_dir)
    small_test = ["data.source.test_size=1"] if name in ("celebahq", "dtd", "ffhq") else []
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+data={name}", *small_test])
    assert cfg.data.seed == 7 and cfg.data.batch_size == 16
    source = instantiate(cfg.data.source)
    rng = np.random.default_rng(0)
    for split, key in (("train", "train_transform"), ("test", "eval_transform")):
        images = source.split(split)
        transform = instantiate(cfg.data[key])
        if transform is not None:
            transform = pickle.loads(pickle.dumps(transform))  # DataLoader workers get pickled copies
        image = images.load(0) if transform is None else transform(images.load(0), rng)
        assert image.shape[0] == 3 and image.dtype == torch.float32
    module = instantiate(cfg.data)  # the keys match InpaintingDataModule's signature
    assert module.batch_size == 16


def test_folder_config_requires_a_root(config_dir):
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+data=folder"])
    with pytest.raises(Exception, match="root"):
        instantiate(cfg.data.source)


@pytest.mark.parametrize("in_eval_folder", [False, True])
def test_celeba_standard_partition(tmp_path, in_eval_folder):
    expected = celeba_tree(tmp_path, n=10, in_eval_folder=in_eval_folder)
    source = CelebA(str(tmp_path))
    for name in ("train", "val", "test"):
        assert source.split(name).paths == expected[name]
    assert source.split("train").load(0).shape == (3, 218, 178)


def test_celeba_layout_errors_name_the_problem_and_the_fix(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no img_align_celeba/ folder"):
        CelebA(str(tmp_path)).split("train")
    celeba_tree(tmp_path, n=5)
    (tmp_path / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(DatasetLayoutError, match=r"1 train images listed .* e\.g\. 000002\.jpg"):
        CelebA(str(tmp_path)).split("train")
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg train\n")
    with pytest.raises(DatasetLayoutError, match="line 1 is not"):
        CelebA(str(tmp_path)).split("test")


def test_a_random_test_limit_is_a_fixed_seeded_sample(tmp_path):
    def names(order: str, eval_seed: int = 0) -> list[str]:
        source = SyntheticTextures(size=16, num_train=4, num_val=4, num_test=40)
        data = InpaintingDataModule(
            source, test_limit=6, limit_order=order, eval_seed=eval_seed, eval_masks=CenterSquare()
        )
        images = data.dataset("test").images
        return [images.name(i) for i in range(len(images))]

    everything = SyntheticTextures(size=16, num_train=4, num_val=4, num_test=40).split("test")
    all_names = [everything.name(i) for i in range(len(everything))]
    assert names("first") == all_names[:6]
    sample = names("random")
    assert len(sample) == 6 and sample == names("random") and sample != all_names[:6]
    assert sample == sorted(sample, key=all_names.index)  # in dataset order
    assert names("random", eval_seed=1) != sample


def test_coco_splits_are_its_folders(tmp_path):
    expected = coco_tree(tmp_path)
    source = COCO(str(tmp_path))
    for name in ("train", "val", "test"):
        assert source.split(name).paths == expected[name]


def test_coco_without_test2017_says_how_to_test_on_val(tmp_path):
    expected = coco_tree(tmp_path, test=False)
    with pytest.raises(DatasetLayoutError, match=r"no test2017/ folder .*test_dir=val2017"):
        COCO(str(tmp_path)).split("test")
    assert COCO(str(tmp_path), test_dir="val2017").split("test").paths == expected["val"]
    with pytest.raises(DatasetLayoutError, match="annotations/instances_train2017.json is missing"):
        COCO(str(tmp_path)).annotation_file("train")


@pytest.mark.parametrize("kaggle", [True, False], ids=["kaggle", "torchvision"])
def test_imagenet_cls_loc_layouts(tmp_path, kaggle):
    expected = imagenet_tree(tmp_path, kaggle=kaggle)
    source = ImageNet(str(tmp_path))
    for name in ("train", "val", "test"):
        assert source.split(name).paths == expected[name]


def test_imagenet_without_its_folders_shows_the_layout(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"no train/ folder .*ILSVRC/Data/CLS-LOC"):
        ImageNet(str(tmp_path)).split("train")
