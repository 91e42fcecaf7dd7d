"""W&B through Lightning's WandbLogger: offline runs in the run directory, one run per multirun job,
one group per sweep, named by the keys the sweep varies; report.py's table in the same group."""

import json
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict, read_write

from evaluation.results import write_results
from suite_cli import REPO, TINY, run
from utils.resolvers import register_resolvers
from wandb_records import history_keys, read_records, run_record

LOGGERS = ("csv", "wandb", "many", "none")


@pytest.fixture
def hydra_config():
    """compose(entry, overrides, **hydra settings): the job config with Hydra's node set as a run sees it
    (`--cfg job` included), the `hydra` node removed; Hydra's global config cleared afterwards."""
    register_resolvers()

    def composed(entry, overrides, **settings):
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
            cfg = compose(entry, overrides=overrides, return_hydra_config=True)
        with read_write(cfg), open_dict(cfg):
            for key, value in settings.items():
                OmegaConf.update(cfg.hydra, key, value)
        HydraConfig.instance().set_config(cfg)
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        return cfg

    yield composed
    HydraConfig.instance().cfg = None


def test_offline_multirun_jobs_are_separate_wandb_runs_with_metrics_and_images(tmp_path):
    sweep = tmp_path / "sweep"
    run(
        "train.py",
        "-m",
        *TINY,
        "seed=1,2",
        "logger=wandb",
        f"hydra.sweep.dir={sweep}",
        env={"WANDB_MODE": "offline"},
    )
    run_ids = set()
    for job in ("0", "1"):
        runs = list((sweep / job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, runs  # each job is its own W&B run, stored in its own run directory
        records = read_records(next(runs[0].glob("run-*.wandb")))
        keys = history_keys(records)
        assert {"train/g_loss", "val/psnr", "val/ssim", "test/psnr"} <= keys
        assert "val/examples/filenames" in keys  # the image panel
        assert "test/results/synthetic/_type" in keys  # the per-bucket metrics table
        assert list((runs[0] / "files" / "media" / "images" / "val").glob("examples_*.png"))
        info = run_record(records)
        assert set(info.tags) == {"gatedconv", "synthetic", "deepfill_v2"}
        assert info.display_name == f"seed={int(job) + 1}"  # the swept key alone, not TINY's fixed ones
        assert info.run_group == f"train/{sweep.name}"  # one group per sweep
        run_ids.add(info.run_id)
    assert len(run_ids) == 2


def test_a_sweep_job_is_named_by_the_keys_its_sweep_varies(tmp_path, hydra_config):
    """Keys swept by a sweep config's params (sweeps/experiment/) and by the command line name the job;
    the keys every job shares (a params entry with one value, trainer=…) do not."""
    multirun = {
        "hydra": {
            "sweeper": {"params": {"model.bottleneck": "rgb,mono", "data": "synthetic"}},
            "overrides": {"task": ["trainer=cpu", "logger=wandb", "seed=1,2"]},
        }
    }
    OmegaConf.save(OmegaConf.create(multirun), tmp_path / "multirun.yaml")
    job = ["model.bottleneck=mono", "data=synthetic", "trainer=cpu", "logger=wandb", "seed=2"]
    cfg = hydra_config("train", job, mode="MULTIRUN", **{"sweep.dir": str(tmp_path)})
    assert cfg.logger.wandb.name == "model.bottleneck=mono,seed=2"
    assert cfg.logger.wandb.group == f"train/{tmp_path.name}"


@pytest.mark.parametrize("entry", ["train", "evaluate"])
@pytest.mark.parametrize("logger", LOGGERS)
def test_cfg_job_resolve_works_with_every_logger(entry, logger, hydra_config):
    """`--cfg job --resolve` resolves the config before there is a run directory: the W&B id is left to
    W&B then, and a single run is named by the groups its command line chose, set-up groups aside."""
    cfg = hydra_config(entry, [f"logger={logger}", "trainer=cpu", "data=synthetic"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    wandb = (resolved["logger"] or {}).get("wandb")
    if logger in ("wandb", "many"):
        assert wandb["name"] == "data=synthetic" and wandb["id"] is None and wandb["group"] == entry


def test_cfg_job_resolve_on_the_command_line():
    result = subprocess.run(
        [sys.executable, "train.py", "--cfg", "job", "--resolve", "logger=many", "experiment=demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert OmegaConf.create(result.stdout).logger.wandb.name == "experiment=demo"


def test_report_logs_the_sweep_table_to_the_sweep_s_group(tmp_path):
    """report.py --wandb: the table it prints, as a W&B table in the group of the sweep's training runs,
    offline into the sweep folder; seeds of one model in one row, with their std and count."""
    sweep = tmp_path / "sweep"
    multirun = {"hydra": {"sweeper": {"params": {"seed": "1,2"}}, "overrides": {"task": ["model=gatedconv"]}}}
    sweep.mkdir()
    OmegaConf.save(OmegaConf.create(multirun), sweep / "multirun.yaml")
    for job, seed in enumerate((1, 2)):
        hydra_dir = sweep / str(job) / ".hydra"
        hydra_dir.mkdir(parents=True)
        OmegaConf.save(OmegaConf.create([f"seed={seed}", "model=gatedconv"]), hydra_dir / "overrides.yaml")
        config = {
            "task_name": "train",
            "seed": seed,
            "logger": {"wandb": {"project": "probe", "entity": None}},
        }
        OmegaConf.save(OmegaConf.create(config), hydra_dir / "config.yaml")
        row = {"psnr": 20.0 + job, "count": 2}
        results = {"overall": row, "buckets": {"10-20%": row}, "unavailable": {}}
        write_results(
            sweep / str(job),
            results,
            method="gatedconv",
            dataset="synthetic",
            mask="m",
            checkpoint=None,
            split="test",
        )
    run(
        "report.py",
        str(sweep),
        "--rows",
        "method",
        "--cols",
        "dataset",
        "--wandb",
        env={"WANDB_MODE": "offline"},
    )

    (offline,) = (sweep / "wandb").glob("offline-run-*")
    info = run_record(read_records(next(offline.glob("run-*.wandb"))))
    assert (info.project, info.run_group, info.job_type) == ("probe", f"train/{sweep.name}", "report")
    (table_file,) = (offline / "files" / "media" / "table").glob("report_*.table.json")
    table = json.loads(table_file.read_text())
    assert table["columns"] == ["method", "synthetic/psnr", "synthetic/psnr_std", "synthetic/psnr_n"]
    assert table["data"] == [["gatedconv", 20.5, pytest.approx(0.5**0.5), 2]]
