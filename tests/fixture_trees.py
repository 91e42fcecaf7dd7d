"""Tiny copies of each dataset in its exact distributed layout, with small generated images.

Each builder writes under `root` and returns what the source should yield: the image paths of every
split, in the order the dataset's own list files give them (sorted where the dataset has no list).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, size: tuple[int, int] = (12, 10), seed: int = 0) -> Path:
    """A random RGB image of size (width, height); the format follows the extension (any case)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def places2_tree(
    root: Path,
    n_train: int = 6,
    n_val: int = 4,
    variant: str = "256",
    eval_variant: str | None = None,
    torchvision_names: bool = False,
) -> dict[str, list[Path]]:
    """places365_train_standard.txt / places365_val.txt with data_<variant>[_standard]/ and
    val_<eval_variant>/ (eval_variant defaults to variant)."""
    categories = ("a/airfield", "b/bakery/shop", "c/canyon")
    train_dir = root / (f"data_{variant}_standard" if torchvision_names else f"data_{variant}")
    train_lines, train = [], []
    for i in range(n_train):
        category = categories[i % len(categories)]
        name = f"{category}/{i // len(categories) + 1:08d}.jpg"
        train.append(write_image(train_dir / name, seed=i))
        train_lines.append(f"/{name} {i % len(categories)}\n")
    val_lines, val = [], []
    for i in range(n_val):
        name = f"Places365_val_{i + 1:08d}.jpg"
        val.append(write_image(root / f"val_{eval_variant or variant}" / name, seed=1000 + i))
        val_lines.append(f"{name} {i % 365}\n")
    (root / "places365_train_standard.txt").write_text("".join(train_lines))
    (root / "places365_val.txt").write_text("".join(val_lines))
    return {"train": train, "val": val, "test": val}


def paris_tree(root: Path, n_train: int = 5, n_eval: int = 3, nested: bool = False) -> dict[str, list[Path]]:
    """paris_train_original/*.JPG (a few .jpg too) and paris_eval_gt/*.png, or paris_eval/paris_eval_gt/."""
    train = [
        write_image(root / "paris_train_original" / f"{i + 1}_a.{'jpg' if i % 3 == 2 else 'JPG'}", seed=i)
        for i in range(n_train)
    ]
    eval_dir = root / "paris_eval" / "paris_eval_gt" if nested else root / "paris_eval_gt"
    evaluation = [write_image(eval_dir / f"{i:03d}_im.png", seed=100 + i) for i in range(n_eval)]
    (root / "paris_train_original" / "Thumbs.db").write_bytes(b"not an image")
    return {"train": sorted(train), "val": evaluation, "test": evaluation}


def celebahq_tree(root: Path, n: int = 20) -> dict[str, list[Path]]:
    """CelebA-HQ-img/0.jpg ... and the official-split files; returns the official split.

    HQ image i is CelebA image 1000 + 7·i, whose partition (list_eval_partition.txt) is i % 5 // 2 for
    the first 15 images (0 = train, 1 = val, 2 = test: 0, 0, 1, 1, 2, ...) and train after that.
    """
    images = [write_image(root / "CelebA-HQ-img" / f"{i}.jpg", seed=i) for i in range(n)]
    mapping, partition, splits = ["idx orig_idx orig_file\n"], [], {"train": [], "val": [], "test": []}
    for i in range(n):
        orig = 1000 + 7 * i
        mapping.append(f"{i} {orig - 1} {orig}.jpg\n")
        code = i % 5 // 2 if i < 15 else 0
        partition.append(f"{orig:06d}.jpg {code}\n")
        splits[("train", "val", "test")[code]].append(images[i])
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("".join(mapping))
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n" + "".join(partition))
    return splits


def celeba_tree(root: Path, n: int = 10, in_eval_folder: bool = False) -> dict[str, list[Path]]:
    """img_align_celeba/000001.jpg ... and list_eval_partition.txt (in Eval/ as the Drive copy has it, or
    at the root); image i's partition is 0, 0, 0, 1, 2, ... (i % 5 → train, train, train, val, test)."""
    splits: dict[str, list[Path]] = {"train": [], "val": [], "test": []}
    rows = []
    for i in range(1, n + 1):
        image = write_image(root / "img_align_celeba" / f"{i:06d}.jpg", size=(178, 218), seed=i)
        code = (0, 0, 0, 1, 2)[(i - 1) % 5]
        rows.append(f"{i:06d}.jpg {code}\n")
        splits[("train", "val", "test")[code]].append(image)
    partition = (
        root / "Eval" / "list_eval_partition.txt" if in_eval_folder else root / "list_eval_partition.txt"
    )
    partition.parent.mkdir(parents=True, exist_ok=True)
    partition.write_text("".join(rows))
    return splits


def coco_tree(root: Path, per_split: int = 3, test: bool = True) -> dict[str, list[Path]]:
    """train2017/ val2017/ (test2017/) with COCO's 12-digit file names."""
    splits = {}
    for name, folder in (("train", "train2017"), ("val", "val2017"), ("test", "test2017")):
        if name == "test" and not test:
            continue
        splits[name] = [
            write_image(root / folder / f"{1000 * k + i:012d}.jpg", size=(20, 16), seed=10 * k + i)
            for k, i in [(len(splits), i) for i in range(per_split)]
        ]
    return splits


def coco_objects_tree(root: Path, n: int = 4, size: int = 64, folder: str = "train2017") -> Path:
    """<folder>/ with n images, each holding one rectangular object of its own colour on a background of
    another, and annotations/instances_<folder>.json with the objects as polygons; returns the annotation
    file. Object k covers rows 16:40 and columns 8+4k:32+4k (24×24 px)."""
    images, annotations = [], []
    for k in range(n):
        pixels = np.zeros((size, size, 3), np.uint8)
        pixels[:] = (40 * k % 255, 200, 120)
        top, left = 16, 8 + 4 * k
        pixels[top : top + 24, left : left + 24] = (230, 30 + 40 * k, 60)
        name = f"{k + 1:012d}.jpg"
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / folder / name, quality=100)
        images.append({"id": k + 1, "file_name": name, "height": size, "width": size})
        polygon = [left, top, left + 24, top, left + 24, top + 24, left, top + 24]
        annotations.append(
            {
                "id": 100 + k,
                "image_id": k + 1,
                "category_id": 1,
                "segmentation": [polygon],
                "area": 576.0,
                "bbox": [left, top, 24, 24],
                "iscrowd": 0,
            }
        )
    path = root / "annotations" / f"instances_{folder}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "thing"}]})
    )
    return path


def nvidia_masks_tree(root: Path, count: int = 6, size: int = 64) -> Path:
    """irregular_mask/testing_mask_dataset/00000.png …: white holes on black, file i with a hole of
    (i + 1) · size/8 rows."""
    folder = root / "irregular_mask" / "testing_mask_dataset"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        array = np.zeros((size, size), np.uint8)
        array[size // 8 : size // 8 + (i + 1) * size // 8 // 2, size // 4 : 3 * size // 4] = 255
        Image.fromarray(array).save(folder / f"{i:05d}.png")
    return folder


def imagenet_tree(root: Path, kaggle: bool = True) -> dict[str, list[Path]]:
    """Two classes of two training images each and three validation images, in the Kaggle layout
    (ILSVRC/Data/CLS-LOC/, flat val/) or torchvision's (train/ and val/<wnid>/ at the root)."""
    base = root / "ILSVRC" / "Data" / "CLS-LOC" if kaggle else root
    train = [
        write_image(base / "train" / wnid / f"{wnid}_{i}.JPEG", seed=i)
        for wnid in ("n01440764", "n01443537")
        for i in range(2)
    ]
    val = [
        write_image(
            base / "val" / ("" if kaggle else "n01440764") / f"ILSVRC2012_val_{i:08d}.JPEG", seed=10 + i
        )
        for i in range(1, 4)
    ]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(val)}


def dtd_tree(root: Path, per_category: int = 4, folds: int = 10) -> dict[str, dict[str, list[Path]]]:
    """dtd/images/<category>/<category>_NNNN.jpg and dtd/labels/{train,val,test}{1..folds}.txt.

    In fold k, image j of each category is in split (j + k) % 3 (0 = train, 1 = val, 2 = test).
    Returns {fold: {split: paths}} with folds numbered "1".."10".
    """
    categories = ("banded", "dotted", "zigzagged")
    images = {
        (c, j): write_image(root / "dtd" / "images" / c / f"{c}_{j + 2:04d}.jpg", seed=10 * k + j)
        for k, c in enumerate(categories)
        for j in range(per_category)
    }
    (root / "dtd" / "images" / "waffled").mkdir()
    (root / "dtd" / "images" / "waffled" / ".directory").write_text("not an image")
    labels = root / "dtd" / "labels"
    labels.mkdir(parents=True)
    folds_out: dict[str, dict[str, list[Path]]] = {}
    for fold in range(1, folds + 1):
        folds_out[str(fold)] = {}
        for s, split in enumerate(("train", "val", "test")):
            members = [(c, j) for (c, j) in images if (j + fold) % 3 == s]
            (labels / f"{split}{fold}.txt").write_text(
                "".join(f"{c}/{c}_{j + 2:04d}.jpg\n" for c, j in members)
            )
            folds_out[str(fold)][split] = [images[m] for m in members]
    return folds_out


def ffhq_tree(
    root: Path,
    indices: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 60000, 60001),
    validation: tuple[int, ...] = (4, 5),
) -> dict[str, list[Path]]:
    """images1024x1024/<thousands>/<index>.png and an ffhq-dataset-v2.json marking `validation` as such.

    The json's split (its "category") deliberately differs from the split by image number (index ≥ 60000
    is validation) so a test can tell which one a source used. Returns the json's split.
    """
    entries, splits = {}, {"train": [], "val": []}
    for index in indices:
        file_path = f"images1024x1024/{index // 1000 * 1000:05d}/{index:05d}.png"
        path = write_image(root / file_path, seed=index)
        category = "validation" if index in validation else "training"
        splits["val" if category == "validation" else "train"].append(path)
        entries[str(index)] = {
            "category": category,
            "metadata": {"photo_title": 'title with "category": "validation" inside', "license": "CC"},
            "image": {"file_path": file_path, "pixel_size": [1024, 1024], "face_landmarks": [[1.5, 2.5]]},
            "thumbnail": {"file_path": f"thumbnails128x128/{index // 1000 * 1000:05d}/{index:05d}.png"},
            "in_the_wild": {"file_path": f"in-the-wild-images/{index // 1000 * 1000:05d}/{index:05d}.png"},
        }
    (root / "ffhq-dataset-v2.json").write_text(json.dumps(entries, indent=2))
    return splits


def eii_datasets(root: Path) -> Path:
    """The external-internal paper's four datasets in their distributed layouts, at the folder names that
    conf/data/*.yaml expect under paths.data_dir; CelebA-HQ and DTD large enough for the paper's random
    3,000 and 840 test images (EII §4.1). COCO and CelebA (the block-wise paper's), ImageNet CLS-LOC (the
    feature-translation paper's) and the NVIDIA irregular masks (EdgeConnect's training masks) beside them.
    Returns root."""
    places2_tree(root / "places365", eval_variant="large")
    paris_tree(root / "paris_streetview")
    celebahq_tree(root / "CelebAMask-HQ", n=3004)
    dtd_tree(root, per_category=284)
    coco_tree(root / "coco", per_split=4)
    for folder in ("train2017", "val2017"):  # object annotations for guided inpainting
        coco_objects_tree(root / "coco", folder=folder)
    celeba_tree(root / "celeba", n=10)
    imagenet_tree(root / "imagenet")
    nvidia_masks_tree(root)
    return root
