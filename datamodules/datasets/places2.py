"""Places365-Standard ("Places2"), read from its own list files as distributed.

The lists are parsed here rather than through torchvision's Places365, which rejects copies whose list
files differ in md5 from the ones it knows. The 1.8 M training paths are built from the list (only a
sample is checked on disk) and held as one bytes array, not 1.8 M Python objects, so listing takes about
a second and DataLoader workers do not slowly copy the list through reference counting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from datamodules.datasets.base import DatasetLayoutError, ImageList, ImageSource
from datamodules.datasets.listing import check_sample, check_split_name
from datamodules.image_io import read_image
from datamodules.seeding import SOURCE_STREAM, rng_for

TRAIN_LIST = "places365_train_standard.txt"
VAL_LIST = "places365_val.txt"
# torchvision's download renames data_256/ to data_256_standard/ (and data_large/ likewise).
TRAIN_DIRS = {"256": ("data_256", "data_256_standard"), "large": ("data_large", "data_large_standard")}
VAL_DIRS = {"256": "val_256", "large": "val_large"}
LAYOUT = """\
<root>/
  places365_train_standard.txt   lines like "/a/airfield/00000001.jpg 0"
  places365_val.txt              lines like "Places365_val_00000001.jpg 165"
  data_256/a/airfield/00000001.jpg ...     (train_variant=256; or data_256_standard/)
  data_large/a/airfield/00000001.jpg ...   (train_variant=large; or data_large_standard/)
  val_256/Places365_val_00000001.jpg ...   (eval_variant=256)
  val_large/Places365_val_00000001.jpg ... (eval_variant=large)
"""


def read_list(path: Path) -> np.ndarray:
    """The first field of every line ("/a/airfield/00000001.jpg 0" -> b"a/airfield/00000001.jpg")."""
    with open(path, "rb") as f:
        return np.array([line.split(maxsplit=1)[0].lstrip(b"/") for line in f if line.strip()])


class ListedFiles(ImageList):
    """Images named relative to one folder, stored compactly as a numpy bytes array."""

    def __init__(self, directory: str | Path, names: np.ndarray):
        self.directory, self.names = str(directory), names

    def __len__(self) -> int:
        return len(self.names)

    def name(self, index: int) -> str:
        return f"{self.directory}/{self.names[index].decode()}"

    def load(self, index: int) -> torch.Tensor:
        return read_image(self.name(index))


class Places2(ImageSource):
    """Places365-Standard: train = the train list; val and test = the official val list (36,500 images).

    The test labels of Places365 are withheld and the inpainting papers test on the val list (EII §4.1,
    resized to 512×640), so val and test are that list: eval_variant "large" gives the full-size val
    images to resize from, "256" the 256×256 ones. val_size > 0 instead holds that many images out of
    the train list by a seeded draw (split_seed) for a validation set disjoint from the test images.
    """

    def __init__(
        self,
        root: str,
        train_variant: str | int = "256",
        eval_variant: str | int = "large",
        val_size: int = 0,
        split_seed: int = 0,
    ):
        # str(): YAML reads an unquoted 256 as an int.
        self.root, self.train_variant, self.eval_variant = str(root), str(train_variant), str(eval_variant)
        for what, variant in (("train_variant", self.train_variant), ("eval_variant", self.eval_variant)):
            if variant not in VAL_DIRS:
                raise ValueError(f"Places2 {what} must be one of {tuple(VAL_DIRS)}, got {variant!r}")
        self.val_size, self.split_seed = val_size, split_seed

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("Places2", self.root, problem, LAYOUT)

    def _listed(self, list_name: str, dir_names: tuple[str, ...], variant_key: str) -> ListedFiles:
        root = Path(self.root)
        if not root.is_dir():
            raise self._error("the data root does not exist")
        if not (root / list_name).is_file():
            raise self._error(f"{list_name} is missing")
        directory = next((root / d for d in dir_names if (root / d).is_dir()), None)
        if directory is None:
            others = "256" if getattr(self, variant_key) == "large" else "large"
            raise self._error(
                f"no {' or '.join(d + '/' for d in dir_names)} folder (or set {variant_key}={others})"
            )
        files = ListedFiles(directory, read_list(root / list_name))
        if not len(files):
            raise self._error(f"{list_name} lists no images")
        check_sample(files, "Places2", self.root, LAYOUT, list_name)
        return files

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        if name == "test" or (name == "val" and not self.val_size):
            return self._listed(VAL_LIST, (VAL_DIRS[self.eval_variant],), "eval_variant")
        train = self._listed(TRAIN_LIST, TRAIN_DIRS[self.train_variant], "train_variant")
        held_out = np.zeros(len(train), dtype=bool)
        held_out[rng_for(self.split_seed, SOURCE_STREAM).permutation(len(train))[: self.val_size]] = True
        return ListedFiles(train.directory, train.names[held_out if name == "val" else ~held_out])
