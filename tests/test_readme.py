"""The README's commands are real: every `python train.py / evaluate.py / predict.py / import_release.py`
line in a fenced code block of README.md, docs/usage.md or docs/methods/*.md is composed with Hydra against
conf/ (each job of a multirun: its comma sweeps and its experiment's hydra.sweeper.params), so a key or an
option that does not exist fails here. No training: compositions only.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

import suite  # noqa: F401  (registers the configs' resolvers, as the entry points do)

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
README = REPO / "README.md"
USAGE = REPO / "docs" / "usage.md"
METHOD_PAGES = sorted((REPO / "docs" / "methods").glob("*.md"))
DOCS = [README, USAGE, *METHOD_PAGES]
MAX_README_LINES = 200
ENTRY_POINTS = ("train", "evaluate", "predict", "import_release")
COMMAND = re.compile(
    r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:\.venv/bin/)?python\s+(" + "|".join(ENTRY_POINTS) + r")\.py\b(.*)$"
)
PLACEHOLDER = re.compile(r"<[^<>]*>")
# what a `<...>` placeholder becomes, and the run directory of every composition: nothing is written there
PLACEHOLDER_PATH = "/placeholder"


def fenced_lines(text: str) -> list[str]:
    """The lines inside ``` fences."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line)
    return lines


def shell_lines(lines: list[str]) -> list[str]:
    """Backslash continuations joined, `# comments` stripped, `a && b` split into commands."""
    joined, current = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    if current:
        joined.append(current)
    commands = []
    for line in joined:
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def documented_commands(path: Path) -> list[tuple[str, str, list[str]]]:
    """(command line, entry point, arguments) of every suite command in the file's code blocks; `<...>`
    placeholders become a path."""
    found = []
    for line in shell_lines(fenced_lines(path.read_text())):
        match = COMMAND.match(line)
        if match:
            found.append(
                (line, match.group(1), shlex.split(PLACEHOLDER.sub(PLACEHOLDER_PATH, match.group(2))))
            )
    return found


def command_overrides(arguments: list[str]) -> tuple[bool, list[str]]:
    """(multirun, overrides); `...` (the run's other overrides) is dropped."""
    multirun, overrides = False, []
    for argument in arguments:
        if argument in ("-m", "--multirun"):
            multirun = True
        elif argument != "...":
            overrides.append(argument)
    return multirun, overrides


def sweep_axes(overrides: list[str]) -> dict[str, list[str]]:
    """Each key's overrides, one per value of a comma sweep (`seed=1,2`), as Hydra's basic sweeper reads
    them: a later override of the same key replaces an earlier one."""
    axes: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_sweep_override():
            axes[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            axes[key] = [f"{key}={override.get_value_element_as_str()}"]
    return axes


def covering_jobs(axes: dict[str, list[str]]) -> list[list[str]]:
    """Jobs of the sweep's grid in which every value of every axis occurs at least once: the longest
    axis's length of them, not the whole product (this test runs in the fast tier)."""
    count = max((len(values) for values in axes.values()), default=1)
    return [[values[i % len(values)] for values in axes.values()] for i in range(count)]


@functools.cache
def compose_job(entry: str, overrides: tuple[str, ...]) -> DictConfig:
    """The job's config as a run sees it: composed with Hydra's node, every interpolation resolved. Cached:
    the README and the method pages share commands."""
    cfg = compose(entry, overrides=list(overrides), return_hydra_config=True)
    with read_write(cfg), open_dict(cfg):
        cfg.hydra.runtime.output_dir = PLACEHOLDER_PATH
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    try:
        OmegaConf.to_container(cfg, resolve=True)  # the hydra node (launcher, sweep) included
    finally:
        HydraConfig.instance().cfg = None
    return cfg


def jobs(entry: str, arguments: list[str]) -> list[list[str]]:
    """Jobs of the command: each value of its own comma sweeps in at least one, with its experiment's
    hydra.sweeper.params applied as the sweeper does (their values cycled through those jobs; every job of
    every sweep is composed by test_configs.py)."""
    multirun, overrides = command_overrides(arguments)
    axes = sweep_axes(overrides)
    if not multirun:
        assert all(len(values) == 1 for values in axes.values()), f"a comma sweep without -m: {overrides}"
    result = []
    for index, job in enumerate(covering_jobs(axes)):
        params = (compose_job(entry, tuple(job)).hydra.sweeper.params or {}) if multirun else {}
        combined = sweep_axes([f"{key}={value}" for key, value in params.items()] + job)
        result.append([values[index % len(values)] for values in combined.values()])
    return result


def check_command(entry: str, arguments: list[str]) -> int:
    """Composes every job of the command; how many there are."""
    planned = jobs(entry, arguments)
    for job in planned:
        compose_job(entry, tuple(job))
    return len(planned)


@pytest.fixture(scope="module")
def hydra():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def test_readme_is_short_and_links_exist():
    text = README.read_text()
    assert len(text.splitlines()) <= MAX_README_LINES
    links = re.findall(r"\]\(((?:docs|sweeps|conf|benchmarks)/[^)#\s]*)", text)
    assert any(link.startswith("docs/methods/") for link in links)
    assert "docs/usage.md" in links
    for link in links:
        assert (REPO / link).exists(), f"README links to a missing {link}"
    for path in DOCS[1:]:
        for link in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if "://" not in link:
                assert (path.parent / link.split("#")[0]).exists(), f"{path.name} links to a missing {link}"


def test_every_method_has_a_page():
    linked = set(re.findall(r"\(docs/methods/(\w+)\.md\)", README.read_text()))
    assert {path.stem for path in METHOD_PAGES} <= linked
    for model in (CONF / "model").glob("*.yaml"):
        assert f"`{model.stem}`" in README.read_text(), (
            f"model={model.stem} is missing from the methods table"
        )


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(REPO)))
def test_documented_commands_compose(doc, hydra):
    commands = documented_commands(doc)
    if doc == README:
        assert {entry for _, entry, _ in commands} == set(ENTRY_POINTS)
    for line, entry, arguments in commands:
        try:
            check_command(entry, arguments)
        except Exception as err:
            raise AssertionError(f"{doc.name}: `{line}` does not compose: {err}") from err


def test_a_wrong_key_or_option_fails(hydra):
    """The check above catches a misspelt key, a key under the wrong node and a missing option, in a sweep's
    jobs too."""
    assert check_command("train", ["model=gatedconv", "data=folder", "data.source.root=x"]) == 1
    assert check_command("train", ["-m", "experiment=demo", "seed=1,2,3"]) == 3
    assert jobs("train", ["-m", "experiment=demo", "seed=1,2"])[1] == [
        "model.bottleneck=mono",
        "experiment=demo",
        "seed=2",
    ]
    for arguments in (
        ["data=folder", "data.source.rot=x"],
        ["data=dtd", "data.fold=2"],
        ["model=gatedcov"],
        ["-m", "experiment=demo", "seed=1,2", "model.bottlenek=rgb"],
        ["-m", "hydra/launcher=slurm", "hydra.launcher.partiton=gpu"],
    ):
        with pytest.raises(Exception):  # noqa: B017, PT011  (Hydra's composition errors vary by cause)
            check_command("train", arguments)
