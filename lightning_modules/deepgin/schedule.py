"""DeepGIN's two-stage training in epochs (§5.1): an L1-only warm-up of the generators, then the main
GAN stage at constant learning rates, then a linear decay to zero."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TwoStageSchedule:
    """Stage and learning-rate factor of every epoch (0-based, as Lightning's `current_epoch`).

    The decay holds each epoch's rate constant, as the authors' code updates it once per epoch: the first
    decay epoch still runs at the initial rate, the last at 1/decay_epochs of it, and it reaches zero
    when the schedule ends (their 10 + 90 epochs: lr · (90 − k) / 90 in decay epoch k = 0 … 89).
    A LambdaLR `lr_lambda`: it is saved in, and restored from, the scheduler's state.
    """

    warmup_epochs: int
    constant_epochs: int
    decay_epochs: int

    def __post_init__(self) -> None:
        if min(self.warmup_epochs, self.constant_epochs, self.decay_epochs) < 0:
            raise ValueError(f"stage lengths must be non-negative epochs, got {self}")

    @property
    def total_epochs(self) -> int:
        return self.warmup_epochs + self.constant_epochs + self.decay_epochs

    def is_warmup(self, epoch: int) -> bool:
        return epoch < self.warmup_epochs

    def __call__(self, epoch: int) -> float:
        """The learning-rate factor of `epoch`; the warm-up runs at the initial rate (§5.1: Adam with the
        same momentum "for both stages"), and epochs past the schedule at zero."""
        decay_epoch = epoch - self.warmup_epochs - self.constant_epochs
        if decay_epoch < 0:
            return 1.0
        return max(0.0, 1.0 - decay_epoch / self.decay_epochs) if self.decay_epochs else 0.0
