"""Listing and seeded-splitting helpers that every file-based source uses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from datamodules.datasets.base import SPLITS, DatasetLayoutError, ImageList
from datamodules.image_io import is_image_file
from datamodules.seeding import SOURCE_STREAM, rng_for


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
