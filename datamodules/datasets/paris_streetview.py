"""Paris StreetView (Pathak et al., Context Encoders) as distributed by its authors on request."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name, list_images

TRAIN_DIR = "paris_train_original"
# The archive unpacks the 100 eval images either directly or nested one level down.
EVAL_DIRS = ("paris_eval_gt", "paris_eval/paris_eval_gt")
LAYOUT = """\
<root>/
  paris_train_original/   14,900 images (.JPG, 936×537)
  paris_eval_gt/          100 images (.png), or nested as paris_eval/paris_eval_gt/
"""


class ParisStreetView(ImageSource):
    """train = paris_train_original/ (the original split, EII §4.1); val and test = the 100 eval images."""

    def __init__(self, root: str):
        self.root = str(root)

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        root = Path(self.root)
        if name == "train":
            directory = root / TRAIN_DIR
            candidates = (TRAIN_DIR,)
        else:
            directory = next((root / d for d in EVAL_DIRS if (root / d).is_dir()), root / EVAL_DIRS[0])
            candidates = EVAL_DIRS
        if not directory.is_dir():
            problem = f"no {' or '.join(d + '/' for d in candidates)} folder"
            raise DatasetLayoutError("ParisStreetView", self.root, problem, LAYOUT)
        paths = list_images(directory, recursive=False)
        if not paths:
            raise DatasetLayoutError("ParisStreetView", self.root, f"no images in {directory}", LAYOUT)
        return FileList(paths)
