"""One collated batch served at every step, from memory: for overfitting tests and speed benchmarks,
where loading must play no part."""

from __future__ import annotations

from torch.utils.data import DataLoader, Dataset


class RepeatedBatch(Dataset):
    """The same collated batch for every index (the loader runs with batch_size=None)."""

    def __init__(self, batch: dict, length: int):
        self.batch, self.length = batch, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.batch


def repeated_batch_loader(batch: dict, steps: int) -> DataLoader:
    """A loader that yields `batch` itself `steps` times."""
    return DataLoader(RepeatedBatch(batch, steps), batch_size=None)
