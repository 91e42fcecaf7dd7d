"""Whether W&B can log online here; torch-free, for the entry points and report.py alike."""

from __future__ import annotations

import os
from pathlib import Path


def wandb_has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")
