"""The one LightningDataModule: any image source × transforms × mask generators."""

from __future__ import annotations

import os

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from datamodules.datasets.base import ImageSource, ImageSubset
from datamodules.inpainting_dataset import InpaintingDataset, SampleExtras, Transform, collate
from datamodules.masks.base import MaskGenerator
from datamodules.samplers import EvalShardSampler, ResumableDataLoader, ResumableSampler
from datamodules.seeding import SOURCE_STREAM, rng_for


class InpaintingDataModule(pl.LightningDataModule):
    """Serves train / val / test splits of `source` with masks drawn per sample.

    batch_size is the global batch: under DDP each of the N ranks loads batch_size / N.
    val_limit / test_limit keep N images of a split: the first N (quick validation while training), or with
    limit_order="random" a random N drawn with eval_seed, the same in every run (the block-wise and
    feature-translation papers score "200 random test images").
    seed drives training draws (masks, augmentation, order); eval_seed versions the evaluation masks, so
    runs that differ in `seed` are still scored on identical masks.
    num_workers: loader processes per rank, at most the CPUs the process may run on.
    test_split: the split the test loop scores (evaluate.py split=val scores the validation split).
    hint_dir: user color hints for evaluation, <hint_dir>/{index:06d}.png (RGBA: opaque pixels are hints).
    evaluation_only: nothing is trained on this data (evaluate.py, cross-dataset test sets), so a source
        without a fixed split scores all its images (ImageSource.evaluation_split).
    """

    def __init__(
        self,
        source: ImageSource,
        train_transform: Transform | None = None,
        eval_transform: Transform | None = None,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        num_workers: int = 4,
        pin_memory: bool = True,
        val_limit: int | None = None,
        test_limit: int | None = None,
        limit_order: str = "first",
        seed: int = 0,
        eval_seed: int = 0,
        train_masks: MaskGenerator | None = None,
        eval_masks: MaskGenerator | None = None,
        test_split: str = "test",
        hint_dir: str | None = None,
        evaluation_only: bool = False,
    ):
        super().__init__()
        self.source = source
        self.train_transform, self.eval_transform = train_transform, eval_transform
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        if limit_order not in ("first", "random"):
            raise ValueError(f"limit_order must be 'first' or 'random', got {limit_order!r}")
        self.sizes, self.limit_order = {"val": val_limit, "test": test_limit}, limit_order
        self.seed, self.eval_seed = seed, eval_seed
        self.train_masks, self.eval_masks = train_masks, eval_masks
        self.test_split, self.hint_dir, self.evaluation_only = test_split, hint_dir, evaluation_only
        self.datasets: dict[str, InpaintingDataset] = {}

    def dataset(self, split: str) -> InpaintingDataset:
        """The split's dataset, listed once (listing may read large list files)."""
        if split not in self.datasets:
            train = split == "train"
            masks = self.train_masks if train else self.eval_masks
            if masks is None:
                raise ValueError(
                    f"no mask generator for the {split} split: choose a mask set, e.g. mask=deepfill_v2"
                )
            if self.evaluation_only and train:
                raise ValueError(
                    "this data module is for evaluation only (evaluation_only=true): no train split"
                )
            images = self.source.evaluation_split(split) if self.evaluation_only else self.source.split(split)
            limit = self.sizes.get(split)
            if limit is not None and limit < len(images):
                picked = range(limit)
                if self.limit_order == "random":
                    picked = sorted(rng_for(self.eval_seed, SOURCE_STREAM).permutation(len(images))[:limit])
                images = ImageSubset(images, [int(i) for i in picked])
            transform = self.train_transform if train else self.eval_transform
            seed = self.seed if train else self.eval_seed
            hints = None if train else self.hint_dir
            self.datasets[split] = InpaintingDataset(images, masks, transform, seed=seed, hint_dir=hints)
        return self.datasets[split]

    def setup(self, stage: str | None = None) -> None:
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": (self.test_split,)}.get(
            stage or "", ()
        )
        for split in splits:
            self.dataset(split)

    def _ranks(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _loader_options(self) -> dict:
        # More workers than the CPUs this process may run on (a SLURM allocation, a small machine) only
        # adds context switches to the loading, and takes the main process's CPU time from the model.
        workers = min(self.num_workers, len(os.sched_getaffinity(0)))
        return {
            "num_workers": workers,
            "pin_memory": self.pin_memory and torch.cuda.is_available(),
            "persistent_workers": workers > 0,
            "collate_fn": collate,
        }

    def train_dataloader(self) -> DataLoader:
        world, rank = self._ranks()
        if self.batch_size % world:
            raise ValueError(
                f"data.batch_size={self.batch_size} (global) is not divisible by {world} devices"
            )
        dataset = self.dataset("train")
        dataset.extras = self._sample_extras()
        sampler = ResumableSampler(len(dataset), seed=self.seed, num_replicas=world, rank=rank)
        return ResumableDataLoader(
            dataset,
            batch_size=self.batch_size // world,
            sampler=sampler,
            drop_last=True,
            progress=self._train_progress,
            **self._loader_options(),
        )

    def _sample_extras(self) -> SampleExtras | None:
        """What the model being trained needs per training sample (InpaintingModule.sample_extras), for the
        loader workers to compute; torch runs each worker on one thread, so they do not oversubscribe the
        CPUs. Evaluation splits get none: their steps compute their own inputs."""
        trainer = self.trainer
        return trainer.lightning_module.sample_extras() if trainer is not None else None

    def _train_progress(self) -> tuple[int, int]:
        """(epoch, batches finished in it), read from Lightning's loop counters at checkpoint time."""
        trainer = self.trainer
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if done >= trainer.num_training_batches:
            return trainer.current_epoch + 1, 0
        return trainer.current_epoch, done

    def _eval_loader(self, split: str) -> DataLoader:
        world, rank = self._ranks()
        dataset = self.dataset(split)
        return DataLoader(
            dataset,
            batch_size=self.eval_batch_size,
            sampler=EvalShardSampler(len(dataset), num_replicas=world, rank=rank),
            **self._loader_options(),
        )

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self.test_split)
