"""Checkpoints written atomically in their own folder.

Lightning's TorchCheckpointIO stages the file in the system temp dir and moves it; when /tmp and the run
directory are different filesystems (node-local /tmp, shared cluster storage) that move is a copy, and a
job killed during it leaves a truncated last.ckpt that cannot be resumed. Here the temporary file lives
next to the target, so the final step is one atomic rename.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from utils.atomic import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
