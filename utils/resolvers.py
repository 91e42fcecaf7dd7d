"""The OmegaConf resolvers the configs use, registered by `register_resolvers()`, which every entry point
(train.py, evaluate.py, predict.py, tests that compose configs) calls before Hydra reads a config."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import secrets
import textwrap
from importlib.resources import files
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[1]


def process_rank() -> int:
    """The global rank of this process as its launcher announces it (torchrun, SLURM, Lightning's children)."""
    for variable in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(variable, "").isdigit():
            return int(os.environ[variable])
    return 0


def sweep_group(task: str) -> str:
    """W&B's group: one per sweep (<task>/<sweep folder>); a single run is in its task's group."""
    if not HydraConfig.initialized():
        return task
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return f"{task}/{Path(hydra_cfg.sweep.dir).name}"
    return task


def sweep_overrides(multirun: DictConfig) -> list[Override]:
    """A multirun's arguments (its multirun.yaml) as Hydra's basic sweeper reads them: the sweep config's
    `hydra.sweeper.params` (sweeps/experiment/), then the command line's overrides."""
    params = OmegaConf.select(multirun, "hydra.sweeper.params") or {}
    task = OmegaConf.select(multirun, "hydra.overrides.task") or []
    return OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()] + list(task))


def sweep_jobs(multirun: DictConfig) -> list[list[str]]:
    """Every job's overrides in the basic sweeper's order: the product of each key's values, a key's last
    override taking the place of its first."""
    values: dict[str, list[str]] = {}
    for override in sweep_overrides(multirun):
        key = override.get_key_element()
        if override.is_sweep_override():
            values[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            values[key] = [f"{key}={override.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*values.values())]


# config groups that say how a run is carried out, not what it computes: left out of a single run's name
RUN_SETUP_GROUPS = ("callbacks", "hydra", "local", "logger", "paths", "trainer")


def run_name(task: str) -> str:
    """W&B's run name. A sweep's job: its values of the keys the sweep varies (`model.bottleneck=mono,seed=1`),
    not the overrides every job shares; a single run: the config groups its command line chose
    (`experiment=demo`), set-up groups (trainer, logger, …) aside, else the task."""
    if not HydraConfig.initialized():
        return task
    hydra_cfg = HydraConfig.get()
    job = OverridesParser.create().parse_overrides(list(hydra_cfg.overrides.task))
    if hydra_cfg.mode == RunMode.MULTIRUN:
        # the sweep's own arguments are not in a job's config: Hydra saved them before starting any job
        multirun_file = Path(hydra_cfg.sweep.dir) / "multirun.yaml"
        if multirun_file.is_file():
            swept = {
                override.get_key_element()
                for override in sweep_overrides(OmegaConf.load(multirun_file))
                if override.is_sweep_override()
            }
            job = [override for override in job if override.get_key_element() in swept]
    else:
        job = [
            override
            for override in job
            if override.key_or_group in hydra_cfg.runtime.choices
            and override.key_or_group.split("/")[0] not in RUN_SETUP_GROUPS
        ]
    return ",".join(override.input_line for override in job) or task


def sweep_summary(text: str) -> str:
    """A sweep file's one-line description: the first sentence of its header comment, which ends where the
    usage lines (`#   python train.py -m ...`) start, shortened to 100 characters."""
    comment = []
    for line in text.splitlines():
        if not line.startswith("#") or line.startswith("#   "):
            break
        if not line.startswith("# @package"):
            comment.append(line[1:].strip())
    sentence = re.split(r"(?<=[^.])\. ", " ".join(comment), maxsplit=1)[0]
    return textwrap.shorten(sentence, 100, placeholder=" …")


def paper_sweeps(searchpath: list[str]) -> str:
    """`--help`'s section on the paper sweeps, the `experiment/*.yaml` of the searchpath's packages (or
    folders): one line each, name and summary; empty without a searchpath."""
    lines = []
    for entry in searchpath:
        scheme, _, location = str(entry).partition("://")
        root = files(location) if scheme == "pkg" else Path(location)
        for sweep in sorted(root.joinpath("experiment").iterdir(), key=lambda path: path.name):
            if sweep.name.endswith(".yaml"):
                lines.append(f"{sweep.name.removesuffix('.yaml'):<30} {sweep_summary(sweep.read_text())}")
    if not lines:
        return ""
    header = (
        "== Paper sweeps ==\nReproduce a paper's table: -m experiment=<sweep>, then "
        "python report.py <its multirun folder>\n\n"
    )
    # the help template is a string.Template: a `$` of a description would read as a placeholder
    return (header + "\n".join(lines) + "\n\n").replace("$", "$$")


def gpus_per_node(accelerator: str, devices: int) -> int:
    """SLURM GPUs per node from the trainer: its devices on GPU trainers, none on CPU ones."""
    return devices if accelerator in ("gpu", "cuda") else 0


def run_dir_id(run_dir: str | None) -> str | None:
    """W&B run id from the run directory: a requeued job (same directory) continues the same W&B run, and
    every DDP rank agrees on it without talking to the others. None before there is a run directory
    (`--cfg job --resolve` prints the config without starting a run)."""
    if run_dir is None:
        return None
    return hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]


def if_rank_zero(value: str, otherwise: str | None = None) -> str | None:
    """`value` on rank zero, `otherwise` on the others: rank zero alone writes the run directory's Hydra files
    and log (conf/hydra/default.yaml), as SLURM starts every DDP rank as the same Hydra job."""
    return value if process_rank() == 0 else otherwise


def register_resolvers() -> None:
    """Register the configs' resolvers (idempotent) and point SUITE_ROOT (conf/paths) at the repository."""
    os.environ.setdefault("SUITE_ROOT", str(REPO_ROOT))
    # `${run_uid:}` makes run directories unique when many jobs start in the same second (timestamps alone
    # collide); cached so that every reference inside one process sees the same value.
    OmegaConf.register_new_resolver("run_uid", lambda: secrets.token_hex(3), use_cache=True, replace=True)
    for resolver in (gpus_per_node, run_dir_id, sweep_group, run_name, paper_sweeps, if_rank_zero):
        OmegaConf.register_new_resolver(resolver.__name__, resolver, replace=True)
