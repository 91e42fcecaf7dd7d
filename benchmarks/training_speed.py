"""Shared by the training benchmarks: one batch held in memory, and Lightning training batches per second.

Batches come from memory, so the figures are the model's speed alone (benchmarks/data_loading.py measures
the loading side).
"""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.profiler import ProfilerActivity, profile

from datamodules.repeated_batch import repeated_batch_loader
from utils.resolvers import REPO_ROOT, register_resolvers


def build_model(overrides: list[str]) -> torch.nn.Module:
    """The model a `train.py` run with these overrides would train (conf/train.yaml composed)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        return instantiate(compose("train", overrides=overrides).model)


def fixed_batch(size: int, batch_size: int) -> dict:
    """Random images with a square hole over the central half."""
    image = torch.rand(batch_size, 3, size, size, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(batch_size, 1, size, size)
    mask[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return {"image": image, "mask": mask}


class BatchTimer(pl.Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())


def bare_trainer(**trainer_args) -> pl.Trainer:
    """A Lightning Trainer for one device without a logger, checkpoints, progress bar or model summary,
    for one epoch unless `trainer_args` say otherwise (accelerator: "cpu" unless given)."""
    defaults = {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return pl.Trainer(**{**defaults, **trainer_args})


def fit_on_batch(
    model: pl.LightningModule, batch: dict, batches: int, device: str, precision: str, callbacks: list
) -> None:
    """`batches` training batches of `batch` held in memory, through a bare Trainer without validation.
    device: "cpu" or "gpu"."""
    trainer = bare_trainer(accelerator=device, precision=precision, limit_val_batches=0, callbacks=callbacks)
    trainer.fit(model, repeated_batch_loader(batch, batches))


def training_batches_per_second(
    model: pl.LightningModule, batch: dict, batches: int, warmup: int, device: str, precision: str
) -> float:
    """One epoch of `warmup` untimed then `batches` timed training batches through a Lightning Trainer."""
    timer = BatchTimer()
    if device in ("gpu", "cuda"):
        torch.cuda.reset_peak_memory_stats()
    fit_on_batch(model, batch, warmup + batches, device, precision, [timer])
    report_peak_memory(f"training {type(model).__name__}")
    return batches / (timer.times[-1] - timer.times[warmup - 1])


class ProfileOneStep(pl.Callback):
    """torch.profiler around the training batch `batch_idx` (the Lightning step: every network's forward,
    backward, clipping and optimizer step)."""

    def __init__(self, batch_idx: int, device: str) -> None:
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "gpu" else [])
        self.batch_idx, self.profiler = batch_idx, profile(activities=activities)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.batch_idx:
            self.profiler.__enter__()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.batch_idx:
            if trainer.strategy.root_device.type == "cuda":
                torch.cuda.synchronize()
            self.profiler.__exit__(None, None, None)


def profile_step(
    model: pl.LightningModule, batch: dict, warmup: int, device: str, precision: str, rows: int
) -> str:
    """The `rows` ops with the most self time (device time on GPU) in one training step, after `warmup`
    untimed ones."""
    callback = ProfileOneStep(warmup, device)
    fit_on_batch(model, batch, warmup + 1, device, precision, [callback])
    sort_by = "self_device_time_total" if device == "gpu" else "self_cpu_time_total"
    return callback.profiler.key_averages().table(sort_by=sort_by, row_limit=rows)


def report_peak_memory(what: str) -> None:
    """Prints the GPU's peak allocated memory since the last reset (nothing on CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        print(f"  {what}: peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


def inference_images_per_second(
    model: torch.nn.Module, batch: dict, batches: int, warmup: int, device: str, precision: str
) -> float:
    """Images per second of `inpaint` (the path evaluate and predict take), after `warmup` untimed batches."""
    target = torch.device("cuda" if device in ("gpu", "cuda") else "cpu")
    model = model.to(target).eval()
    image, mask = batch["image"].to(target), batch["mask"].to(target)
    dtype = torch.bfloat16 if precision.startswith("bf16") else None
    if target.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.autocast(target.type, dtype=dtype, enabled=dtype is not None):
        for _ in range(warmup + batches):
            model.inpaint(image, mask)
            if target.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter())
    report_peak_memory(f"inference {type(model).__name__}")
    return batches * image.shape[0] / (times[-1] - times[warmup - 1])
