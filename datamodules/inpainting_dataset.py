"""An image list + transforms + a mask generator -> the suite's samples (their keys: InpaintingDataset)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from datamodules.datasets.base import ImageList
from datamodules.image_io import read_hint
from datamodules.masks.base import MaskGenerator
from datamodules.masks.mask_folder import MaskFolder
from datamodules.seeding import AUGMENT_STREAM, MASK_STREAM, rng_for

Transform = Callable[[torch.Tensor, np.random.Generator], torch.Tensor]
SampleExtras = Callable[[dict[str, Any]], dict[str, torch.Tensor]]


class InpaintingDataset(Dataset):
    """Samples {"image": 3×H×W in [0, 1], "mask": 1×H×W (1 = missing), "index", "path"}, plus "hint" /
    "hint_mask" (user color hints, EII §4.5) when `hint_dir` is given, plus what `extras` computes from
    each sample (the trained method's `sample_extras`, e.g. EdgeConnect's Canny edges): in the DataLoader
    workers, from the final (transformed) image.

    Training keys are `(epoch, index)` pairs from ResumableSampler: randomness from (seed, epoch, index).
    Evaluation keys are plain indices: masks and crops are a pure function of (config, seed, index).
    """

    def __init__(
        self,
        images: ImageList,
        masks: MaskGenerator,
        transform: Transform | None = None,
        seed: int = 0,
        hint_dir: str | None = None,
    ):
        self.images, self.masks, self.transform, self.seed = images, masks, transform, seed
        # set by the datamodule once the model is known: the dataset is built before a trainer is attached
        self.extras: SampleExtras | None = None
        self.hint_dir = Path(hint_dir) if hint_dir else None
        # a mask folder paired by stem knows every image's mask already: a missing one fails here, not mid-run
        self.mask_by_stem = isinstance(masks, MaskFolder) and masks.pairing == "by_stem"
        if self.mask_by_stem:
            masks.missing([images.name(index) for index in range(len(images))])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any] | list[dict[str, Any]]:
        """One sample; a list of samples of the same image, one per mask, for training keys when the
        mask generator masks each image several times (MaskTypesPerImage); `collate` flattens them."""
        epoch_keys, index = ((key[0],), key[1]) if isinstance(key, tuple) else ((), key)
        image = self.images.load(index)
        if self.transform is not None:
            image = self.transform(image, rng_for(self.seed, AUGMENT_STREAM, *epoch_keys, index))
        image = image.contiguous()
        height, width = image.shape[-2:]
        mask_rng = rng_for(self.seed, MASK_STREAM, *epoch_keys, index)
        if epoch_keys:
            masks = self.masks.draw_per_image(height, width, mask_rng)
        elif self.mask_by_stem:
            masks = [self.masks.for_image(self.images.name(index), height, width)]
        else:
            masks = [self.masks(height, width, mask_rng, index=index)]
        samples = [
            {
                "image": image,
                "mask": torch.as_tensor(mask, dtype=torch.float32)[None],
                "index": index,
                "path": self.images.name(index),
            }
            for mask in masks
        ]
        if self.hint_dir is not None:
            hint, hint_mask = self._hints(index, (height, width))
            for sample in samples:
                sample["hint"], sample["hint_mask"] = hint, hint_mask
        if self.extras is not None:
            for sample in samples:
                sample.update(self.extras(sample))
        return samples[0] if len(samples) == 1 else samples

    def _hints(self, index: int, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """User color hints for image `index`: <hint_dir>/{index:06d}.png (RGBA), none if absent."""
        path = self.hint_dir / f"{index:06d}.png"
        if path.is_file():
            return read_hint(path, size)
        return torch.zeros(3, *size), torch.zeros(1, *size)


def collate(items: list[dict[str, Any] | list[dict[str, Any]]]) -> dict[str, Any]:
    """default_collate of the samples (an image's several samples side by side), with an actionable
    message when images of one batch differ in size."""
    samples = [sample for item in items for sample in (item if isinstance(item, list) else [item])]
    sizes = {tuple(s["image"].shape) for s in samples}
    if len(sizes) > 1:
        names = ", ".join(f"{s['path']} {tuple(s['image'].shape[-2:])}" for s in samples[:4])
        raise ValueError(
            f"images of one batch differ in size ({names}, ...): give the split a transform that fixes the "
            "size (data.eval_transform with Resize / CenterCrop) or use batch size 1 (data.eval_batch_size=1)."
        )
    return default_collate(samples)
