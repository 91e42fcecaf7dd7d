"""Training composites of the block-wise paper's guided inpainting with harmonization (§4.4).

For an image I: an object I_o is segmented from I (its COCO annotation), its colors are transferred from
another image I_g, it is pasted onto I_g at a random place, and the box I_b around it is cut from I_g and
pasted back into I where the object was. The network sees that composite with the box's
foreground / background segmentation and restores I: it inpaints the box's background from I's context
and harmonizes the foreground's colors. I is the ground truth of both.

The paper names neither the color transfer nor the box's margin. Colors are transferred as Reinhard et
al. (2001) do, matching the object's per-channel mean and standard deviation in CIE Lab to I_g's; the
box is the object's bounding box grown by `margin` of its sides on each side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kornia
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from datamodules.datasets.coco import COCO
from datamodules.image_io import read_image
from datamodules.seeding import AUGMENT_STREAM, rng_for
from utils.box import Box

MIN_LAB_STD = 5.0  # Lab units (L spans 0–100)


def transfer_colors(image: Tensor, where: Tensor, reference: Tensor) -> Tensor:
    """Reinhard et al.'s color transfer: the Lab mean and standard deviation of image's pixels `where`
    (H×W bool) matched to all of `reference`'s; image, reference 3×H×W in [0, 1]."""
    lab = kornia.color.rgb_to_lab(image[None])[0]
    ref = kornia.color.rgb_to_lab(reference[None])[0].flatten(1)
    pixels = lab[:, where]
    # A flat object (std near 0) would have its noise blown up to the reference's spread: its spread is
    # floored at MIN_LAB_STD.
    mean, std = pixels.mean(dim=1, keepdim=True), pixels.std(dim=1, keepdim=True).clamp_min(MIN_LAB_STD)
    lab[:, where] = (pixels - mean) / std * ref.std(dim=1, keepdim=True) + ref.mean(dim=1, keepdim=True)
    return kornia.color.lab_to_rgb(lab[None])[0].clamp(0, 1)


class COCOObjects:
    """The object annotations of one COCO split (pycocotools), at least `min_area` of their image."""

    def __init__(self, annotation_file: str | Path, image_dir: str | Path, min_area: float = 0.01):
        from pycocotools.coco import COCO  # only guided inpainting needs it

        self.coco = COCO(str(annotation_file))
        self.image_dir = Path(image_dir)
        self.objects: list[int] = []  # annotation ids, in image then annotation order
        self.spans: list[tuple[int, int]] = []  # per object: the object indices of its image, [start, stop)
        for image_id in sorted(self.coco.getImgIds()):
            info = self.coco.imgs[image_id]
            start = len(self.objects)
            for ann in self.coco.loadAnns(self.coco.getAnnIds(imgIds=image_id, iscrowd=False)):
                if ann["area"] >= min_area * info["height"] * info["width"]:
                    self.objects.append(ann["id"])
            self.spans += [(start, len(self.objects))] * (len(self.objects) - start)
        if not self.objects:
            raise ValueError(f"{annotation_file} has no object covering {min_area:.0%} of its image")
        if self.spans[0] == (0, len(self.objects)):
            raise ValueError(f"{annotation_file}: guided composites need objects of two images at least")

    def __len__(self) -> int:
        return len(self.objects)

    def load(self, index: int) -> tuple[Tensor, Tensor]:
        """(image 3×H×W in [0, 1], object mask H×W bool) of the index-th object."""
        ann = self.coco.anns[self.objects[index]]
        info = self.coco.imgs[ann["image_id"]]
        image = read_image(self.image_dir / info["file_name"])
        return image, torch.from_numpy(self.coco.annToMask(ann).astype(bool))


class GuidedComposites(Dataset):
    """Each item: `image` (I, the ground truth), `composite` (I with the box from I_g and the transferred
    object), `hole` (the box's background: to inpaint), `object` (its foreground: to harmonize), and
    `mask` (the whole box), all at size×size; draws are a pure function of (seed, index)."""

    def __init__(self, objects: COCOObjects, size: int = 256, margin: float = 0.1, seed: int = 0):
        self.objects, self.size, self.margin, self.seed = objects, size, margin, seed

    def __len__(self) -> int:
        return len(self.objects)

    def _resized(self, image: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        size = (self.size, self.size)
        image = F.interpolate(image[None], size, mode="bilinear", align_corners=False, antialias=True)[0]
        if mask is not None:
            mask = F.interpolate(mask[None, None].float(), size, mode="nearest")[0, 0] > 0.5
        return image, mask

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        rng = rng_for(self.seed, AUGMENT_STREAM, index)
        image, obj = self._resized(*self.objects.load(index))
        # §4.4: "we randomly select another image I_g": an object of any other image
        start, stop = self.objects.spans[index]
        other = int(rng.integers(len(self.objects) - (stop - start)))
        other += (stop - start) * (other >= start)
        guide, _ = self._resized(self.objects.load(other)[0])
        if not bool(obj.any()):  # an object too thin to survive the resize: the box of one pixel
            obj[self.size // 2, self.size // 2] = True
        tight = Box.bounding(obj)
        grow_h, grow_w = (round(self.margin * side) for side in tight.size)
        box = Box(
            max(0, tight.top - grow_h),
            max(0, tight.left - grow_w),
            min(self.size, tight.bottom + grow_h),
            min(self.size, tight.right + grow_w),
        )
        height, width = box.size
        # I_o, color-transferred from I_g, pasted onto I_g at a random place with its box around it
        top = int(rng.integers(self.size - height + 1))
        left = int(rng.integers(self.size - width + 1))
        cut = (slice(None), slice(top, top + height), slice(left, left + width))
        inside = (slice(None), slice(box.top, box.bottom), slice(box.left, box.right))
        transferred = transfer_colors(image, obj, guide)
        foreground = obj[inside[1:]]
        pasted = torch.where(foreground, transferred[inside], guide[cut])
        composite = image.clone()
        composite[inside] = pasted  # I_b back into I where the object was
        box_mask = torch.zeros(1, self.size, self.size)
        box_mask[inside] = 1
        object_mask = obj[None].float()
        return {
            "image": image,
            "composite": composite,
            "mask": box_mask,
            "hole": box_mask * (1 - object_mask),
            "object": object_mask,
            "index": torch.tensor(index),
            "guide": torch.tensor(other),  # the object whose image gave the box and the colors
        }


class GuidedCompositeDataModule(pl.LightningDataModule):
    """Guided composites of COCO (as distributed: data.source root with train2017/, val2017/ and
    annotations/). Training draws from train2017's objects; val and test from val2017's (test2017 has no
    annotations). The masks are the objects' boxes: the `mask` group's generators (train_masks /
    eval_masks, passed by train.py to every data module) are not used."""

    def __init__(
        self,
        root: str,
        size: int = 256,
        margin: float = 0.1,
        min_area: float = 0.01,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 4,
        val_limit: int | None = None,
        test_limit: int | None = None,
        seed: int = 0,
        eval_seed: int = 0,
        train_masks: Any = None,
        eval_masks: Any = None,
    ):
        super().__init__()
        self.source = COCO(root)
        self.size, self.margin, self.min_area = size, margin, min_area
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.limits = num_workers, {"val": val_limit, "test": test_limit}
        self.seed, self.eval_seed = seed, eval_seed
        self.datasets: dict[str, Dataset] = {}

    def dataset(self, split: str) -> Dataset:
        if split not in self.datasets:
            folder = "train" if split == "train" else "val"
            objects = COCOObjects(
                self.source.annotation_file(folder),
                Path(self.source.root, self.source.dirs[folder]),
                self.min_area,
            )
            dataset: Dataset = GuidedComposites(
                objects, self.size, self.margin, self.seed if split == "train" else self.eval_seed
            )
            limit = self.limits.get(split)
            if limit is not None and limit < len(dataset):
                dataset = Subset(dataset, range(limit))
            self.datasets[split] = dataset
        return self.datasets[split]

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.dataset("train"),
            self.batch_size,
            shuffle=True,
            generator=generator,
            num_workers=self.num_workers,
            drop_last=True,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset("val"), self.eval_batch_size, num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset("test"), self.eval_batch_size, num_workers=self.num_workers)
