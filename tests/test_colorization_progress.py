"""The internal colorization shows its progress: a batch fits for minutes on CPU inside one test step, so
the level, the iteration and the known-pixel loss go to the progress bar and, at intervals, to the log."""

from __future__ import annotations

import logging
import re

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import TQDMProgressBar
from torch.utils.data import DataLoader

from callbacks.colorization_progress import ColorizationProgress
from lightning_modules.colorization.progressive_colorization import ProgressiveColorization, progress_listener
from lightning_modules.colorization_protocol import ColorizationProtocol

LINE = re.compile(
    r"colorization of (\d+) images, level (\d)/2 \((\d+)×\d+\), iteration (\d+)/(\d+), known-pixel loss (\S+)"
)


def tiny(**options) -> ProgressiveColorization:
    return ProgressiveColorization(
        pyramid_height=2,
        iterations=(4, 6),
        lrs=(0.01, 0.01),
        num_blocks=1,
        channels=4,
        report_every=2,
        **options,
    )


def inputs(batch: int = 2, size: int = 16):
    image = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(batch, 1, size, size)
    mask[..., 4:10, 4:10] = 1
    return image.mean(dim=1, keepdim=True), image, mask


def test_every_level_reports_its_iterations_and_known_pixel_loss(caplog):
    lines = []
    with caplog.at_level(logging.INFO), progress_listener(lines.append):
        tiny(log_every_s=3600).colorize(*inputs())
    parsed = [LINE.fullmatch(line).groups() for line in lines]
    assert [(g[1], g[2], g[3], g[4]) for g in parsed] == [
        ("1", "8", "2", "4"),
        ("1", "8", "4", "4"),
        ("2", "16", "2", "6"),
        ("2", "16", "4", "6"),
        ("2", "16", "6", "6"),
    ]
    assert all(g[0] == "2" and float(g[5]) > 0 for g in parsed)
    # the log: the first report, then (an hour apart) only each level's end
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("colorization of")]
    assert logged == [lines[0], lines[1], lines[4]]
    lines.clear()
    tiny().colorize(*inputs())
    assert not lines  # the listener is gone after its block


def test_the_progress_bar_shows_the_colorization_while_a_test_batch_fits(monkeypatch):
    """EII Table 3's protocol in a Trainer with the suite's progress callbacks: the test bar's postfix
    follows the fit."""
    shown = []
    original = TQDMProgressBar.init_test_tqdm

    def recording_bar(self):
        bar = original(self)
        monkeypatch.setattr(bar, "set_postfix_str", lambda line, refresh=True: shown.append(line))
        return bar

    monkeypatch.setattr(TQDMProgressBar, "init_test_tqdm", recording_bar)
    model = ColorizationProtocol(
        {
            "_target_": "lightning_modules.colorization.progressive_colorization.ProgressiveColorization",
            "pyramid_height": 2,
            "iterations": [4, 6],
            "lrs": [0.01, 0.01],
            "num_blocks": 1,
            "channels": 4,
            "report_every": 2,
        },
        test_metrics=("psnr",),
    )
    _, image, mask = inputs()
    samples = [{"image": image[i], "mask": mask[i], "index": i} for i in range(2)]
    trainer = pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        callbacks=[TQDMProgressBar(), ColorizationProgress()],
    )
    trainer.test(model, DataLoader(samples, batch_size=2))
    assert len(shown) == 5 and all(LINE.fullmatch(line) for line in shown)
