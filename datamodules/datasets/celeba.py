"""CelebA (Liu et al., ICCV 2015) as distributed: img_align_celeba/000001.jpg … 202599.jpg (178×218,
aligned and cropped) and Eval/list_eval_partition.txt, whose standard split is 162,770 / 19,867 / 19,962
images (train / val / test), the block-wise paper's (§4.1)."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.base import DatasetLayoutError, FileList, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name

IMAGE_DIR = "img_align_celeba"
PARTITIONS = {"train": "0", "val": "1", "test": "2"}
LAYOUT = """\
<root>/
  img_align_celeba/000001.jpg ... 202599.jpg
  list_eval_partition.txt      rows "000001.jpg 0" (0 train, 1 val, 2 test); also looked for in Eval/
"""


class CelebA(ImageSource):
    """partition_file: relative to root (or absolute); Eval/<name> is tried when root/<name> is absent,
    as the Google Drive copy keeps it there."""

    def __init__(self, root: str, partition_file: str = "list_eval_partition.txt"):
        self.root, self.partition_file = str(root), partition_file

    def _error(self, problem: str) -> DatasetLayoutError:
        return DatasetLayoutError("CelebA", self.root, problem, LAYOUT)

    def _partition(self) -> Path:
        for path in (Path(self.root, self.partition_file), Path(self.root, "Eval", self.partition_file)):
            if path.is_file():
                return path
        raise self._error(f"{self.partition_file} is missing (neither in the root nor in Eval/)")

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        directory = Path(self.root, IMAGE_DIR)
        if not directory.is_dir():
            raise self._error(f"no {IMAGE_DIR}/ folder")
        partition = self._partition()
        files = []
        for number, line in enumerate(partition.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in PARTITIONS.values():
                raise self._error(f"{partition.name} line {number} is not '<image> <0|1|2>': {line!r}")
            if fields[1] == PARTITIONS[name]:
                files.append(directory / fields[0])
        missing = [path for path in files if not path.is_file()]
        if missing:
            raise self._error(
                f"{len(missing)} {name} images listed in {partition.name} are missing, e.g. {missing[0].name}"
            )
        return FileList(files)
