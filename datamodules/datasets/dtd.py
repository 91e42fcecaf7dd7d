"""The Describable Textures Dataset (DTD, Cimpoi et al. 2014) as unpacked from dtd-r1.0.1.tar.gz."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name, list_images, seeded_split

SPLIT_MODES = ("random", "official")
LAYOUT = """\
<root>/                 the archive's dtd/ folder (or the folder holding it)
  images/<category>/<category>_0002.jpg ...   5,640 images in 47 categories
  labels/train1.txt val1.txt test1.txt ... train10.txt val10.txt test10.txt
                        lines like "banded/banded_0002.jpg", relative to images/
"""


class DTD(ImageSource):
    """Two ways to split the 5,640 textures.

    - "random" (default): `seeded_split(test_size, val_size, split_seed)` over all images; EII §4.1
      "randomly select[s] 840 images for testing, and others for training"; val_size 0 makes val the
      test set.
    - "official": the dataset's split number `fold` (1-10), 1,880 images each in train / val / test.
    """

    def __init__(
        self,
        root: str,
        split_mode: str = "random",
        fold: int = 1,
        test_size: int = 840,
        val_size: int = 0,
        split_seed: int = 0,
    ):
        if split_mode not in SPLIT_MODES:
            raise ValueError(f"DTD split_mode must be one of {SPLIT_MODES}, got {split_mode!r}")
        if not 1 <= fold <= 10:
            raise ValueError(f"DTD fold must be in 1..10, got {fold}")
        self.root, self.split_mode, self.fold = str(root), split_mode, fold
        self.test_size, self.val_size, self.split_seed = test_size, val_size, split_seed

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("DTD", self.root, problem, LAYOUT)

    def _base(self) -> Path:
        """The dtd/ folder: the root itself or its dtd/ subfolder."""
        root = Path(self.root)
        base = next((b for b in (root, root / "dtd") if (b / "images").is_dir()), None)
        if base is None:
            raise self._error("no images/ folder (nor dtd/images/)")
        return base

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        base = self._base()
        if self.split_mode == "random":
            paths = list_images(base / "images")
            if not paths:
                raise self._error(f"no images in {base / 'images'}")
            picked = seeded_split(len(paths), self.test_size, self.val_size, self.split_seed)[name]
            return FileList([paths[i] for i in picked])
        list_file = base / "labels" / f"{name}{self.fold}.txt"
        if not list_file.is_file():
            raise self._error(f"labels/{list_file.name} is missing")
        names = list_file.read_text().split()
        paths = [base / "images" / n for n in names]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise self._error(f"{len(missing)} images of {list_file.name} are missing, e.g. {missing[0]}")
        return FileList(paths)
