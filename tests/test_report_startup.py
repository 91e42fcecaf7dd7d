"""report.py starts without torch (and without matplotlib, scipy, wandb, which it imports when needed):
a report of a sweep is a second's work, not the ten of loading the training stack."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_report_tool_imports_no_torch():
    probe = (
        "import sys, report, evaluation.report; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'scipy', 'wandb') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
