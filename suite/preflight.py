"""Checks of a composed config that train.py, evaluate.py and predict.py run first, before torch, Lightning
or a model loads (which takes ~15 s): a missing data root, checkpoint or folder is reported at once, naming
its key, its path and the fix, with exit status 2 and no traceback. Torch-free on purpose. The datamodules
and loaders check again, in depth (a dataset's layout, each file)."""

from __future__ import annotations

import logging
import mimetypes
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

USAGE_ERROR = 2  # the exit status of a run that cannot start (predict.py's convention)

CHECKPOINT_FIX = (
    "Pass the file a training run wrote, e.g. ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt, or a "
    "release converted by import_release.py (releases/<method>_<dataset>.ckpt)."
)


DATASET = "the dataset's folder, in its distributed layout (README: Your data)"


class PreflightError(Exception):
    """A setting that stops the run before it starts; the message names the key, the path and the fix."""


def has(node: Any, name: str) -> bool:
    """`name` is a key of the config node, set or not (`in` is false for a mandatory value left unset)."""
    return isinstance(node, DictConfig) and (name in node or OmegaConf.is_missing(node, name))


def value(cfg: DictConfig, key: str, fix: str) -> Any:
    """cfg's `key` (dotted), refused when it is null or a mandatory value (???) left unset."""
    parent, _, name = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if OmegaConf.is_missing(node, name) or node[name] is None:
        raise PreflightError(f"{key} is not set. {fix}")
    return node[name]


def checkpoint(cfg: DictConfig) -> None:
    path = Path(value(cfg, "ckpt_path", CHECKPOINT_FIX))
    if path.is_dir():
        raise PreflightError(
            f"ckpt_path={path} is a folder, not a checkpoint: pass the .ckpt file, e.g. "
            f"ckpt_path={path}/checkpoints/last.ckpt."
        )
    if not path.is_file():
        raise PreflightError(f"checkpoint not found: {path} (ckpt_path). {CHECKPOINT_FIX}")


def root(cfg: DictConfig, key: str, what: str) -> None:
    """The path at `key` exists (a folder, or a list file for data=folder)."""
    path = Path(value(cfg, key, f"Pass {key}=<{what}>."))
    if not path.exists():
        data_dir = OmegaConf.select(cfg, "paths.data_dir")
        # a root under paths.data_dir (the datasets' defaults) moves with it
        moved = (
            ", or paths.data_dir=<the folder holding the datasets>"
            if data_dir and path.is_relative_to(data_dir)
            else ""
        )
        raise PreflightError(f"{key}={path} does not exist: pass {key}=<{what}>{moved}.")


def data_roots(cfg: DictConfig) -> None:
    """The root of `data` and of each of `test_sets` (<key>.source.root, or <key>.root for the guided
    composites; the synthetic textures have none), and of a mask folder (mask.<part>.root)."""
    test_sets = cfg.get("test_sets") or {}
    datasets = {"data": cfg.get("data"), **{f"test_sets.{name}": data for name, data in test_sets.items()}}
    for key, data in datasets.items():
        if has(data, "source") and not OmegaConf.is_missing(data, "source") and has(data.source, "root"):
            root(cfg, f"{key}.source.root", DATASET)
        elif has(data, "root"):
            root(cfg, f"{key}.root", DATASET)
    for part in ("train", "eval"):
        if has(OmegaConf.select(cfg, f"mask.{part}"), "root"):
            root(cfg, f"mask.{part}.root", "a folder of mask images (white = hole)")


def is_image(path: Path) -> bool:
    return path.is_file() and (mimetypes.guess_type(path.name)[0] or "").startswith("image/")


def predict_inputs(cfg: DictConfig) -> None:
    """input_dir holds an image; mask_dir / hint_dir are folders and style / guide files, when given."""
    folder = Path(value(cfg, "input_dir", "Pass input_dir=<a folder of images to inpaint>."))
    if not folder.is_dir():
        raise PreflightError(
            f"input_dir={folder} is not a folder: pass input_dir=<a folder of images to inpaint>."
        )
    if not any(is_image(path) for path in folder.iterdir()):
        raise PreflightError(
            f"input_dir={folder} holds no image to inpaint: put the images (PNG, JPEG, ...) directly in it."
        )
    for key in ("mask_dir", "hint_dir"):
        if cfg.get(key) and not Path(cfg[key]).is_dir():
            raise PreflightError(
                f"{key}={cfg[key]} is not a folder: pass {key}=<a folder of files named like the images "
                f"(<stem>.png)>, or leave it out to read <stem>{cfg.get(key.replace('_dir', '_suffix'))}.png "
                "beside each image."
            )
    for key in ("style", "guide"):
        if cfg.get(key) and not Path(cfg[key]).is_file():
            raise PreflightError(f"{key}={cfg[key]} is not a file: pass {key}=<an image file>.")


def run(*checks: Callable[[DictConfig], None], cfg: DictConfig) -> None:
    """Runs `checks` on cfg; the first failure is logged and ends the process with USAGE_ERROR."""
    try:
        for check in checks:
            check(cfg)
    except PreflightError as err:
        log.error("%s", err)
        sys.exit(USAGE_ERROR)


def train(cfg: DictConfig) -> None:
    run(data_roots, *([checkpoint] if cfg.get("ckpt_path") else []), cfg=cfg)


def evaluate(cfg: DictConfig) -> None:
    # exporting masks or colorizing needs no checkpoint; a released-model sweep scores a missing one as n/a
    scores_checkpoint = cfg.mode == "inpainting" and not cfg.export_masks and "releases" not in cfg
    run(data_roots, *([checkpoint] if scores_checkpoint else []), cfg=cfg)


def predict(cfg: DictConfig) -> None:
    run(checkpoint, predict_inputs, cfg=cfg)
