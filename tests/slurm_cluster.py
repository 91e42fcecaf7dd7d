"""A real one-node SLURM cluster on this machine (Debian's slurmctld, slurmd, munge), on loopback.

    python tests/slurm_cluster.py start /tmp/slurm     # prints `export SLURM_CONF=...`
    python tests/slurm_cluster.py stop /tmp/slurm

The tests start one per session (conftest.py `slurm` fixture) and submit to it with the suite's own
`hydra/launcher=slurm`. Needs root (slurmd runs jobs as the submitting user) and the packages:
    apt-get install slurmctld slurmd slurm-client munge
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = "slurmctld slurmd slurm-client munge"
BINARIES = ("slurmctld", "slurmd", "munged", "sbatch", "scontrol")
PARTITION = "debug"
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_SOCKET_DIR = Path("/run/munge")
CONTROLLER_PORT = 6817  # SlurmctldPort's default


def missing_requirements() -> str | None:
    """Why a cluster cannot start here, or None."""
    absent = [
        name for name in BINARIES if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()
    ]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install {PACKAGES})"
    if os.geteuid() != 0:
        return "slurmd and munged need root"
    return None


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        total_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return total_kb // 1024 * 9 // 10  # leave headroom: slurmd drains a node that reports less than this


def write_config(root: Path) -> Path:
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=suite",
                f"SlurmctldHost={host}(127.0.0.1)",
                "SlurmUser=root",
                "AuthType=auth/munge",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_CPU_Memory",
                "AccountingStorageType=accounting_storage/none",
                "JobAcctGatherType=jobacct_gather/none",
                "MpiDefault=none",
                "ReturnToService=2",
                "JobRequeue=1",
                "SchedulerParameters=sched_interval=1",
                "SlurmctldTimeout=30",
                "SlurmdTimeout=30",
                "MinJobAge=600",  # finished jobs stay visible to sacct-less queries (submitit polls squeue)
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
                f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={_memory_mb()} State=UNKNOWN",
                f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    return conf


def _start_munge() -> None:
    if subprocess.run(["munge", "-n"], capture_output=True).returncode == 0:
        return  # already running
    if not MUNGE_KEY.is_file():
        MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
        MUNGE_KEY.write_bytes(os.urandom(1024))
        shutil.chown(MUNGE_KEY, "munge", "munge")
        MUNGE_KEY.chmod(0o400)
    MUNGE_SOCKET_DIR.mkdir(parents=True, exist_ok=True)
    shutil.chown(MUNGE_SOCKET_DIR, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)


def start(root: Path, timeout: float = 60.0) -> dict[str, str]:
    """Start munged, slurmctld and slurmd; returns the environment that points SLURM's tools at them."""
    reason = missing_requirements()
    if reason:
        raise RuntimeError(f"cannot start a SLURM cluster: {reason}")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", CONTROLLER_PORT)) == 0:
            # a second controller would fail to bind while the tools talk to the first one's jobs
            raise RuntimeError(
                f"a SLURM controller already listens on port {CONTROLLER_PORT}: stop it first (another "
                "pytest worker's cluster? tests/test_slurm.py must run on one worker: --dist loadgroup)"
            )
    root = root.resolve()
    conf = write_config(root)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    host = socket.gethostname().split(".")[0]
    _start_munge()
    subprocess.run(["/usr/sbin/slurmctld", "-f", str(conf)], env=env, check=True)
    subprocess.run(["/usr/sbin/slurmd", "-f", str(conf)], env=env, check=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True
        ).stdout.strip()
        if state == "idle":
            return {"SLURM_CONF": str(conf)}
        if state.startswith(("drain", "down")):  # a stale job of an earlier cluster on this machine
            subprocess.run(["scontrol", "update", f"NodeName={host}", "State=RESUME"], env=env)
        time.sleep(0.5)
    log = (root / "log" / "slurmctld.log").read_text(errors="ignore")[-2000:]
    stop(root)
    raise RuntimeError(f"the SLURM node did not come up within {timeout:.0f} s (state {state!r}):\n{log}")


def stop(root: Path) -> None:
    """Cancel every job, then stop slurmd and slurmctld (munged is left for other users)."""
    root = root.resolve()
    env = {**os.environ, "SLURM_CONF": str(root / "slurm.conf")}
    subprocess.run(["scancel", "--full", "--user", "root"], env=env, capture_output=True)
    with contextlib.suppress(TimeoutError):
        wait_for_jobs_to_leave({"SLURM_CONF": env["SLURM_CONF"]}, timeout=30)
    for name in ("slurmd", "slurmctld"):
        pid_file = root / f"{name}.pid"
        if pid_file.is_file():
            _terminate(int(pid_file.read_text()))
    subprocess.run(["pkill", "-KILL", "slurmstepd"], capture_output=True)  # steps of killed jobs


def _terminate(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if the daemon has not exited (the next cluster reuses its ports)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)


def wait_for_jobs_to_leave(env: dict[str, str], timeout: float) -> None:
    """Block until the queue is empty (every job finished, failed or was cancelled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = subprocess.run(
            ["squeue", "-h"], env={**os.environ, **env}, capture_output=True, text=True
        ).stdout
        if not queue.strip():
            return
        time.sleep(1)
    raise TimeoutError(f"jobs still queued after {timeout:.0f} s:\n{queue}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit(__doc__)
    directory = Path(sys.argv[2])
    if sys.argv[1] == "start":
        print(f"export SLURM_CONF={start(directory)['SLURM_CONF']}")
    else:
        stop(directory)
