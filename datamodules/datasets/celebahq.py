"""CelebA-HQ as distributed with CelebAMask-HQ: CelebA-HQ-img/0.jpg ... 29999.jpg (1024×1024)."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name, list_images, seeded_split

IMAGE_DIR = "CelebA-HQ-img"
SPLIT_MODES = ("official", "file_lists", "random")
PARTITIONS = {"train": 0, "val": 1, "test": 2}  # list_eval_partition.txt codes
LAYOUT = """\
<root>/
  CelebA-HQ-img/0.jpg ... 29999.jpg
  CelebA-HQ-to-CelebA-mapping.txt   split_mode=official: rows "0 119613 119614.jpg" (idx orig_idx orig_file)
  list_eval_partition.txt           split_mode=official: CelebA's Eval/ file, rows "000001.jpg 0"
  <train/val/test lists>            split_mode=file_lists: one image name per line ("12.jpg")
"""


def _index(token: str) -> int:
    """Image 12 may be listed as "12.jpg", "00012.png", "CelebA-HQ-img/12.jpg" or "12"."""
    return int(Path(token).stem)


def _first_fields(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


class CelebAHQ(ImageSource):
    """Three ways to split the 30,000 images.

    - "random" (default): `seeded_split(test_size, val_size, split_seed)`; test_size 3,000 is EII §4.1's
      and DeepGIN §5.2's "randomly select 3,000 images for testing"; val_size 0 makes val the test set.
      The split is over the images present, so only a complete copy gives the canonical split.
    - "official": CelebA's own partition (list_eval_partition.txt, 0/1/2 = train/val/test) carried over
      through CelebA-HQ-to-CelebA-mapping.txt: 24,183 / 2,993 / 2,824 images.
    - "file_lists": train_list / val_list / test_list files of image names (e.g. the common 28,000 /
      2,000 lists); a missing val or test list means the other is used for both.
    List and partition files are relative to `root` unless absolute.
    """

    def __init__(
        self,
        root: str,
        split_mode: str = "random",
        test_size: int = 3000,
        val_size: int = 0,
        split_seed: int = 0,
        partition_file: str = "list_eval_partition.txt",
        mapping_file: str = "CelebA-HQ-to-CelebA-mapping.txt",
        train_list: str | None = None,
        val_list: str | None = None,
        test_list: str | None = None,
    ):
        if split_mode not in SPLIT_MODES:
            raise ValueError(f"CelebAHQ split_mode must be one of {SPLIT_MODES}, got {split_mode!r}")
        if split_mode == "file_lists" and (train_list is None or (val_list is None and test_list is None)):
            raise ValueError("CelebAHQ split_mode=file_lists needs train_list and val_list and/or test_list")
        self.root, self.split_mode = str(root), split_mode
        self.test_size, self.val_size, self.split_seed = test_size, val_size, split_seed
        self.partition_file, self.mapping_file = partition_file, mapping_file
        self.lists = {"train": train_list, "val": val_list or test_list, "test": test_list or val_list}

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("CelebAHQ", self.root, problem, LAYOUT)

    def _file(self, name: str) -> Path:
        path = Path(self.root, name)  # an absolute `name` replaces the root
        if not path.is_file():
            raise self._error(f"{name} is missing")
        return path

    def _images(self) -> dict[int, Path]:
        directory = Path(self.root, IMAGE_DIR)
        if not directory.is_dir():
            raise self._error(f"no {IMAGE_DIR}/ folder")
        images = {int(p.stem): p for p in list_images(directory, recursive=False) if p.stem.isdigit()}
        if not images:
            raise self._error(f"no images named 0.jpg ... 29999.jpg in {directory}")
        return images

    def _official(self, name: str) -> list[int]:
        partition = {_index(row[0]): int(row[1]) for row in _first_fields(self._file(self.partition_file))}
        mapping = [row for row in _first_fields(self._file(self.mapping_file)) if row[0].isdigit()]
        indices = []
        for idx, _, orig_file in mapping:
            if _index(orig_file) not in partition:
                raise self._error(f"{self.mapping_file} names {orig_file}, which {self.partition_file} lacks")
            if partition[_index(orig_file)] == PARTITIONS[name]:
                indices.append(int(idx))
        return indices

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        images = self._images()
        if self.split_mode == "random":
            ordered = sorted(images)
            picked = seeded_split(len(ordered), self.test_size, self.val_size, self.split_seed)[name]
            return FileList([images[ordered[i]] for i in picked])
        if self.split_mode == "official":
            indices = self._official(name)
            source = self.mapping_file
        else:
            source = str(self.lists[name])
            indices = [_index(row[0]) for row in _first_fields(self._file(source))]
        missing = [i for i in indices if i not in images]
        if missing:
            raise self._error(f"{len(missing)} images named in {source} are missing, e.g. {missing[0]}.jpg")
        return FileList([images[i] for i in indices])
