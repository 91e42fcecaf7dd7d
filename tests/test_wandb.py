"""W&B through Lightning's WandbLogger: offline runs in the run directory, one run per multirun job,
one group per sweep."""

from suite_cli import TINY, run
from wandb_records import history_keys, read_records, run_record


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
        assert f"seed={int(job) + 1}" in info.display_name
        assert info.run_group == f"train/{sweep.name}"  # one group per sweep
        run_ids.add(info.run_id)
    assert len(run_ids) == 2
