"""conf/local/default.yaml, the git-ignored per-user / per-cluster settings: the example file, copied there,
lands its data root, SLURM partition / account / qos and W&B entity in train, evaluate and predict, whatever
the launcher and the logger; without the file everything composes as before.

Each test composes a copy of conf/, so the checkout's own conf/local is neither read nor written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from pytorch_lightning.loggers import CSVLogger

import suite  # noqa: F401  (registers the configs' resolvers, as the entry points do)
from suite.runtime import instantiate_list

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "conf" / "local" / "default.yaml.example"


@pytest.fixture(autouse=True)
def no_hydra_config_left_behind():
    yield
    HydraConfig.instance().cfg = None


@pytest.fixture
def conf(tmp_path) -> Path:
    """A copy of conf/ without a local settings file."""
    copy = tmp_path / "conf"
    shutil.copytree(REPO / "conf", copy)
    (copy / "local" / "default.yaml").unlink(missing_ok=True)
    return copy


@pytest.fixture
def local_conf(conf) -> Path:
    """A copy of conf/ with the example copied to conf/local/default.yaml, as the example says to."""
    shutil.copy(EXAMPLE, conf / "local" / "default.yaml")
    return conf


@pytest.fixture(scope="module")
def example() -> DictConfig:
    return OmegaConf.load(EXAMPLE)


def composed(conf: Path, entry: str, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose(entry, overrides=overrides, return_hydra_config=True)


def loggers(cfg: DictConfig, output_dir: Path) -> list:
    """The loggers a run builds from this config (suite/runtime.py), in its run directory."""
    with read_write(cfg), open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return instantiate_list(cfg.logger)


@pytest.mark.parametrize("entry", ["train", "evaluate"])
@pytest.mark.parametrize("logger", ["csv", "wandb", "many"])
def test_the_local_settings_land_with_every_logger_on_slurm(local_conf, example, entry, logger):
    cfg = composed(local_conf, entry, ["hydra/launcher=slurm", f"logger={logger}"])
    assert cfg.paths.data_dir == example.paths.data_dir
    assert cfg.paths.log_dir == example.paths.log_dir
    # what the submitit launcher receives, its interpolations resolved against the job config
    launcher = instantiate(cfg.hydra.launcher)
    assert [launcher.params[key] for key in ("partition", "account", "qos")] == [
        example.local.slurm[key] for key in ("partition", "account", "qos")
    ]
    if logger != "csv":
        assert cfg.logger.wandb.entity == example.local.wandb.entity
        assert cfg.logger.wandb.project == example.local.wandb.project
        assert cfg.logger.wandb._target_ == "pytorch_lightning.loggers.WandbLogger"


def test_with_another_logger_the_wandb_settings_build_nothing(local_conf, tmp_path):
    cfg = composed(local_conf, "train", ["logger=csv"])
    assert "wandb" not in cfg.logger
    assert [type(logger) for logger in loggers(cfg, tmp_path)] == [CSVLogger]


@pytest.mark.parametrize("launcher", ["basic", "local"])
def test_the_slurm_settings_do_not_reach_other_launchers(local_conf, example, launcher):
    """Their typed configs have no partition: setting it there would fail every run without SLURM."""
    cfg = composed(local_conf, "train", [f"hydra/launcher={launcher}"])
    assert "partition" not in cfg.hydra.launcher
    assert cfg.paths.data_dir == example.paths.data_dir


def test_predict_takes_the_data_root(local_conf, example):
    cfg = composed(local_conf, "predict", [])
    assert cfg.paths.data_dir == example.paths.data_dir


def test_the_command_line_and_an_experiment_win_over_the_local_settings(local_conf):
    overrides = ["paths.data_dir=/from/command/line", "hydra/launcher=slurm", "hydra.launcher.partition=cpu"]
    cfg = composed(local_conf, "train", overrides)
    assert (cfg.paths.data_dir, cfg.hydra.launcher.partition) == ("/from/command/line", "cpu")
    (local_conf / "experiment" / "probe.yaml").write_text(
        "# @package _global_\npaths:\n  data_dir: /from/experiment\n"
    )
    cfg = composed(local_conf, "train", ["experiment=probe"])
    assert cfg.paths.data_dir == "/from/experiment"


@pytest.mark.parametrize("entry", ["train", "evaluate", "predict"])
def test_without_the_file_the_defaults_stay(conf, monkeypatch, entry):
    monkeypatch.delenv("SUITE_DATA_DIR", raising=False)
    cfg = composed(conf, entry, ["hydra/launcher=slurm"])
    assert "local" not in cfg
    assert cfg.paths.data_dir == f"{cfg.paths.root_dir}/data"
    assert (cfg.hydra.launcher.partition, cfg.hydra.launcher.account, cfg.hydra.launcher.qos) == (None,) * 3
    if entry != "predict":
        assert list(cfg.logger) == ["csv"]
