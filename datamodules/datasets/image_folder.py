"""A generic image folder or file list, and the listing / seeded-splitting helpers every source uses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from datamodules.datasets.base import SPLITS, DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.image_io import is_image_file
from datamodules.seeding import SOURCE_STREAM, rng_for

VAL_FOLDERS = ("val", "valid", "validation")
LAYOUT = """\
<root>/                      any tree of images (.jpg .png ..., any case), split at random, or
<root>/train/ val/ test/     fixed splits (val/ or test/ may be missing: the other is used for both), or
<list>.txt                   one image path per line, relative to the list's folder or absolute
"""


def list_images(directory: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under `directory` (extensions in any case), sorted so listings are reproducible."""
    if not recursive:
        with os.scandir(directory) as entries:
            return sorted(Path(e.path) for e in entries if e.is_file() and is_image_file(e.name))
    found = [
        Path(folder, name)
        for folder, _, names in os.walk(directory, followlinks=True)
        for name in names
        if is_image_file(name)
    ]
    return sorted(found)


def check_sample(images: ImageList, dataset: str, root: str, layout: str, listed_in: str) -> None:
    """Stat a few evenly spaced entries of a long list instead of millions of files one by one."""
    for i in np.unique(np.linspace(0, len(images) - 1, num=min(8, len(images))).astype(int)):
        if not os.path.isfile(images.name(int(i))):
            problem = f"{images.name(int(i))} (listed in {listed_in}) is missing"
            raise DatasetLayoutError(dataset, root, problem, layout)


def _count(size: int | float, total: int, what: str) -> int:
    """An int is a number of images, a float in [0, 1) a fraction of `total`."""
    if isinstance(size, float):
        if not 0.0 <= size < 1.0:
            raise ValueError(f"{what} as a fraction must be in [0, 1), got {size}")
        return round(size * total)
    if size < 0:
        raise ValueError(f"{what} must be >= 0, got {size}")
    return int(size)


def seeded_split(
    total: int, test_size: int | float, val_size: int | float, seed: int
) -> dict[str, np.ndarray]:
    """Split indices 0..total-1 into sorted train / val / test index arrays by a seeded permutation.

    The test set is the head of the permutation, so it depends only on (total, test_size, seed): changing
    val_size never moves an image in or out of the test set. val_size 0 makes val the test set (the
    papers hold out no separate validation set). `seed` is the split's own seed, not the run's `seed`,
    so that every run of a sweep is scored on the same test images.
    """
    n_test = _count(test_size, total, "test_size")
    n_val = _count(val_size, total, "val_size")
    if n_test < 1 or n_test + n_val >= total:
        raise ValueError(f"cannot split {total} images into {n_test} test + {n_val} val + at least 1 train")
    order = rng_for(seed, SOURCE_STREAM).permutation(total)
    test = np.sort(order[:n_test])
    val = np.sort(order[n_test : n_test + n_val]) if n_val else test
    return {"train": np.sort(order[n_test + n_val :]), "val": val, "test": test}


def check_split_name(name: str) -> None:
    if name not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {name!r}")


class ImageFolder(ImageSource):
    """Any folder of images (searched recursively) or a .txt file list.

    Splits come from train/ val/ test/ subfolders when train/ and val/ or test/ exist; otherwise the
    images are split by `seeded_split(test_size, val_size, split_seed)` (int = count, float = fraction).
    """

    def __init__(
        self, root: str, test_size: int | float = 0.1, val_size: int | float = 0, split_seed: int = 0
    ):
        self.root, self.test_size, self.val_size, self.split_seed = str(root), test_size, val_size, split_seed

    def _folders(self) -> dict[str, Path] | None:
        root = Path(self.root)
        val = next((root / v for v in VAL_FOLDERS if (root / v).is_dir()), None)
        test = root / "test" if (root / "test").is_dir() else None
        if not (root / "train").is_dir() or (val is None and test is None):
            return None
        return {"train": root / "train", "val": val or test, "test": test or val}

    def _listed(self) -> list[Path]:
        list_file = Path(self.root)
        lines = [line.strip() for line in list_file.read_text().splitlines()]
        return [list_file.parent / line for line in lines if line and not line.startswith("#")]

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("ImageFolder", self.root, problem, LAYOUT)

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        root = Path(self.root)
        if root.is_file():
            paths = self._listed()
            if paths:
                check_sample(FileList(paths), "ImageFolder", self.root, LAYOUT, root.name)
        elif root.is_dir():
            folders = self._folders()
            if folders is not None:
                paths = list_images(folders[name])
                if not paths:
                    raise self._error(f"no images in {folders[name]}")
                return FileList(paths)
            paths = list_images(root)
        else:
            raise self._error("root is neither a folder nor a list file")
        if not paths:
            raise self._error("no image files found")
        indices = seeded_split(len(paths), self.test_size, self.val_size, self.split_seed)[name]
        return FileList([paths[i] for i in indices])
