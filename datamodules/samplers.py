"""Samplers: training batches that resume mid-epoch exactly and shard across DDP ranks; unpadded eval shards.

The sampler yields `(epoch, index)` pairs, so a dataset draws its per-sample randomness from
(seed, epoch, index) alone: workers, ranks and restarts cannot change what a sample looks like.
The loader implements Lightning's `_Stateful` protocol (state_dict / load_state_dict), which Lightning
saves in every checkpoint and restores before the first batch; the state is taken from the trainer's
own progress counters, not from the iterator, because Lightning prefetches one batch ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Sampler

from datamodules.seeding import rng_for

SAMPLER_STREAM = 3


class ResumableSampler(Sampler[tuple[int, int]]):
    """Shuffles with (seed, epoch), gives each rank an equal share, and skips what was already trained on.

    Every rank must run the same number of steps (DDP would hang otherwise). Instead of padding shards with
    repeated samples (torch's DistributedSampler), the epoch's last `num_samples % num_replicas` indices
    of the shuffled order are left out, so no sample is seen twice in an epoch; the shuffle changes which.
    """

    def __init__(
        self, num_samples: int, seed: int = 0, shuffle: bool = True, num_replicas: int = 1, rank: int = 0
    ):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
        if num_samples < num_replicas:
            raise ValueError(f"{num_samples} training images cannot be shared by {num_replicas} ranks")
        self.num_samples, self.seed, self.shuffle = num_samples, seed, shuffle
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self._skip = 0

    def __len__(self) -> int:
        return self.num_samples // self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each epoch; a new epoch cancels a pending resume offset."""
        if epoch != self.epoch:
            self.epoch, self._skip = epoch, 0

    def resume(self, epoch: int, samples_done: int) -> None:
        """Continue `epoch` after the first `samples_done` samples of this rank's shard."""
        self.epoch, self._skip = epoch, samples_done

    def shard(self, epoch: int) -> np.ndarray:
        """This rank's indices for `epoch`, in order."""
        order = (
            rng_for(self.seed, SAMPLER_STREAM, epoch).permutation(self.num_samples)
            if self.shuffle
            else np.arange(self.num_samples)
        )
        return order[self.rank : len(self) * self.num_replicas : self.num_replicas]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        # A generator: the body runs at the first next(), after Lightning has restored state / set the epoch.
        epoch, skip = self.epoch, self._skip
        self._skip = 0
        for index in self.shard(epoch)[skip:]:
            yield epoch, int(index)


class ResumableDataLoader(DataLoader):
    """A DataLoader whose position in the epoch is saved in Lightning checkpoints.

    `progress()` returns (epoch, batches finished in that epoch) from the trainer's loop counters.
    """

    def __init__(self, *args: Any, progress: Callable[[], tuple[int, int]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not isinstance(self.sampler, ResumableSampler):
            raise TypeError("ResumableDataLoader needs a ResumableSampler")
        self._progress = progress

    def state_dict(self) -> dict[str, int]:
        epoch, batches = self._progress()
        return {"epoch": epoch, "samples_done": batches * self.batch_size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.resume(state["epoch"], state["samples_done"])


class EvalShardSampler(Sampler[int]):
    """Validation/test indices for one rank, in order and without padding: every image is scored once."""

    def __init__(self, num_samples: int, num_replicas: int = 1, rank: int = 0):
        self.indices = range(rank, num_samples, num_replicas)

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)
