"""Algorithm 1 of the Block-wise paper as a pure function of the training iteration, so a resumed run
(whose checkpoint holds the iteration) is in the same phase, with the same blocks, fade, learning rate and
adversarial weight, as the run it continues.

Phase 0 trains the generator head (150,000 iterations, lr0 2e-4 with polynomial decay, §4.1); phase i adds
block r_i and trains 1,500 iterations at lr 0.1^i·lr0 with adversarial weight 0.1^i·λ0 (annealing, §3.3).
The paper says the new block's weight rises "slowly" without a length; `fade_iterations` (default the
whole phase) sets it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    blocks: int  # residual blocks added to the head
    fade: float  # the newest block's path weight α (its skip path: 1 − α)
    lr: float
    adversarial_weight: float


@dataclass(frozen=True)
class ProceduralSchedule:
    head_iterations: int = 150_000
    block_iterations: int = 1_500
    blocks: int = 3
    lr: float = 2.0e-4
    adversarial_weight: float = 1.0
    decay_power: float = 0.9  # polynomial decay (§4.1 names it, not its power): DeepLab's 0.9
    fade_iterations: int | None = None  # None: the whole block phase
    annealing: bool = True  # False: λ_adv stays λ0 (the ablation of §4.3)

    @property
    def total_iterations(self) -> int:
        return self.head_iterations + self.blocks * self.block_iterations

    def phase(self, iteration: int) -> Phase:
        if iteration < self.head_iterations:
            decay = (1 - iteration / self.head_iterations) ** self.decay_power
            return Phase(0, 1.0, self.lr * decay, self.adversarial_weight)
        block, step = divmod(iteration - self.head_iterations, self.block_iterations)
        block = min(block + 1, self.blocks)
        if iteration >= self.total_iterations:  # past the schedule: the last phase, fully faded in
            step = self.block_iterations
        fade = min(1.0, step / (self.fade_iterations or self.block_iterations))
        annealed = 0.1**block if self.annealing else 1.0
        return Phase(block, fade, self.lr * 0.1**block, self.adversarial_weight * annealed)
