"""The training sampler: shuffled per (seed, epoch), sharded across ranks, resumable mid-epoch."""

import numpy as np
import pytest

from datamodules.samplers import EvalShardSampler, ResumableSampler


def epoch_indices(sampler: ResumableSampler, epoch: int) -> list[int]:
    sampler.set_epoch(epoch)
    pairs = list(sampler)
    assert all(e == epoch for e, _ in pairs)
    return [index for _, index in pairs]


@pytest.mark.parametrize(("num_samples", "world"), [(12, 1), (12, 3), (13, 4), (5, 2)])
def test_no_sample_twice_per_epoch_across_ranks(num_samples, world):
    sampler_epochs = []
    for epoch in (1, 2):
        shards = [
            epoch_indices(ResumableSampler(num_samples, seed=3, num_replicas=world, rank=r), epoch)
            for r in range(world)
        ]
        assert len({len(shard) for shard in shards}) == 1  # equal steps on every rank, or DDP hangs
        seen = np.concatenate(shards)
        assert len(set(seen)) == len(seen) == num_samples - num_samples % world
        sampler_epochs.append(set(seen))
    if num_samples % world:  # the left-out samples change with the epoch's shuffle
        assert sampler_epochs[0] != sampler_epochs[1]


def test_fewer_samples_than_ranks_is_an_error():
    with pytest.raises(ValueError, match="3 training images cannot be shared by 4 ranks"):
        ResumableSampler(3, num_replicas=4)


def test_order_is_a_function_of_seed_and_epoch():
    first = epoch_indices(ResumableSampler(50, seed=7), 0)
    assert first == epoch_indices(ResumableSampler(50, seed=7), 0)
    assert first != epoch_indices(ResumableSampler(50, seed=7), 1)
    assert first != epoch_indices(ResumableSampler(50, seed=8), 0)
    assert sorted(first) == list(range(50))


def test_resume_continues_the_same_epoch_then_the_next():
    reference = ResumableSampler(20, seed=1, num_replicas=2, rank=1)
    epoch2, epoch3 = epoch_indices(reference, 2), epoch_indices(reference, 3)
    resumed = ResumableSampler(20, seed=1, num_replicas=2, rank=1)
    resumed.resume(epoch=2, samples_done=4)
    resumed.set_epoch(2)  # Lightning sets the same epoch again after restoring: the offset must survive
    assert [i for _, i in resumed] == epoch2[4:]
    assert epoch_indices(resumed, 3) == epoch3
    assert epoch_indices(resumed, 2) == epoch2  # the offset applies once


def test_eval_shards_cover_every_image_exactly_once():
    shards = [list(EvalShardSampler(11, num_replicas=3, rank=r)) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(11))
