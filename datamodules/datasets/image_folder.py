"""A generic image folder or file list."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_sample, check_split_name, list_images, seeded_split

VAL_FOLDERS = ("val", "valid", "validation")
LAYOUT = """\
<root>/                      any tree of images (.jpg .png ..., any case), split at random, or
<root>/train/ val/ test/     fixed splits (val/ or test/ may be missing: the other is used for both), or
<list>.txt                   one image path per line, relative to the list's folder or absolute
"""


class ImageFolder(ImageSource):
    """Any folder of images (searched recursively) or a .txt file list.

    Splits come from train/ val/ test/ subfolders when train/ and val/ or test/ exist; otherwise the
    images are split by `seeded_split(test_size, val_size, split_seed)` (int = count, float = fraction).
    That random split exists only to hold images out of training: evaluating alone scores every image.
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
        return self._images(name, held_out=True)

    def evaluation_split(self, name: str) -> ImageList:
        return self._images(name, held_out=False)

    def _images(self, name: str, held_out: bool) -> ImageList:
        """A fixed split's images; else all images, or with `held_out` the random split's share."""
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
        if not held_out:
            return FileList(paths)
        indices = seeded_split(len(paths), self.test_size, self.val_size, self.split_seed)[name]
        return FileList([paths[i] for i in indices])
