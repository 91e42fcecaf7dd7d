"""Flickr-Faces-HQ (FFHQ, Karras et al. 2019) as distributed: 70,000 PNGs at 1024×1024 and its json."""

from __future__ import annotations

import mmap
import re
import warnings
from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_sample, check_split_name, list_images, seeded_split

IMAGE_DIR = "images1024x1024"
JSON_FILE = "ffhq-dataset-v2.json"
CATEGORIES = {"training": "train", "validation": "val"}
NUM_TRAIN = 60_000  # the json's "training" images are 00000-59999, "validation" 60000-69999
LAYOUT = """\
<root>/
  ffhq-dataset-v2.json     keys "0".."69999": {"category": "training" | "validation",
                                               "image": {"file_path": "images1024x1024/00000/00000.png"}}
  images1024x1024/00000/00000.png ... images1024x1024/69000/69999.png
"""
# Each entry holds exactly one "category" and one images1024x1024 "file_path" (the thumbnail and
# in-the-wild paths have other prefixes), so the n-th of each belong to the same image.
FIELDS = re.compile(rb'"category"\s*:\s*"(\w+)"|"file_path"\s*:\s*"(' + IMAGE_DIR.encode() + rb'/[^"]+)"')


class FFHQ(ImageSource):
    """train = the json's "training" images (60,000), val = its "validation" images (10,000).

    FFHQ has no test split: test is the validation set, or with test_size a seeded subset of it
    (DeepGIN §6.2 "randomly selected 1,000 images for the testing"). Without the json the split is
    by image number, which is what the json says (with a warning).
    The json is 267 MB: parsing it whole takes seconds and about a GB on every DDP rank, so only the
    two fields used here are scanned for, and their counts checked.
    """

    def __init__(self, root: str, test_size: int | None = None, split_seed: int = 0):
        self.root, self.test_size, self.split_seed = str(root), test_size, split_seed

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("FFHQ", self.root, problem, LAYOUT)

    def _from_json(self, path: Path) -> dict[str, list[Path]]:
        categories, files = [], []
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
            for match in FIELDS.finditer(text):
                category, file_path = match.groups()
                (categories if category else files).append(category or file_path)
        unknown = set(categories) - {c.encode() for c in CATEGORIES}
        if not files or len(categories) != len(files) or unknown:
            counts = f"{len(files)} image paths, {len(categories)} categories, unknown {sorted(unknown)}"
            raise self._error(f"{JSON_FILE} is not the FFHQ metadata file ({counts})")
        splits: dict[str, list[Path]] = {"train": [], "val": []}
        for category, file_path in zip(categories, files):
            splits[CATEGORIES[category.decode()]].append(Path(self.root, file_path.decode()))
        return splits

    def _by_number(self) -> dict[str, list[Path]]:
        warnings.warn(
            f"FFHQ: no {JSON_FILE} in {self.root}; splitting by image number instead "
            f"(00000-{NUM_TRAIN - 1} train, the rest val), which is what the json says",
            stacklevel=3,
        )
        paths = [p for p in list_images(Path(self.root, IMAGE_DIR)) if p.stem.isdigit()]
        return {
            "train": [p for p in paths if int(p.stem) < NUM_TRAIN],
            "val": [p for p in paths if int(p.stem) >= NUM_TRAIN],
        }

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        if not Path(self.root, IMAGE_DIR).is_dir():
            raise self._error(f"no {IMAGE_DIR}/ folder")
        json_path = Path(self.root, JSON_FILE)
        splits = self._from_json(json_path) if json_path.is_file() else self._by_number()
        paths = splits["train" if name == "train" else "val"]
        if not paths:
            raise self._error(f"no {name} images found")
        if name == "test" and self.test_size is not None:
            paths = [paths[i] for i in seeded_split(len(paths), self.test_size, 0, self.split_seed)["test"]]
        images = FileList(paths)
        if json_path.is_file():
            check_sample(images, "FFHQ", self.root, LAYOUT, JSON_FILE)
        return images
