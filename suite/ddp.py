"""Lightning's DDP on one machine, started from a Hydra run or a job of a Hydra sweep.

Lightning starts ranks 1..N-1 by re-running the script with its original arguments plus
`hydra.run.dir=<hydra.run.dir>`. For a job of a multirun those arguments are the whole sweep (`-m` and
every value list) and `hydra.run.dir` is not the job's folder, so the children would run other jobs
elsewhere. Here the arguments become this job's own overrides and its output folder (the children write
nothing there: conf/hydra/default.yaml). SLURM and torchrun start their ranks themselves and are unaffected.
"""

from __future__ import annotations

import sys

from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write


def children_rerun_this_job() -> None:
    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    sys.argv = [sys.argv[0], *hydra_cfg.overrides.task]
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        hydra_cfg.run.dir = hydra_cfg.runtime.output_dir
