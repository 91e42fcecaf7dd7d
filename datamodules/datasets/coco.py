"""COCO 2017 (Lin et al., ECCV 2014) as distributed: train2017/000000000009.jpg …, val2017/, test2017/
(118,287 / 5,000 / 40,670 images), and annotations/instances_{train,val}2017.json for object masks."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name, list_images

LAYOUT = """\
<root>/
  train2017/000000000009.jpg ...
  val2017/000000000139.jpg ...
  test2017/000000000001.jpg ...           (the test split; or data.source.test_dir=val2017)
  annotations/instances_train2017.json    (object masks, for guided inpainting)
"""


class COCO(ImageSource):
    """Each split is one folder of the distribution; the test split defaults to test2017 (the papers'
    "COCO test set"), whose images come without annotations."""

    def __init__(
        self, root: str, train_dir: str = "train2017", val_dir: str = "val2017", test_dir: str = "test2017"
    ):
        self.root = str(root)
        self.dirs = {"train": train_dir, "val": val_dir, "test": test_dir}

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("COCO", self.root, problem, LAYOUT)

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        directory = Path(self.root, self.dirs[name])
        if not directory.is_dir():
            fix = (
                " (to test on the validation images: data.source.test_dir=val2017)" if name == "test" else ""
            )
            raise self._error(f"no {self.dirs[name]}/ folder for the {name} split{fix}")
        images = list_images(directory, recursive=False)
        if not images:
            raise self._error(f"{directory} holds no images")
        return FileList(images)

    def annotation_file(self, name: str) -> Path:
        """annotations/instances_<dir>.json of a split (object segmentations)."""
        path = Path(self.root, "annotations", f"instances_{self.dirs[name]}.json")
        if not path.is_file():
            raise self._error(f"{path.relative_to(self.root)} is missing (the split's object annotations)")
        return path
