"""Convert an author's released weights into a suite checkpoint (conf/import_release.yaml)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from lightning_modules.released_weights import (
    ReleaseConversion,
    ReleaseError,
    file_digest,
    write_release_checkpoint,
)
from utils.atomic import write_text

log = logging.getLogger(__name__)


def release_directory(cfg: DictConfig) -> tuple[str, Path, DictConfig]:
    """(name, folder, the dataset's entry) of the release the config names, checked."""
    release = cfg.release
    datasets = release.datasets
    if OmegaConf.is_missing(release, "dataset") or release.dataset not in datasets:
        given = "none" if OmegaConf.is_missing(release, "dataset") else repr(release.dataset)
        raise ReleaseError(
            f"release.dataset: {release.method} has releases for {', '.join(datasets)}; got {given}"
        )
    entry = datasets[release.dataset]
    if OmegaConf.is_missing(release, "dir"):
        raise ReleaseError(f"release.dir=<folder>: where you put the files downloaded from {entry.url}")
    directory = Path(release.dir).expanduser()
    if not directory.is_dir():
        raise ReleaseError(
            f"release.dir={directory} is not a folder. Download {release.method}'s {release.dataset} "
            f"release from {entry.url} and pass the folder that holds its files"
        )
    return f"{release.method}_{release.dataset}", directory, entry


@torch.no_grad()
def check_runs(module: torch.nn.Module, size: int) -> None:
    """The converted network inpaints a fixed image to finite values (NaN weights fail here, not later)."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, size, size, generator=generator)
    mask = torch.zeros(1, 1, size, size)
    mask[..., size // 4 : size // 2, size // 4 : size // 2] = 1
    output = module.eval().predict_output(image, mask)
    if not torch.isfinite(output).all():
        raise ReleaseError("the converted network gives non-finite outputs: are the release files intact?")


def import_release(cfg: DictConfig) -> dict[str, Any]:
    name, directory, entry = release_directory(cfg)
    release = cfg.release
    module = instantiate(cfg.model)
    conversion = ReleaseConversion(module, name)
    notes = instantiate(release.convert)(conversion, directory, url=entry.url) or {}
    state = conversion.finish()
    missing, unexpected = module.load_state_dict(state, strict=False)
    assert not unexpected and all(key.startswith(tuple(conversion.fresh)) for key in missing)
    check_runs(module, int(release.get("check_size", 64)))

    report = conversion.report()
    files = {file: file_digest(directory / file) for file in conversion.files if (directory / file).is_file()}
    meta = {
        "name": name,
        "method": release.method,
        "dataset": release.dataset,
        "url": entry.url,
        "directory": str(directory.resolve()),
        "sha256": files,
        "notes": notes,
        "fresh": report["fresh"],
    }
    out = Path(cfg.out)
    write_release_checkpoint(module, state, out, meta)
    write_text(out.with_suffix(".json"), json.dumps({**meta, **report}, indent=2))

    sources = Counter(p["sources"][0].split(":", 1)[0] for p in report["placed"])
    for file, count in sources.items():
        log.info("%s: %d tensors placed", file, count)
    for reason, count in Counter(report["skipped"].values()).items():
        log.info("skipped %d tensor(s): %s", count, reason)
    for prefix, reason in report["fresh"].items():
        log.info("%s starts fresh: %s", prefix.rstrip("."), reason)
    log.info(
        "Wrote %s (%d tensors; where each came from: %s). Use it as ckpt_path=%s or model.init_from=%s",
        out,
        len(state),
        out.with_suffix(".json"),
        out,
        out,
    )
    return meta
