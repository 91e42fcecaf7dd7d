"""The image-source contract: a dataset as distributed on disk, split into train / val / test."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import torch

from datamodules.image_io import read_image

SPLITS = ("train", "val", "test")


class DatasetLayoutError(FileNotFoundError):
    """The root does not hold the dataset as distributed; the message shows the expected layout."""

    def __init__(self, dataset: str, root: str | os.PathLike, problem: str, layout: str):
        self.dataset, self.root, self.problem, self.layout = dataset, str(root), problem, layout
        super().__init__(
            f"{dataset}: {problem}\n  data root: {self.root}\n  expected layout:\n"
            + "\n".join("    " + line for line in layout.strip("\n").splitlines())
            + "\n  Point the config at it, e.g. data.source.root=/path/to/dataset (or paths.data_dir=...)."
        )


class ImageList(ABC):
    """One split: a sized, indexable list of images."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def load(self, index: int) -> torch.Tensor:
        """3×H×W float32 RGB in [0, 1]."""

    @abstractmethod
    def name(self, index: int) -> str:
        """A path or id that identifies the image in logs, metric files and error messages."""


class FileList(ImageList):
    def __init__(self, paths: Sequence[str | os.PathLike]):
        self.paths = [Path(p) for p in paths]

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> torch.Tensor:
        return read_image(self.paths[index])

    def name(self, index: int) -> str:
        return str(self.paths[index])


class ImageSource(ABC):
    """A dataset; `split(name)` lists one of train / val / test. Constructed from Hydra configs.

    Listing must be cheap to repeat (DataModule.setup runs on every rank) and must not read images.
    """

    @abstractmethod
    def split(self, name: str) -> ImageList: ...

    def evaluation_split(self, name: str) -> ImageList:
        """The images to score when nothing is trained on this source (evaluate.py, cross-dataset test
        sets): the split itself, unless the source has no split to respect."""
        return self.split(name)


class ImageSubset(ImageList):
    """Selected indices of another list (seeded random splits, the first N validation images)."""

    def __init__(self, images: ImageList, indices: Sequence[int]):
        self.images, self.indices = images, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> torch.Tensor:
        return self.images.load(self.indices[index])

    def name(self, index: int) -> str:
        return self.images.name(self.indices[index])
