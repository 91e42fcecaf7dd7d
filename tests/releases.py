"""Release conversion in the test's process: the real import_release config composed and run, for tests
that check errors and tensors without paying a subprocess per conversion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir

import suite  # noqa: F401  (registers the configs' resolvers, as the entry points do)
from suite.import_release import import_release

CONF = Path(__file__).resolve().parents[1] / "conf"


def convert_release(method: str, dataset: str, folder: Path, out: Path, *overrides: str) -> dict[str, Any]:
    """`python import_release.py release=<method> release.dataset=<dataset> release.dir=<folder> out=<out>`."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "import_release",
            overrides=[
                f"release={method}",
                f"release.dataset={dataset}",
                f"release.dir={folder}",
                f"out={out}",
                *overrides,
            ],
        )
    return import_release(cfg)
