"""ImageNet CLS-LOC (ILSVRC 2012) as distributed, for the feature-translation paper (§4.1): the Kaggle
layout ILSVRC/Data/CLS-LOC/{train/<wnid>/*.JPEG, val/ILSVRC2012_val_*.JPEG} (1,281,167 / 50,000 images),
or torchvision's extracted layout {train,val}/<wnid>/*.JPEG. The labelled test images are the validation
set's: val and test are both it."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name, list_images

LAYOUT = """\
<root>/
  ILSVRC/Data/CLS-LOC/train/n01440764/n01440764_10026.JPEG ...   (Kaggle; or train/<wnid>/ at the root)
  ILSVRC/Data/CLS-LOC/val/ILSVRC2012_val_00000001.JPEG ...       (or val/ or val/<wnid>/ at the root)
"""


class ImageNet(ImageSource):
    def __init__(self, root: str):
        self.root = str(root)

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("ImageNet", self.root, problem, LAYOUT)

    def _folder(self, name: str) -> Path:
        for base in (Path(self.root, "ILSVRC", "Data", "CLS-LOC"), Path(self.root)):
            if (base / name).is_dir():
                return base / name
        raise self._error(f"no {name}/ folder (neither ILSVRC/Data/CLS-LOC/{name}/ nor {name}/)")

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        folder = self._folder("train" if name == "train" else "val")
        images = list_images(folder, recursive=True)  # train/<wnid>/…; val flat (Kaggle) or per class
        if not images:
            raise self._error(f"{folder} holds no images")
        return FileList(images)
